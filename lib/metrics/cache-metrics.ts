import type { CacheStatsSnapshot } from '../events/cache-stats.js';
import type { BusStats } from '../invalidation/invalidation-bus.js';

/** State of the L2 circuit breaker, as `stats().breaker` reports it. */
export type CacheBreakerState = CacheStatsSnapshot['breaker'];

/** Counters and state of the invalidation bus, in {@link CacheMetricsSnapshot.bus}. */
export interface CacheBusMetrics {
  /** Whether the bus's subscription is live now. */
  readonly connected: boolean;
  /** Messages this instance published (one per landed batch, delete, tag invalidation, clear). */
  readonly published: number;
  /** Messages from other instances that this instance applied to its L1. */
  readonly received: number;
  /** Messages ignored: malformed, or of another namespace. */
  readonly ignored: number;
  /** Publishes that failed (other instances' L1 then stays stale for at most `l1.ttl`). */
  readonly publishErrors: number;
  /** Times the subscription came back after a drop (each one dropped this instance's L1). */
  readonly resubscribes: number;
  /** Summed lag of received messages, ms (÷ `received` = mean bus lag; hosts' clocks included). */
  readonly lagMsTotal: number;
}

/**
 * Everything the cache counts, with the derived values (hit ratios, queue use) computed, for one
 * cache. Counters count since the application started; ratios are over the same period.
 *
 * @example
 * const m = deriveCacheMetrics(cache.stats(), { namespace: 'shop', maxPending: 100_000 });
 * logger.log(`hit ratio ${(m.hitRatio * 100).toFixed(1)} %, ${m.pending} writes queued`);
 */
export interface CacheMetricsSnapshot {
  /** The cache's namespace (the `namespace` label of the Prometheus metrics). */
  readonly namespace: string;
  /** Reads answered by L1. */
  readonly l1Hits: number;
  /** Reads answered by L2 (and copied into L1). */
  readonly l2Hits: number;
  /** `l1Hits + l2Hits`. */
  readonly hits: number;
  /** Reads answered by neither tier. */
  readonly misses: number;
  /** `hits + misses`. */
  readonly reads: number;
  /** `hits / reads`, from 0 to 1; 0 before the first read. */
  readonly hitRatio: number;
  /** `l1Hits / reads`, from 0 to 1; 0 before the first read. */
  readonly l1HitRatio: number;
  /** `l2Hits / reads`, from 0 to 1; 0 before the first read. */
  readonly l2HitRatio: number;
  /** Values accepted by `set`, `mset` and `getOrSet`. */
  readonly sets: number;
  /** Keys removed by `del`. */
  readonly deletes: number;
  /** Entries held in L1 now. */
  readonly l1Entries: number;
  /** Write-behind queue depth: writes queued or in flight, not yet acknowledged by L2. */
  readonly pending: number;
  /** The queue's bound, `writeBehind.maxPending`. */
  readonly maxPending: number;
  /** `pending / maxPending`, from 0 to 1 (1: full, writes are dropped or rejected). */
  readonly queueUtilization: number;
  /** Writes acknowledged by L2. */
  readonly flushed: number;
  /** Write batches acknowledged by L2. */
  readonly batches: number;
  /** Batch retries after a failure. */
  readonly retries: number;
  /** Writes dropped: by the overflow policy, refused by L2 for good, or unwritten at shutdown. */
  readonly dropped: number;
  /** Failed or timed-out L2 calls, and L2 payloads that could not be decoded. */
  readonly l2Errors: number;
  /** State of the L2 circuit breaker. */
  readonly breaker: CacheBreakerState;
  /** Times the circuit breaker opened. */
  readonly breakerOpens: number;
  /**
   * Sum of the L2 round trips of acknowledged batches, in milliseconds; divide by `batches` for
   * the mean flush latency.
   */
  readonly flushDurationMsTotal: number;
  /** Distributed single-flight: locks taken to run a factory. */
  readonly lockAcquired: number;
  /** Calls that waited for another instance's factory. */
  readonly lockWaits: number;
  /** Milliseconds those calls waited, in total. */
  readonly lockWaitMsTotal: number;
  /** Calls with `lock` that ran their factory without the distributed lock. */
  readonly lockFallbacks: number;
  /** Batches confirmed by `writeBehind.replicas` replicas. */
  readonly replicaConfirmedBatches: number;
  /** Batches (or parts) fewer replicas confirmed in time, retried. */
  readonly replicaTimeouts: number;
  /** Milliseconds spent waiting for replicas, in total. */
  readonly replicaWaitMsTotal: number;
  /** L2 reads (L1 misses asked of L2) and their summed duration, ms. */
  readonly l2Reads: number;
  readonly l2ReadMsTotal: number;
  /** The invalidation bus, or `null` when invalidation is off. */
  readonly bus: CacheBusMetrics | null;
  /** The most read keys (estimated reads), at most `hotKeys` of the context; empty when off. */
  readonly hotKeys: ReadonlyArray<{ readonly key: string; readonly reads: number }>;
}

