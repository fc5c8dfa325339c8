import type { Observable } from 'rxjs';
import type { CacheEvent } from './events/cache-event.js';
import type { CacheStatsSnapshot } from './events/cache-stats.js';
import { cacheChannels, type CacheTraceContext } from './tracing/cache-channels.js';
import { traced } from './tracing/traced.js';

/**
 * The hot calls' `start` channels, held apart. Each hot method is a one-line check that stays
 * small enough for V8 to inline it, with the traced path in a method of its own (measured: a
 * method holding both cost an L1 hit about 6 %).
 */
const getStarts = cacheChannels.get.start;
const setStarts = cacheChannels.set.start;
const getOrSetStarts = cacheChannels.getOrSet.start;
import type {
  GetOrSetOptions,
  MsetEntry,
  SetOptions,
  TieredCache,
} from './tiering/tiered-cache.js';

/**
 * The cache: an in-process LRU (L1) in front of a shared L2 (Redis or memory), with write-behind
 * to L2. Inject it anywhere the module is imported (or everywhere with `isGlobal: true`).
 *
 * Keys are caller keys; in Redis they live under `${namespace}:${key}`. `undefined` is a miss;
 * `null` is a value.
 */
export class CacheService {
  /** Made by its registration's factory provider; inject it, never construct it. */
  constructor(private readonly cache: TieredCache) {}

  /**
   * The value of `key` from L1, else L2 (filling L1 with the entry's remaining TTL), else
   * `undefined`. An L2 failure or a call slower than `l2TimeoutMs` is a miss, never an error.
   * The object returned is the one L1 holds: do not mutate it.
   */
  get<T>(key: string): Promise<T | undefined> {
    return getStarts.hasSubscribers ? this.tracedGet<T>(key) : this.cache.get<T>(key);
  }

  /**
   * Stores `value` under `key` for `ttl` (default: the module's `ttl`). Writes L1 at once and
   * resolves once the L2 write is queued (write-behind) or stored (write-through).
   * @throws CacheSerializationError the value cannot be encoded; nothing was stored
   * @throws CacheOverflowError the write-behind queue is full and `overflow` is `'reject'`
   */
  set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    return setStarts.hasSubscribers
      ? this.tracedSet(key, value, options)
      : this.cache.set(key, value, options);
  }

  /**
   * Removes keys from L1 and L2 and cancels their queued writes. Resolves once L2 applied the
   * delete (or, if L2 is failing, once the delete is queued for retry).
   */
  del(keys: string | readonly string[]): Promise<void> {
    if (!cacheChannels.del.start.hasSubscribers) return this.cache.del(keys);
    const which = typeof keys === 'string' ? { key: keys } : { keys };
    return traced(cacheChannels.del, this.context('del', which), () => this.cache.del(keys));
  }

  /** Values of `keys` in key order, `undefined` for misses; one L2 call for all L1 misses. */
  mget<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
    if (!cacheChannels.mget.start.hasSubscribers) return this.cache.mget<T>(keys);
    return traced(cacheChannels.mget, this.context('mget', { keys }), (trace) =>
      this.cache.mget<T>(keys, trace),
    );
  }

  /** Stores many entries; encodes all first, so one value that cannot be encoded stores none. */
  mset<T>(entries: ReadonlyArray<MsetEntry<T>>): Promise<void> {
    if (!cacheChannels.mset.start.hasSubscribers) return this.cache.mset(entries);
    // mset checks its argument itself; a non-array is traced without keys and rejected there.
    const keys = Array.isArray(entries)
      ? (entries as ReadonlyArray<MsetEntry<T>>).map((entry) => entry.key)
      : [];
    return traced(cacheChannels.mset, this.context('mset', { keys }), () =>
      this.cache.mset(entries),
    );
  }

  /**
   * Returns the cached value, or runs `factory`, caches its result and returns it. Concurrent
   * misses of one key in this instance run `factory` once; if it throws, every waiter gets the
   * error and nothing is cached.
   */
  getOrSet<T>(key: string, factory: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    return getOrSetStarts.hasSubscribers
      ? this.tracedGetOrSet(key, factory, options)
      : this.cache.getOrSet(key, factory, options);
  }

  /**
   * Every entry set with one of `tags` reads as a miss afterwards, on every instance: at once
   * here, on others from their next L2 read of the entry (or at once with the invalidation bus).
   * Works on every topology (version keys, no KEYS/SCAN).
   */
  invalidateTags(tags: readonly string[]): Promise<void> {
    if (!cacheChannels.invalidateTags.start.hasSubscribers) return this.cache.invalidateTags(tags);
    return traced(cacheChannels.invalidateTags, this.context('invalidateTags', { tags }), () =>
      this.cache.invalidateTags(tags),
    );
  }

  /**
   * Every entry of this namespace reads as a miss afterwards, on every instance. No KEYS/SCAN:
   * works through twemproxy. Entries of other namespaces are untouched.
   */
  clear(): Promise<void> {
    if (!cacheChannels.clear.start.hasSubscribers) return this.cache.clear();
    return traced(cacheChannels.clear, this.context('clear', {}), () => this.cache.clear());
  }

  /**
   * Resolves when every write queued before the call is in L2.
   * @param timeoutMs give up after this many milliseconds (default `writeBehind.shutdownTimeoutMs`)
   * @throws CacheFlushTimeoutError when writes are still pending after `timeoutMs`
   */
  flush(timeoutMs?: number): Promise<void> {
    if (!cacheChannels.flush.start.hasSubscribers) return this.cache.flush(timeoutMs);
    return traced(cacheChannels.flush, this.context('flush', {}), () =>
      this.cache.flush(timeoutMs),
    );
  }

  /** A synchronous snapshot of the counters. */
  stats(): CacheStatsSnapshot {
    return this.cache.stats();
  }

  /** Hits, misses, flushes, drops, errors and invalidations, as they happen. */
  get events$(): Observable<CacheEvent> {
    return this.cache.events$;
  }

  private tracedSet<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    return traced(cacheChannels.set, this.context('set', { key }), (trace) =>
      this.cache.set(key, value, options, trace),
    );
  }

  /** The factory runs inside the trace: an origin's own spans nest under it. */
  private tracedGetOrSet<T>(
    key: string,
    factory: () => T | Promise<T>,
    options?: GetOrSetOptions,
  ): Promise<T> {
    return traced(cacheChannels.getOrSet, this.context('getOrSet', { key }), (trace) =>
      this.cache.getOrSet(key, factory, options, trace),
    );
  }

  private tracedGet<T>(key: string): Promise<T | undefined> {
    return traced(cacheChannels.get, this.context('get', { key }), (trace) =>
      this.cache.getTraced<T>(key, trace),
    );
  }

  /** A tracing context for `operation` (only built when its channel has a subscriber). */
  private context(
    operation: CacheTraceContext['operation'],
    fields: Pick<CacheTraceContext, 'key' | 'keys' | 'tags'>,
  ): CacheTraceContext {
    return { operation, namespace: this.cache.namespace, ...fields };
  }
}
