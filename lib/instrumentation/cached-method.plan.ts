/** The compiled form of a method's cache decorators, which the bindings run. Internal. */

/** Builds a key from the call's arguments and (after the method ran) its result. */
export type KeyBuilder = (args: readonly unknown[], result: unknown) => string;
/** Builds tags from the call's arguments and (after the method ran) its result. */
export type TagsBuilder = (args: readonly unknown[], result: unknown) => readonly string[];

/** What a decorated method returns; `'unknown'` until the first call tells. Internal. */
export type ReturnKind = 'promise' | 'observable' | 'unknown';

/** What the bound `CacheService` can do beyond get/set/del. Internal. */
export interface CacheCapabilities {
  /** `invalidateTags()` exists: `tags` and namespaced `allEntries` can work. */
  readonly tags: boolean;
  /** `clear()` exists: `allEntries` without a namespace can work. */
  readonly clear: boolean;
}

/** A `condition` option: called with the method's arguments. */
export type Predicate = (...args: unknown[]) => boolean;
/** An `unless` option: called with the method's result, then its arguments. */
export type ResultPredicate = (result: unknown, ...args: unknown[]) => boolean;

/** A validated `@Cacheable` or `@CachePut`. Internal. */
export interface CompiledStore {
  readonly decorator: 'Cacheable' | 'CachePut';
  /** The `cache` option: a named cache, or `undefined` for the default one. */
  readonly cacheName: string | undefined;
  readonly key: KeyBuilder;
  /** Milliseconds; undefined means the module's `ttl`. */
  readonly ttlMs: number | undefined;
  /** Tags known at start-up, including the decorator namespace's own tag. */
  readonly staticTags: readonly string[] | undefined;
  /** Tags that depend on the call. */
  readonly tags: TagsBuilder | undefined;
  readonly condition: Predicate | undefined;
  readonly unless: ResultPredicate | undefined;
  /** `@Cacheable` only: stale-serving windows, in milliseconds, passed to `getOrSet`. */
  readonly staleWhileRevalidate?: number;
  readonly grace?: number;
  readonly timeout?: number;
  /** `@Cacheable` only: distributed single-flight, passed to `getOrSet`. */
  readonly lock?: true | { readonly waitMs: number };
}

/** A validated `@CacheEvict`. Internal. */
export interface CompiledEvict {
  readonly decorator: 'CacheEvict';
  /** The `cache` option: a named cache, or `undefined` for the default one. */
  readonly cacheName: string | undefined;
  readonly key: KeyBuilder | undefined;
  readonly tags: TagsBuilder | undefined;
  /** `'clear'`: the whole cache namespace; a string: the tag of a decorator namespace. */
  readonly allEntries: 'clear' | { readonly tag: string } | undefined;
  readonly beforeInvocation: boolean;
  readonly condition: Predicate | undefined;
}

/** Everything a binding needs to run one decorated method, checked once at start-up. Internal. */
export interface MethodPlan {
  readonly className: string;
  readonly methodName: string;
  readonly original: (...args: unknown[]) => unknown;
  /** Mutable: an `'unknown'` kind is learned from the first call's return value. */
  kind: ReturnKind;
  readonly cacheable: CompiledStore | undefined;
  readonly puts: readonly CompiledStore[];
  readonly evictsBefore: readonly CompiledEvict[];
  readonly evictsAfter: readonly CompiledEvict[];
}
