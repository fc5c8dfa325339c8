import type { Logger } from '@nestjs/common';
import { lastValueFrom, type Observable, toArray } from 'rxjs';
import { cacheMessages } from '../cache.messages.js';
import type { CacheService } from '../cache.service.js';
import { CacheDecoratorError } from '../errors/cache.errors.js';
import { CacheKeyError } from '../errors/cache.errors.js';
import { CacheOptionsError } from '../errors/cache.errors.js';
import { CacheSerializationError } from '../errors/cache.errors.js';
import type { GetOrSetOptions } from '../tiering/tiered-cache.js';
import type { CompiledEvict, CompiledStore, MethodPlan } from './cached-method.plan.js';

/**
 * The parts of `CacheService` a binding uses. `invalidateTags` and `clear` are optional: the
 * compiler refuses options that need them when they are missing.
 */
export type BindableCache = Pick<CacheService, 'getOrSet' | 'set' | 'del'> & {
  invalidateTags?(tags: readonly string[]): Promise<void>;
  clear?(): Promise<void>;
};

/** `SetOptions` plus the tags a later version of `CacheService` understands. */
type StoreOptions = GetOrSetOptions & { tags?: readonly string[] };

/**
 * Thrown by a single-flight factory whose result `unless` refused: `getOrSet` then stores
 * nothing, and every caller waiting on the flight unwraps the same value.
 */
class NotStored extends Error {
  constructor(readonly value: unknown) {
    super('unless() refused the value; it is returned, not stored');
  }
}

function unwrapNotStored(error: unknown): unknown {
  if (error instanceof NotStored) return error.value;
  throw error;
}

/**
 * Errors that say the caller's code or options are wrong: they reach the caller. Anything else a
 * cache call throws (a full write-behind queue, an L2 failure) is logged and skipped, so that
 * cache trouble never fails a method that itself succeeded.
 */
function isCallerBug(error: unknown): boolean {
  return (
    error instanceof CacheKeyError ||
    error instanceof CacheSerializationError ||
    error instanceof CacheDecoratorError ||
    error instanceof CacheOptionsError
  );
}

/**
 * The caches a bound method uses, by the decorators' `cache` option (`undefined`: the default
 * cache). Holds every name the method's decorators use. Internal.
 */
export type BoundCaches = ReadonlyMap<string | undefined, CacheService>;

/** How the steps call the decorated method (the runner does, for `this` and the return kind). */
export interface MethodInvoker {
  invoke(args: unknown[]): unknown;
  invokeObservable(args: unknown[]): Observable<unknown>;
}

/**
 * The cache calls of one bound decorated method: read-through for `@Cacheable`, store for
 * `@CachePut`, the evictions, each guarded so that cache trouble never fails a method that
 * succeeded. The runner (cached-method.factory.ts) decides when each runs. Internal.
 */
export class CachedMethodSteps {
  private readonly caches: ReadonlyMap<string | undefined, BindableCache> | undefined;
  /** The one cache, when every decorator of the method uses the same one. */
  private readonly single: BindableCache | undefined;

  constructor(
    private readonly plan: MethodPlan,
    private readonly invoker: MethodInvoker,
    caches: BindableCache | BoundCaches,
    private readonly logger: Logger,
  ) {
    if (caches instanceof Map) {
      const bound = caches as BoundCaches;
      this.caches = bound;
      this.single = bound.size === 1 ? bound.values().next().value : undefined;
    } else {
      this.single = caches as BindableCache;
    }
  }

  /**
   * `@Cacheable`: the cached value, or the method's through single-flight `getOrSet`. For an
   * Observable method the cached value is the array of its emissions.
   */
  readThrough(c: CompiledStore, args: unknown[], observable: boolean): Promise<unknown> {
    const key = c.key(args, undefined);
    // One object per call when tags depend on the result: the factory fills them in before
    // getOrSet stores the value with these options.
    const options: StoreOptions = c.tags
      ? { ...staleWindows(c), ttl: c.ttlMs, tags: c.staticTags }
      : this.staticOptions(c);
    const factory = observable
      ? async (): Promise<unknown> => {
          const emissions = await lastValueFrom(
            this.invoker.invokeObservable(args).pipe(toArray()),
          );
          return this.admit(c, args, emissions, emissions.at(-1), options);
        }
      : async (): Promise<unknown> => {
          const value = await this.invoker.invoke(args);
          return this.admit(c, args, value, value, options);
        };
    const read = this.cacheOf(c).getOrSet<unknown>(key, factory, options);
    const value = c.unless ? read.catch(unwrapNotStored) : read;
    // A Promise method's value may be stored by another method as an array; an Observable
    // method always replays a list.
    return observable
      ? value.then((stored) => (Array.isArray(stored) ? (stored as unknown[]) : [stored]))
      : value;
  }

