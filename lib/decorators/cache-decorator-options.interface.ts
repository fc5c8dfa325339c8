import type { Duration } from '../options/duration.js';

/* eslint-disable @typescript-eslint/no-explicit-any --
 * `any[]` is the default argument tuple on purpose: it lets `(id: string) => ...` be written for
 * any method without naming the tuple. Name it (`@Cacheable<[string], Product>`) for full types. */

/**
 * A cache key: a template or a function of the method's arguments.
 *
 * A template is literal text with placeholders: `{0}` is the first argument, `{1}` the second,
 * `{0.id}` a property path into one. Strings are used as they are; numbers, booleans and bigints
 * as `String(value)`; a Date as its ISO string; `null`/`undefined` as `'null'`/`'undefined'`;
 * objects and arrays as a stable hash of their content (independent of key order). A template
 * naming an argument the method does not declare fails at start-up.
 *
 * @example 'product:{0}'
 * @example 'user:{0.id}:orders:{1}'
 * @example (id: string, page: number) => `orders:${id}:${page}`
 */
export type CacheKeyOption<A extends any[] = any[]> = string | ((...args: A) => string);

/**
 * A key that may also use the method's result, where there is one (after the method ran):
 * templates may name `{result}` or `{result.id}`, and a function gets the result after the
 * method's declared parameters, e.g. `(id, dto, result) => ...` for `update(id, dto)`.
 * For an Observable method the result is its last emission.
 *
 * @example 'product:{result.id}'
 */
export type CacheResultKeyOption<A extends any[] = any[], R = any> =
  string | ((...argsAndResult: [...A, R]) => string);

/**
 * Tags of an entry or of an eviction: an array, or a function of the arguments and (after the
 * method ran) the result, passed after the method's declared parameters.
 * @example ['products']
 * @example (id: string) => [`product:${id}`]
 */
export type CacheTagsOption<A extends any[] = any[], R = any> =
  readonly string[] | ((...argsAndResult: [...A, R]) => readonly string[]);

/** Options shared by the three decorators. */
interface CacheDecoratorBaseOptions<A extends any[]> {
  /**
   * The cache to use: the `name` of a `DistributedCacheModule.forRoot({ name })` registration
   * that the class's module can inject (as `@InjectCache(name)` would). A name no registration
   * has fails start-up, naming the class, the method and the cache.
   * @default the default (unnamed) cache, `CacheService`
   * @example 'sessions'
   */
  cache?: string;
  /**
   * A key prefix segment inside the cache's namespace: the entry is stored under
   * `${namespace}:${key}` (and in Redis under `${moduleNamespace}:${namespace}:${key}`).
   * `@CacheEvict({ allEntries: true, namespace })` evicts what the decorators stored under it.
   * @example 'catalogue'
   */
  namespace?: string;
  /**
   * Called with the method's arguments before anything else: `false` makes this call skip this
   * decorator (the method runs as if undecorated, and nothing is read, stored or evicted).
   * @default always true
   */
  condition?: (...args: A) => boolean;
}

/**
 * Options of {@link Cacheable}. Every option is optional: `@Cacheable()` caches under
 * `ClassName.methodName:<hash of the arguments>` for the module's `ttl`.
 */
export interface CacheableOptions<
  A extends any[] = any[],
  R = any,
> extends CacheDecoratorBaseOptions<A> {
  /** Where the result is stored. @default `ClassName.methodName:` plus a stable hash of the arguments */
  key?: CacheKeyOption<A>;
  /** Lifetime of the stored result: milliseconds, or `'30s'`, `'5m'`... @default the module's `ttl` */
  ttl?: Duration;
  /** Tags of the stored entry, for `CacheService.invalidateTags` / `@CacheEvict({ tags })`. */
  tags?: CacheTagsOption<A, R>;
  /**
   * Called with the result (for an Observable, its last emission) and then the arguments:
   * `true` returns the result without storing it.
   * @example (result) => result == null
   */
  unless?: (result: R, ...args: A) => boolean;
  /** After the TTL, serve the expired result at once and refresh it in the background for this long. See `GetOrSetOptions`. */
  staleWhileRevalidate?: Duration;
  /** After the TTL, serve the last result for this long when the method throws or exceeds `timeout`. See `GetOrSetOptions`. */
  grace?: Duration;
  /** When the method takes longer and an expired result is held, return it and let the method finish. See `GetOrSetOptions`. */
  timeout?: Duration;
  /**
   * Run the method once across all the instances sharing the L2 on a miss, not once per instance:
   * `true`, or `{ waitMs }`. See `GetOrSetOptions.lock`. @default false
   */
  lock?: boolean | { waitMs?: Duration };
}

/** Options of {@link CachePut}. The method always runs; its result is stored under `key`. */
export interface CachePutOptions<
  A extends any[] = any[],
  R = any,
> extends CacheDecoratorBaseOptions<A> {
  /** Where the result is stored; may use `{result...}`. @default `ClassName.methodName:` plus a stable hash of the arguments */
  key?: CacheResultKeyOption<A, R>;
  /** Lifetime of the stored result: milliseconds, or `'30s'`, `'5m'`... @default the module's `ttl` */
  ttl?: Duration;
  /** Tags of the stored entry. */
  tags?: CacheTagsOption<A, R>;
  /** Called with the result and then the arguments: `true` skips storing it. */
  unless?: (result: R, ...args: A) => boolean;
}

/**
 * Options of {@link CacheEvict}: give `key`, `tags` or `allEntries` (`key` and `tags` may be
 * combined).
 */
export interface CacheEvictOptions<
  A extends any[] = any[],
  R = any,
> extends CacheDecoratorBaseOptions<A> {
  /**
   * The entry to delete. Without `beforeInvocation` it may use the result (`{result.id}`, or a
   * function's argument after the method's declared parameters).
   */
  key?: CacheResultKeyOption<A, R>;
  /** Every entry stored with one of these tags reads as a miss afterwards, on every instance. */
  tags?: CacheTagsOption<A, R>;
  /**
   * Evict every entry: with `namespace`, every entry the decorators stored under it; without,
   * the whole cache namespace (`CacheService.clear()`). Cannot be combined with `key`.
   * @default false
   */
  allEntries?: boolean;
  /**
   * Evict before the method runs, so the eviction happens even when the method throws. The
   * result is then not available to `key` or `tags`.
   * @default false (evict after the method succeeded; a method that throws evicts nothing)
   */
  beforeInvocation?: boolean;
}
