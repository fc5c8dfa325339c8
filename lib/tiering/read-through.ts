import { LRUCache } from 'lru-cache';
import { CacheOptionsError, CacheSerializationError } from '../errors/cache.errors.js';
import { parseDuration, type Duration } from '../options/duration.js';
import { backoffDelay } from '../write-behind/batch.js';
import type { L2LockRef } from '../contracts/l2-store.interface.js';
import type { DistributedFlight } from './distributed-flight.js';
import type { FoundEntry } from './found-entry.js';
import { L2_UNANSWERED } from './read-path.js';
import type { CacheTraceContext } from '../tracing/cache-channels.js';
import { traceFound } from './found-entry.js';

/** Per-write options of `set`, `mset` and `getOrSet`. */
export interface SetOptions {
  /** Lifetime of the entry (milliseconds or a duration string, at most 365 days). @default the module's `ttl` */
  ttl?: Duration;
  /** Tags for `invalidateTags()`: the entry reads as a miss once one of them is invalidated. */
  tags?: readonly string[];
}

/** Options of `getOrSet` (and `@Cacheable`). */
export interface GetOrSetOptions extends SetOptions {
  /**
   * For this long after the TTL, an expired value is returned at once while `factory` refreshes
   * it in the background (one refresh per key at a time).
   */
  staleWhileRevalidate?: Duration;
  /**
   * For this long after the TTL, when `factory` throws (or exceeds `timeout`), the last value is
   * returned instead of the error, and `factory` is not called again for that key until a backoff
   * (1 s doubling to 30 s) has passed.
   */
  grace?: Duration;
  /**
   * When `factory` takes longer than this and an expired value is still held, that value is
   * returned and `factory` finishes in the background (its result is stored). Without a held
   * value the caller waits for `factory`.
   */
  timeout?: Duration;
  /**
   * Run `factory` once across all the instances sharing the L2, not once per instance: `true`, or
   * `{ waitMs }` to wait at most that long for another instance's factory before running it here
   * (the module's `lock.waitMs` otherwise). Costs one more L2 round trip on a true miss. For
   * efficiency, not mutual exclusion (see DistributedFlight). @default false
   */
  lock?: boolean | { waitMs?: Duration };
}

/** What the read-through policy needs from the cache. */
export interface ReadThroughHost {
  /**
   * The entry under `key`, fresh or stale, from L1, a queued write or L2; `L2_UNANSWERED` when L2
   * did not answer. Counts nothing.
   */
  lookup(
    key: string,
    trace?: CacheTraceContext,
  ): Promise<FoundEntry | undefined | typeof L2_UNANSWERED>;
  /**
   * Stores a produced value, kept `keepStaleMs` past its TTL; with `releases`, its L2 write also
   * ends that single-flight lock, and is sent at once.
   */
  store(
    key: string,
    value: unknown,
    options: SetOptions | undefined,
    keepStaleMs: number,
    releases?: L2LockRef,
  ): Promise<void>;
  /** Counts a hit (fresh or stale value served) or a miss. */
  countRead(key: string, served: FoundEntry | undefined): void;
  /** Reports an error that did not reach the caller. */
  reportError(operation: string, key: string, error: unknown): void;
}

interface Windows {
  readonly swr: number;
  readonly grace: number;
  readonly timeout: number | undefined;
}

/**
 * `getOrSet`: single-flight read-through with stale-while-revalidate, grace and a factory
 * timeout. Concurrent callers of one key share one lookup and one factory run, and its result or
 * its error.
 */
export class ReadThrough {
  private readonly flights = new Map<string, Promise<unknown>>();
  /**
   * Keys whose factory is being called right now (its synchronous part). A factory that asks for
   * its own key (e.g. one @Cacheable method returning another that shares its key) would
   * otherwise wait for its own flight forever; such a call runs without single-flight.
   *
   * NOTE: not AsyncLocalStorage, which would also see a request made after the factory's first
   * `await`: on Node 20 an enabled AsyncLocalStorage installs promise hooks for the whole process
   * (every await measured 3x slower in a one-off test), and switching it on for each flight made the first flight
   * after a quiet moment take 5-10 ms longer (deoptimizations; bench scenario f). A factory that
   * awaits something and only then asks for its own key waits for itself: README, getOrSet.
   */
  private readonly producing = new Set<string>();
  private readonly refreshes = new Set<string>();
  /** Keys whose factory failed recently; bounded, since failing keys are unbounded. */
  private readonly backoff = new LRUCache<string, { until: number; attempt: number }>({
    max: 10_000,
  });

  /**
   * @param distributed distributed single-flight, for calls with `lock`
   * @param lockWaitMs the module's `lock.waitMs`
   */
  constructor(
    private readonly host: ReadThroughHost,
    private readonly distributed?: DistributedFlight,
    private readonly lockWaitMs = 0,
  ) {}

  /** `trace`: a tracing context to fill with where the value came from (see CacheTraceContext). */
  run<T>(
    key: string,
    factory: () => T | Promise<T>,
    options?: GetOrSetOptions,
    trace?: CacheTraceContext,
  ): Promise<T> {
    // Re-entry from inside this key's own factory: run it, without single-flight.
    if (this.producing.has(key)) return this.resolve(key, factory, options, trace);
    const inFlight = this.flights.get(key);
    if (inFlight) {
      if (trace !== undefined) trace.joined = true;
      return inFlight as Promise<T>;
    }
    const flight = this.resolve(key, factory, options, trace).finally(() =>
      this.flights.delete(key),
    );
    this.flights.set(key, flight);
    return flight;
  }

