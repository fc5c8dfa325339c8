import type {
  CacheableOptions,
  CacheEvictOptions,
  CachePutOptions,
} from './cache-decorator-options.interface.js';

/**
 * Reflect metadata key, on the trampoline function, of its {@link CachedMethodHandle}.
 * Read only through `CacheMetadataAccessor`. Internal.
 */
export const CACHED_METHOD_METADATA = 'distributed-cache:cached-method';

/** One decorator applied to a method, with its options exactly as written. Internal. */
export type CacheOperation =
  | { readonly decorator: 'Cacheable'; readonly options: CacheableOptions }
  | { readonly decorator: 'CachePut'; readonly options: CachePutOptions }
  | { readonly decorator: 'CacheEvict'; readonly options: CacheEvictOptions };

/** Which decorator an operation came from, for messages. */
export type CacheDecoratorName = CacheOperation['decorator'];

/**
 * Whoever bound a method (one `CacheExplorer`, i.e. one running application). Bindings of an
 * owner that shut down are ignored, so a method called after `app.close()` runs uncached instead
 * of reaching a closed cache. Internal.
 */
export interface CacheBindingOwner {
  readonly active: boolean;
}

/** A decorated method bound to one instance and one `CacheService`. Internal. */
export interface CachedMethodBinding {
  readonly owner: CacheBindingOwner;
  /** Runs the method on the bound instance with the decorators' behaviour. */
  run(args: unknown[]): unknown;
}

/**
 * Binds instances the explorer could not see at start-up (request-scoped or transient providers
 * created per request), the first time one of their decorated methods is called. Internal.
 */
export interface CachedMethodLateBinder {
  readonly owner: CacheBindingOwner;
  bind(instance: object): CachedMethodBinding;
}

/**
 * Everything known about one decorated method: created by the first cache decorator applied to
 * it, shared by the trampoline (which looks bindings up here) and the explorer (which fills
 * them in). Internal.
 */
export interface CachedMethodHandle {
  /** The method as written, before any cache decorator. */
  readonly original: (...args: unknown[]) => unknown;
  /** The function installed on the prototype in its place. */
  readonly trampoline: (...args: unknown[]) => unknown;
  /** The prototype that declares the method (where its `design:*` metadata lives). */
  readonly prototype: object;
  /** Name of the declaring class. */
  readonly className: string;
  readonly methodName: string;
  /** In the order the decorators were applied (bottom-most first). */
  readonly operations: CacheOperation[];
  /** Per-instance bindings; weak, so a binding never keeps a per-request instance alive. */
  readonly bindings: WeakMap<object, CachedMethodBinding>;
  /** Per-class binders of request-scoped and transient classes, keyed by constructor. */
  readonly lateBinders: Map<object, CachedMethodLateBinder>;
  /** Whether the "called on an unbound instance" debug line was logged. */
  unboundReported: boolean;
}