  /** Applies `unless` and dynamic tags to a freshly computed value, before getOrSet stores it. */
  private admit(
    c: CompiledStore,
    args: unknown[],
    stored: unknown,
    result: unknown,
    options: StoreOptions,
  ): unknown {
    if (c.unless?.(result, ...args)) throw new NotStored(stored);
    if (c.tags) options.tags = [...(c.staticTags ?? []), ...c.tags(args, result)];
    return stored;
  }

  /**
   * `@CachePut` (and the first call of a `@Cacheable` of unknown kind): stores `stored` (the
   * value, or an Observable's emissions) unless `unless` refuses `result`; returns `stored`.
   */
  async store(
    c: CompiledStore,
    args: unknown[],
    stored: unknown,
    result: unknown,
  ): Promise<unknown> {
    if (stored === undefined || c.unless?.(result, ...args)) return stored; // undefined means a miss
    const key = c.key(args, result);
    const options: StoreOptions = c.tags
      ? { ttl: c.ttlMs, tags: [...(c.staticTags ?? []), ...c.tags(args, result)] }
      : this.staticOptions(c);
    await this.guard(c.decorator, `storing '${key}'`, () =>
      this.cacheOf(c).set(key, stored, options),
    );
    return stored;
  }

  /** `@CachePut` and the evictions that wait for success. */
  async afterSuccess(args: unknown[], stored: unknown, result: unknown): Promise<void> {
    for (const put of this.plan.puts) {
      if (!put.condition || put.condition(...args)) await this.store(put, args, stored, result);
    }
    if (this.plan.evictsAfter.length > 0) await this.evict(this.plan.evictsAfter, args, result);
  }

  async evict(evicts: readonly CompiledEvict[], args: unknown[], result: unknown): Promise<void> {
    for (const evict of evicts) {
      if (evict.condition && !evict.condition(...args)) continue;
      if (evict.key) {
        const key = evict.key(args, result);
        await this.guard('CacheEvict', `deleting '${key}'`, () => this.cacheOf(evict).del(key));
      }
      if (evict.tags) {
        const tags = evict.tags(args, result);
        await this.guard('CacheEvict', 'invalidateTags()', () =>
          this.tagCache(evict).invalidateTags(tags),
        );
      }
      if (evict.allEntries === 'clear') {
        await this.guard('CacheEvict', 'clear()', () => this.clearCache(evict).clear());
      } else if (evict.allEntries) {
        const tags = [evict.allEntries.tag];
        await this.guard('CacheEvict', 'invalidateTags()', () =>
          this.tagCache(evict).invalidateTags(tags),
        );
      }
    }
  }

  /**
   * Runs a cache call; a failure that is not the caller's bug is logged and skipped, so an L2
   * outage or a full write-behind queue never fails a method that succeeded.
   */
  private async guard(
    decorator: string,
    operation: string,
    call: () => Promise<void>,
  ): Promise<void> {
    try {
      await call();
    } catch (error: unknown) {
      if (isCallerBug(error)) throw error;
      this.logger.warn(
        cacheMessages.cacheCallFailed(
          { className: this.plan.className, methodName: this.plan.methodName, decorator },
          operation,
          error,
        ),
      );
    }
  }

  private staticOptionsCache: StoreOptions | undefined;

  /** Options without per-call parts, built once (getOrSet and set only read them). */
  private staticOptions(c: CompiledStore): StoreOptions {
    if (c === this.plan.cacheable) {
      return (this.staticOptionsCache ??= { ...staleWindows(c), ttl: c.ttlMs, tags: c.staticTags });
    }
    return { ...staleWindows(c), ttl: c.ttlMs, tags: c.staticTags };
  }

  /** The cache an operation's `cache` option names (the explorer bound every one of them). */
  private cacheOf(operation: { readonly cacheName: string | undefined }): BindableCache {
    return this.single ?? (this.caches?.get(operation.cacheName) as BindableCache);
  }

  private tagCache(evict: CompiledEvict): Required<Pick<BindableCache, 'invalidateTags'>> {
    return this.cacheOf(evict) as Required<Pick<BindableCache, 'invalidateTags'>>;
  }

  private clearCache(evict: CompiledEvict): Required<Pick<BindableCache, 'clear'>> {
    return this.cacheOf(evict) as Required<Pick<BindableCache, 'clear'>>;
  }
}

/** The `@Cacheable` stale-serving windows that were set, for `getOrSet`. */
function staleWindows(c: CompiledStore): GetOrSetOptions {
  const windows: GetOrSetOptions = {};
  if (c.staleWhileRevalidate !== undefined) windows.staleWhileRevalidate = c.staleWhileRevalidate;
  if (c.grace !== undefined) windows.grace = c.grace;
  if (c.timeout !== undefined) windows.timeout = c.timeout;
  if (c.lock !== undefined) windows.lock = c.lock;
  return windows;
}