/** What {@link deriveCacheMetrics} needs besides `stats()`. */
export interface CacheMetricsContext {
  /** The cache's namespace. */
  readonly namespace: string;
  /** `writeBehind.maxPending` of the cache. */
  readonly maxPending: number;
  /** The invalidation bus's state and counters, or `null` when invalidation is off. @default null */
  readonly bus?: { readonly connected: boolean; readonly stats: BusStats } | null;
  /** How many of the most read keys to report (see `hotKeys`). @default 10 */
  readonly hotKeys?: number;
}

/**
 * Computes {@link CacheMetricsSnapshot} from a `CacheService.stats()` snapshot: per-tier hits and
 * ratios, queue depth against its bound, breaker and bus state. Pure: no I/O, no clock.
 *
 * @example
 * deriveCacheMetrics(cache.stats(), { namespace: 'shop', maxPending: 100_000 }).hitRatio // 0.93
 */
export function deriveCacheMetrics(
  stats: CacheStatsSnapshot,
  context: CacheMetricsContext,
): CacheMetricsSnapshot {
  const hits = stats.l1Hits + stats.l2Hits;
  const reads = hits + stats.misses;
  const ratio = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);
  const bus = context.bus ?? null;
  // NOTE: read through an optional view so this keeps compiling before and after stats() grows
  // the field (the lead owns CacheStatsSnapshot).
  const { flushDurationMsTotal } = stats;
  return {
    namespace: context.namespace,
    l1Hits: stats.l1Hits,
    l2Hits: stats.l2Hits,
    hits,
    misses: stats.misses,
    reads,
    hitRatio: ratio(hits, reads),
    l1HitRatio: ratio(stats.l1Hits, reads),
    l2HitRatio: ratio(stats.l2Hits, reads),
    sets: stats.sets,
    deletes: stats.deletes,
    l1Entries: stats.l1Size,
    pending: stats.pending,
    maxPending: context.maxPending,
    queueUtilization: Math.min(1, ratio(stats.pending, context.maxPending)),
    flushed: stats.flushed,
    batches: stats.batches,
    retries: stats.retries,
    dropped: stats.dropped,
    l2Errors: stats.l2Errors,
    breaker: stats.breaker,
    breakerOpens: stats.breakerOpens,
    flushDurationMsTotal,
    lockAcquired: stats.lockAcquired,
    lockWaits: stats.lockWaits,
    lockWaitMsTotal: stats.lockWaitMsTotal,
    lockFallbacks: stats.lockFallbacks,
    replicaConfirmedBatches: stats.replicaConfirmedBatches,
    replicaTimeouts: stats.replicaTimeouts,
    replicaWaitMsTotal: stats.replicaWaitMsTotal,
    l2Reads: stats.l2Reads,
    l2ReadMsTotal: stats.l2ReadMsTotal,
    bus: bus === null ? null : { connected: bus.connected, ...pickBusStats(bus.stats) },
    hotKeys: stats.hotKeys(context.hotKeys ?? 10).map(({ key, reads }) => ({ key, reads })),
  };
}

function pickBusStats(stats: BusStats): Omit<CacheBusMetrics, 'connected'> {
  return {
    published: stats.published,
    received: stats.received,
    ignored: stats.ignored,
    publishErrors: stats.publishErrors,
    resubscribes: stats.resubscribes,
    lagMsTotal: stats.lagMsTotal,
  };
}