  private async resolve<T>(
    key: string,
    factory: () => T | Promise<T>,
    options: GetOrSetOptions | undefined,
    trace?: CacheTraceContext,
  ): Promise<T> {
    const windows: Windows = {
      swr:
        options?.staleWhileRevalidate === undefined
          ? 0
          : parseDuration(options.staleWhileRevalidate, 'staleWhileRevalidate'),
      grace: options?.grace === undefined ? 0 : parseDuration(options.grace, 'grace'),
      timeout:
        options?.timeout === undefined ? undefined : parseDuration(options.timeout, 'timeout'),
    };
    const looked = await this.host.lookup(key, trace);
    const unanswered = looked === L2_UNANSWERED;
    const found = unanswered ? undefined : looked;
    const now = Date.now();
    if (found !== undefined && found.freshUntil > now) {
      this.host.countRead(key, found);
      if (trace !== undefined) traceFound(trace, found);
      return found.value as T;
    }
    const stale =
      found !== undefined && now <= found.freshUntil + Math.max(windows.swr, windows.grace)
        ? found
        : undefined;
    if (stale !== undefined && now <= stale.freshUntil + windows.swr) {
      this.host.countRead(key, stale);
      if (trace !== undefined) traceFound(trace, stale, true);
      this.refreshInBackground(key, factory, options, windows);
      return stale.value as T;
    }
    if (stale !== undefined && (this.backoff.get(key)?.until ?? 0) > now) {
      // The factory failed a moment ago: serve the last value rather than hammer the origin.
      this.host.countRead(key, stale);
      if (trace !== undefined) traceFound(trace, stale, true);
      return stale.value as T;
    }
    this.host.countRead(key, undefined);
    if (trace !== undefined) {
      traceFound(trace, undefined);
      trace.loaded = false; // until the factory runs here (see compute)
    }
    const produced = this.produce(key, factory, options, windows, unanswered, trace);
    if (stale === undefined) return produced;
    try {
      return windows.timeout === undefined
        ? await produced
        : await withTimeout(produced, windows.timeout, stale.value as T);
    } catch (error: unknown) {
      if (error instanceof CacheSerializationError || Date.now() > stale.freshUntil + windows.grace)
        throw error;
      this.host.reportError('factory', key, error);
      return stale.value as T;
    }
  }

  private refreshInBackground<T>(
    key: string,
    factory: () => T | Promise<T>,
    options: GetOrSetOptions | undefined,
    windows: Windows,
  ): void {
    if (this.refreshes.has(key) || (this.backoff.get(key)?.until ?? 0) > Date.now()) return;
    this.refreshes.add(key);
    this.produce(key, factory, options, windows)
      .catch((error: unknown) => this.host.reportError('refresh', key, error))
      .finally(() => this.refreshes.delete(key));
  }

  /**
   * Runs the factory and stores its result, under the key's distributed lock when the call asks
   * for one (DistributedFlight).
   */
  private produce<T>(
    key: string,
    factory: () => T | Promise<T>,
    options: GetOrSetOptions | undefined,
    windows: Windows,
    l2Unanswered = false,
    trace?: CacheTraceContext,
  ): Promise<T> {
    const keepStaleMs = Math.max(windows.swr, windows.grace);
    const lock = options?.lock;
    if (lock === undefined || lock === false || this.distributed === undefined) {
      return this.compute(key, factory, trace).then(async (value) => {
        await this.storeValue(key, value, options, keepStaleMs, undefined);
        return value;
      });
    }
    if (lock !== true && (typeof lock !== 'object' || lock === null)) {
      throw new CacheOptionsError(
        'lock',
        `getOrSet option lock must be true, false or { waitMs }, got ${String(lock)}`,
      );
    }
    const waitMs =
      lock === true || lock.waitMs === undefined
        ? this.lockWaitMs
        : parseDuration(lock.waitMs, 'lock.waitMs');
    return this.distributed.run(key, waitMs, l2Unanswered, {
      compute: () => this.compute(key, factory, trace),
      store: (value, releases) => this.storeValue(key, value, options, keepStaleMs, releases),
      ...(trace === undefined
        ? {}
        : {
            onLock: (outcome, reason) => {
              trace.lock = outcome;
              if (reason !== undefined) trace.lockFallback = reason;
            },
          }),
    });
  }

  /** Runs the factory; a failure starts (or extends) the key's backoff. */
  private async compute<T>(
    key: string,
    factory: () => T | Promise<T>,
    trace?: CacheTraceContext,
  ): Promise<T> {
    if (trace !== undefined) trace.loaded = true;
    let value: T;
    try {
      const nested = this.producing.has(key);
      this.producing.add(key);
      let produced: T | Promise<T>;
      try {
        produced = factory();
      } finally {
        if (!nested) this.producing.delete(key);
      }
      value = await produced;
    } catch (error: unknown) {
      const attempt = (this.backoff.get(key)?.attempt ?? 0) + 1;
      this.backoff.set(key, { attempt, until: Date.now() + backoffDelay(attempt, 1_000, 30_000) });
      throw error;
    }
    this.backoff.delete(key);
    return value;
  }

  /** Stores a produced value (not `undefined`); whether it was queued. */
  private async storeValue(
    key: string,
    value: unknown,
    options: GetOrSetOptions | undefined,
    keepStaleMs: number,
    releases: L2LockRef | undefined,
  ): Promise<boolean> {
    if (value === undefined) return false;
    try {
      await this.host.store(key, value, options, keepStaleMs, releases);
      return true;
    } catch (error: unknown) {
      // A value that cannot be encoded is a bug the caller must see; anything else (a full
      // queue) must not fail a read whose value we have.
      if (error instanceof CacheSerializationError) throw error;
      this.host.reportError('set', key, error);
      return false;
    }
  }
}

/** `promise`, or `fallback` after `ms`; the promise keeps running (its rejection is handled). */
function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => undefined);
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(fallback), ms);
    }),
  ]);
}
