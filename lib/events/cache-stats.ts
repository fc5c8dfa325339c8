import type { HotKey } from './hot-keys.js';

/**
 * A snapshot of the cache's counters since start. Every enumerable field is a plain number (or
 * the breaker's state) so that it can be logged or exported as-is; `hotKeys` is a non-enumerable
 * method.
 */
export interface CacheStatsSnapshot {
  /** Reads answered by the in-process tier. */
  l1Hits: number;
  /** Reads answered by L2 (and copied into L1). */
  l2Hits: number;
  /** Reads answered by neither tier. */
  misses: number;
  /** Values accepted by `set`, `mset` and `getOrSet`. */
  sets: number;
  /** Keys removed by `del`. */
  deletes: number;
  /** Writes queued or in flight, not yet acknowledged by L2. */
  pending: number;
  /** Writes acknowledged by L2. */
  flushed: number;
  /** Batches acknowledged by L2. */
  batches: number;
  /** Sum of the L2 round trips of acknowledged batches, in milliseconds (÷ `batches` = mean flush latency). */
  flushDurationMsTotal: number;
  /** Batch retries after a failure. */
  retries: number;
  /**
   * Writes dropped: by the overflow policy, refused by Redis for good (e.g. NOPERM, reason
   * `rejected`), or left unwritten at shutdown.
   */
  dropped: number;
  /** L2 calls that failed or timed out, and L2 payloads that could not be decoded. */
  l2Errors: number;
  /** Entries currently held in L1. */
  l1Size: number;
  /** State of the L2 circuit breaker. */
  breaker: 'closed' | 'open' | 'half-open';
  /** Times the circuit breaker opened. */
  breakerOpens: number;
  /** `(l1Hits + l2Hits) / (l1Hits + l2Hits + misses)`, 0 before the first read. */
  hitRatio: number;
  /** Distributed single-flight: locks this instance took to run a factory (`lock: true`). */
  lockAcquired: number;
  /** Calls that waited for another instance's factory (its lock was held). */
  lockWaits: number;
  /** Milliseconds those calls spent waiting, in total (÷ `lockWaits` = mean wait). */
  lockWaitMsTotal: number;
  /**
   * Calls with `lock` that ran the factory without the distributed lock: the wait ran out, L2
   * failed, or the store or key cannot be locked (see `lock-fallback` events).
   */
  lockFallbacks: number;
  /**
   * Batches `writeBehind.replicas` replicas confirmed (`WAIT`); with several masters (Cluster),
   * one per batch whose every part was confirmed. 0 while `replicas` is 0.
   */
  replicaConfirmedBatches: number;
  /** Batches, or parts of batches, fewer replicas confirmed in time: kept pending and retried. */
  replicaTimeouts: number;
  /** Milliseconds batches spent in `WAIT`, in total (÷ their count = mean replication wait). */
  replicaWaitMsTotal: number;
  /** L1 misses answered by L2 (hit or miss there), and what they waited in total, in ms. */
  l2Reads: number;
  l2ReadMsTotal: number;
  /**
   * The `n` most read keys, most read first (estimates; see the `hotKeys` option). Empty unless
   * `hotKeys` is on. Not enumerable: `JSON.stringify` and spreads of the snapshot leave it out.
   */
  hotKeys: (n?: number) => HotKey[];
}

/** Mutable counters behind `stats()`. Internal. */
export class CacheCounters {
  l1Hits = 0;
  l2Hits = 0;
  misses = 0;
  sets = 0;
  deletes = 0;
  flushed = 0;
  batches = 0;
  flushDurationMsTotal = 0;
  retries = 0;
  dropped = 0;
  l2Errors = 0;
  lockAcquired = 0;
  lockWaits = 0;
  lockWaitMsTotal = 0;
  lockFallbacks = 0;
  replicaConfirmedBatches = 0;
  replicaTimeouts = 0;
  replicaWaitMsTotal = 0;
  l2Reads = 0;
  l2ReadMsTotal = 0;
}
