import type { Logger } from '@nestjs/common';
import {
  concat,
  concatMap,
  defer,
  EMPTY,
  from,
  ignoreElements,
  isObservable,
  lastValueFrom,
  type Observable,
  tap,
  toArray,
} from 'rxjs';
import { cacheMessages } from '../cache.messages.js';
import type { CacheService } from '../cache.service.js';
import type { CacheBindingOwner, CachedMethodBinding } from '../decorators/cached-method.handle.js';
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
type BindableCache = Pick<CacheService, 'getOrSet' | 'set' | 'del'> & {
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

function noop(): void {}

/** A rejected promise of exactly what the caller's code threw (which may not be an Error). */
function rejected(error: unknown): Promise<never> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed through unchanged
  return Promise.reject(error);
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

/**
 * Binds one decorated method to one instance and its caches: the function the trampoline calls
 * for that instance.
 *
 * @param plan the validated decorators of the method (shared by every instance of the class)
 * @param instance the `this` of the original method
 * @param caches the caches the decorators use: one `CacheService`, or one per cache name
 * @param owner the explorer that made the binding
 */
export function createCachedMethodBinding(
  plan: MethodPlan,
  instance: object,
  caches: CacheService | BoundCaches,
  owner: CacheBindingOwner,
  logger: Logger,
): CachedMethodBinding {
  const runner = new CachedMethodRunner(plan, instance, caches, logger);
  return { owner, run: (args) => runner.run(args) };
}

/**
 * Runs a decorated method with its decorators' behaviour, for a Promise or an Observable method.
 *
 * Order of a call: evictions with `beforeInvocation`; then `@Cacheable` (a hit skips the method)
 * or the method itself; then `@CachePut`; then the other evictions, only if the call succeeded.
 * An Observable method does the same when subscribed: a `@Cacheable` miss collects the emissions
 * until completion (to store and share them), other decorators let emissions through as they come.
 */
class CachedMethodRunner {
  /** Only `@Cacheable`, nothing else: the hot path, without the general machinery. */
  private readonly cacheableOnly: boolean;
  private readonly caches: ReadonlyMap<string | undefined, BindableCache> | undefined;
  /** The one cache, when every decorator of the method uses the same one. */
  private readonly single: BindableCache | undefined;

  constructor(
    private readonly plan: MethodPlan,
    private readonly instance: object,
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
    this.cacheableOnly =
      plan.cacheable !== undefined &&
      plan.puts.length === 0 &&
      plan.evictsBefore.length === 0 &&
      plan.evictsAfter.length === 0;
  }

  run(args: unknown[]): unknown {
    switch (this.plan.kind) {
      case 'promise':
        return this.cacheableOnly ? this.cacheablePromise(args) : this.runPromise(args);
      case 'observable':
        return this.runObservable(args);
      default:
        return this.learnKind(args);
    }
  }

  // --- Promise methods -------------------------------------------------------------------------

  /** `@Cacheable` alone on a Promise method. Returns a Promise, never throws synchronously. */
  private cacheablePromise(args: unknown[]): Promise<unknown> {
    const c = this.plan.cacheable as CompiledStore;
    try {
      if (c.condition && !c.condition(...args)) return Promise.resolve(this.invoke(args));
      return this.readThrough(c, args, false);
    } catch (error: unknown) {
      return rejected(error);
    }
  }

  private async runPromise(
    args: unknown[],
    first?: { readonly before: Promise<void> | undefined; readonly invoked: Promise<unknown> },
  ): Promise<unknown> {
    const { plan } = this;
    if (first) await first.before;
    else if (plan.evictsBefore.length > 0) await this.evict(plan.evictsBefore, args, undefined);
    const c = plan.cacheable;
    let value: unknown;
    if (c && (!c.condition || c.condition(...args))) {
      // The first call of a method of unknown kind already ran it: store what it returned.
      if (first) {
        const invoked = await first.invoked;
        value = await this.store(c, args, invoked, invoked);
      } else {
        value = await this.readThrough(c, args, false);
      }
    } else {
      value = await (first ? first.invoked : this.invoke(args));
    }
    await this.afterSuccess(args, value, value);
    return value;
  }

  // --- Observable methods ----------------------------------------------------------------------

  private runObservable(
    args: unknown[],
    first?: { readonly before: Promise<void> | undefined; readonly invoked: Observable<unknown> },
  ): Observable<unknown> {
    return defer(() => {
      const { plan } = this;
      const c = plan.cacheable;
      let main$: Observable<unknown>;
      if (c && (!c.condition || c.condition(...args))) {
        main$ = first
          ? this.collectThenStore(c, args, first.invoked)
          : from(this.readThrough(c, args, true) as Promise<unknown[]>).pipe(
              concatMap((emissions) => from(emissions)),
            );
      } else {
        main$ = first ? first.invoked : defer(() => this.invokeObservable(args));
      }
      if (this.cacheableOnly && !first) return main$;
      const emissions: unknown[] = [];
      let before$: Observable<never> = EMPTY;
      if (first?.before) before$ = from(first.before).pipe(ignoreElements());
      else if (plan.evictsBefore.length > 0) {
        before$ = defer(() => from(this.evict(plan.evictsBefore, args, undefined))).pipe(
          ignoreElements(),
        );
      }
      return concat(
        before$,
        main$.pipe(tap((value) => emissions.push(value))),
        defer(() => from(this.afterSuccess(args, emissions, emissions.at(-1)))).pipe(
          ignoreElements(),
        ),
      );
    });
  }

  /** Streams an already invoked Observable and stores its emissions once it completes. */
  private collectThenStore(
    c: CompiledStore,
    args: unknown[],
    invoked: Observable<unknown>,
  ): Observable<unknown> {
    const emissions: unknown[] = [];
    return concat(
      invoked.pipe(tap((value) => emissions.push(value))),
      defer(() => from(this.store(c, args, emissions, emissions.at(-1)))).pipe(ignoreElements()),
    );
  }

  private invokeObservable(args: unknown[]): Observable<unknown> {
    const out = this.invoke(args);
    if (isObservable(out)) return out;
    throw this.returnTypeError(out);
  }

  // --- Shared steps ----------------------------------------------------------------------------

  /**
   * `@Cacheable`: the cached value, or the method's through single-flight `getOrSet`. For an
   * Observable method the cached value is the array of its emissions.
   */
  private readThrough(c: CompiledStore, args: unknown[], observable: boolean): Promise<unknown> {
    const key = c.key(args, undefined);
    // One object per call when tags depend on the result: the factory fills them in before
    // getOrSet stores the value with these options.
    const options: StoreOptions = c.tags
      ? { ...staleWindows(c), ttl: c.ttlMs, tags: c.staticTags }
      : this.staticOptions(c);
    const factory = observable
      ? async (): Promise<unknown> => {
          const emissions = await lastValueFrom(this.invokeObservable(args).pipe(toArray()));
          return this.admit(c, args, emissions, emissions.at(-1), options);
        }
      : async (): Promise<unknown> => {
          const value = await this.invoke(args);
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
  private async store(
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
  private async afterSuccess(args: unknown[], stored: unknown, result: unknown): Promise<void> {
    for (const put of this.plan.puts) {
      if (!put.condition || put.condition(...args)) await this.store(put, args, stored, result);
    }
    if (this.plan.evictsAfter.length > 0) await this.evict(this.plan.evictsAfter, args, result);
  }

  private async evict(
    evicts: readonly CompiledEvict[],
    args: unknown[],
    result: unknown,
  ): Promise<void> {
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

  /**
   * A method whose return type is not declared: the first call runs it to find out. Evictions
   * before invocation are started first; a plain value fails like a wrong declared type does.
   */
  private learnKind(args: unknown[]): unknown {
    const { plan } = this;
    const before =
      plan.evictsBefore.length > 0 ? this.evict(plan.evictsBefore, args, undefined) : undefined;
    // The Promise or Observable path below awaits it; mark it handled meanwhile.
    before?.catch(noop);
    const out = this.invoke(args);
    if (isObservable(out)) {
      plan.kind = 'observable';
      return this.runObservable(args, { before, invoked: out });
    }
    if (isPromiseLike(out)) {
      plan.kind = 'promise';
      const invoked = Promise.resolve(out);
      invoked.catch(noop);
      return this.runPromise(args, { before, invoked });
    }
    throw this.returnTypeError(out);
  }

  private invoke(args: unknown[]): unknown {
    return this.plan.original.apply(this.instance, args);
  }

  private returnTypeError(value: unknown): CacheDecoratorError {
    const { className, methodName } = this.plan;
    return new CacheDecoratorError(
      { className, methodName },
      cacheMessages.returnType(cacheMessages.plainValue(value)),
    );
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

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The `@Cacheable` stale-serving windows that were set, for `getOrSet`. */
function staleWindows(c: CompiledStore): GetOrSetOptions {
  const windows: GetOrSetOptions = {};
  if (c.staleWhileRevalidate !== undefined) windows.staleWhileRevalidate = c.staleWhileRevalidate;
  if (c.grace !== undefined) windows.grace = c.grace;
  if (c.timeout !== undefined) windows.timeout = c.timeout;
  return windows;
}
