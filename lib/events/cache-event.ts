/** Which tier answered a read. */
export type CacheTier = 'l1' | 'l2';

/**
 * What `CacheService.events$` emits. Keys are the caller's keys (without the namespace).
 * Events are only built while someone subscribes, so an unobserved stream costs nothing.
 */
export type CacheEvent =
  | { readonly type: 'hit'; readonly tier: CacheTier; readonly key: string }
  | { readonly type: 'miss'; readonly key: string }
  /** A write-behind batch landed in L2. `durationMs` is the pipeline's round trip. */
  | { readonly type: 'flush'; readonly count: number; readonly durationMs: number }
  /** A batch failed and will be retried after `retryInMs`. */
  | {
      readonly type: 'flush-error';
      readonly count: number;
      readonly attempt: number;
      readonly retryInMs: number;
      readonly error: unknown;
    }
  /**
   * A queued write was dropped: `overflow` (`'drop-oldest'`: the oldest write by call order, even
   * one in flight, which is then undone with a delete), `shutdown` (unwritten when the drain timed
   * out) or `rejected` (L2 refused it for good, e.g. NOPERM; `error` says why).
   */
  | {
      readonly type: 'drop';
      readonly key: string;
      readonly reason: 'overflow' | 'shutdown' | 'rejected';
      readonly error?: unknown;
    }
  /** An L2 call failed, or a payload could not be decoded. The caller saw a miss, not an error. */
  | {
      readonly type: 'error';
      readonly operation: string;
      readonly key?: string;
      readonly error: unknown;
    }
  /** The L2 circuit breaker changed state. */
  | { readonly type: 'breaker'; readonly state: 'closed' | 'open' | 'half-open' }
  /** Keys dropped from L1 because another instance changed them. */
  | { readonly type: 'invalidation'; readonly keys: readonly string[] }
  /** Distributed single-flight: this instance took the key's lock and runs the factory. */
  | { readonly type: 'lock-acquired'; readonly key: string }
  /**
   * Waited `waitedMs` for another instance's factory: got its value (`value`), or took over its
   * lock after it went without a value (`acquired`: the holder failed or died).
   */
  | {
      readonly type: 'lock-wait';
      readonly key: string;
      readonly waitedMs: number;
      readonly outcome: 'value' | 'acquired';
    }
  /**
   * Ran the factory without the distributed lock: `timeout` (`waitMs` spent), `l2-error` (L2
   * failed or did not answer), `unsupported` (the store has no locks, the key cannot share a hash
   * slot with a lock key, or the twemproxy pool has no `hash_tag: "{}"`).
   */
  | {
      readonly type: 'lock-fallback';
      readonly key: string;
      readonly reason: LockFallbackReason;
      readonly error?: unknown;
    }
  /** The lock's lease lapsed under its holder: the value it computes is not written to L2. */
  | { readonly type: 'lock-lost'; readonly key: string };

/** Why a call with `lock` ran its factory without the distributed lock. */
export type LockFallbackReason = 'timeout' | 'l2-error' | 'unsupported';
