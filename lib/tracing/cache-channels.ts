import { tracingChannel } from 'node:diagnostics_channel';

/**
 * The `node:diagnostics_channel` TracingChannels every cache operation publishes on, named
 * `nestjs-distributed-cache:<operation>`. A tracer (an OpenTelemetry bridge, an APM agent, a test)
 * subscribes with `tracingChannel(name).subscribe({ start, end, asyncStart, asyncEnd, error })`
 * and receives the operation's context object: filled as the operation runs (`hit`, `tier`,
 * sizes), with `result` or `error` set by the channel when it settles.
 *
 * No cost when nothing subscribes: the cache checks `hasSubscribers` first and then neither builds
 * a context nor wraps the call.
 */

/** Where a read was answered: L1, L2, neither (`miss`), or an expired value served (`stale`). */
export type CacheTraceTier = 'l1' | 'l2' | 'miss' | 'stale';

/** The context published for a cache operation (every channel except `batch`). */
export interface CacheTraceContext {
  readonly operation:
    'get' | 'set' | 'del' | 'mget' | 'mset' | 'getOrSet' | 'flush' | 'invalidateTags' | 'clear';
  readonly namespace: string;
  /** The key of a single-key operation (get, set, getOrSet, del of one key). */
  readonly key?: string;
  /** The keys of mget, mset and del of several keys. */
  readonly keys?: readonly string[];
  /** The tags of invalidateTags. */
  readonly tags?: readonly string[];
  /** get, getOrSet: whether a value was served (fresh or stale). */
  hit?: boolean;
  /** get, getOrSet: where the answer came from. */
  tier?: CacheTraceTier;
  /** mget: how many of the keys were served. */
  hits?: number;
  /** set: bytes of the encoded entry; get: bytes read from L2 (an L2 hit). */
  itemSize?: number;
  /** set: milliseconds until the entry expires. */
  ttlMs?: number;
  /** getOrSet: joined a read of the key already in flight in this instance. */
  joined?: boolean;
  /** getOrSet: whether this call ran the factory (in this instance). */
  loaded?: boolean;
  /**
   * getOrSet with `lock`: this instance took the distributed lock, waited for another instance's
   * value, or ran the factory without the lock (`lockFallback` says why).
   */
  lock?: 'acquired' | 'waited' | 'fallback';
  /** Why a `lock` call fell back: `timeout`, `l2-error` or `unsupported`. */
  lockFallback?: string;
  /** An L2 failure the call met and answered without (a miss instead of a hit). */
  l2Error?: unknown;
  /** Set by the channel: what the operation resolved with. */
  result?: unknown;
  /** Set by the channel: what it rejected with. */
  error?: unknown;
}

/** The context published for one write-behind batch sent to L2 (channel `batch`). */
export interface CacheBatchTraceContext {
  readonly operation: 'batch';
  readonly namespace: string;
  /** Writes in the batch (sets and deletes). */
  readonly size: number;
  /** Bytes of the values it carries. */
  readonly bytes: number;
  /** The full Redis keys it writes (namespace included). */
  readonly keys: readonly string[];
  result?: unknown;
  error?: unknown;
}

/**
 * The context published for one L2 read (channel `l2Read`): the MGET that answers the L1 misses
 * of one tick (several callers' keys, the version keys they are checked against).
 */
export interface CacheL2ReadTraceContext {
  readonly operation: 'l2Read';
  readonly namespace: string;
  /** Keys read (values and version keys). */
  readonly size: number;
  result?: unknown;
  error?: unknown;
}

/** The prefix of every channel name. */
const CACHE_CHANNEL_PREFIX = 'nestjs-distributed-cache:';

function channel<C extends object>(operation: string) {
  return tracingChannel<unknown, C>(`${CACHE_CHANNEL_PREFIX}${operation}`);
}

/** The channels, one per operation. Internal: subscribers find them by name. */
export const cacheChannels = {
  get: channel<CacheTraceContext>('get'),
  set: channel<CacheTraceContext>('set'),
  del: channel<CacheTraceContext>('del'),
  mget: channel<CacheTraceContext>('mget'),
  mset: channel<CacheTraceContext>('mset'),
  getOrSet: channel<CacheTraceContext>('getOrSet'),
  flush: channel<CacheTraceContext>('flush'),
  invalidateTags: channel<CacheTraceContext>('invalidateTags'),
  clear: channel<CacheTraceContext>('clear'),
  batch: channel<CacheBatchTraceContext>('batch'),
  l2Read: channel<CacheL2ReadTraceContext>('l2Read'),
} as const;

/** Channel names by operation, e.g. `CACHE_TRACING_CHANNELS.get` is `nestjs-distributed-cache:get`. */
export const CACHE_TRACING_CHANNELS = Object.freeze(
  Object.fromEntries(
    Object.keys(cacheChannels).map((operation) => [
      operation,
      `${CACHE_CHANNEL_PREFIX}${operation}`,
    ]),
  ) as Record<keyof typeof cacheChannels, string>,
);
