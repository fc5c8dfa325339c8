import { randomBytes } from 'node:crypto';
import type { LockFallbackReason } from '../events/cache-event.js';
import type { CacheCounters } from '../events/cache-stats.js';
import { lockKeyOf } from '../keys/lock-keys.js';
import type { L2LockRef, L2Locks } from '../contracts/l2-store.interface.js';
import type { CacheReporter } from './cache-reporter.js';
import type { FoundEntry } from './found-entry.js';
import { isFresh, L2_UNANSWERED } from './read-path.js';

/** First pause of a waiter between two looks at L2, in milliseconds; it doubles from here… */
const FIRST_POLL_MS = 20;
/** …up to this. */
const MAX_POLL_MS = 500;

/** What a flight needs of the cache around it. */
export interface DistributedFlightHost {
  /** The store's locks; `undefined` when it has none. */
  readonly locks: L2Locks | undefined;
  /** Runs one L2 call under the remote-tier policy (timeout, circuit breaker). */
  call<T>(operation: string, body: () => Promise<T>): Promise<T>;
  /** What L2 holds for `key` now (see `ReadPath.remote`). */
  readRemote(key: string): Promise<FoundEntry | undefined | typeof L2_UNANSWERED>;
  readonly counters: CacheCounters;
  readonly report: CacheReporter;
}

/** The two steps of a flight the read-through policy supplies. */
export interface FlightSteps<T> {
  /** Runs the factory (with its backoff bookkeeping). */
  compute(): Promise<T>;
  /**
   * Stores the value; with `releases`, its L2 write also ends the lock (see `L2Write.releases`).
   * Resolves `false` when the value could not be queued (reported), so the lock must be released.
   */
  store(value: T, releases: L2LockRef | undefined): Promise<boolean>;
  /** Told how the lock went (for tracing): taken, waited for, or fallen back from. */
  onLock?(outcome: 'acquired' | 'waited' | 'fallback', reason?: LockFallbackReason): void;
}

/**
 * Distributed single-flight (`lock: true`): one factory run across all the instances sharing the
 * L2, where local single-flight stops at the process. Runs inside the in-process flight, on a
 * miss in L1 and L2:
 *
 * 1. Take the key's lock (`SET NX PX leaseMs`, a token unique to this flight).
 * 2. Holder: read L2 again (another instance may just have filled it), run the factory while
 *    renewing the lease every `leaseMs / 3`, and write the value so that the same script releases
 *    the lock, only if the token still holds it: a holder whose lease lapsed never overwrites a
 *    newer value. A factory that throws releases the lock at once; its error is not cached.
 * 3. Others: never spin on the lock. Poll the value (20 ms doubling to 500 ms, jittered), woken at
 *    once by the invalidation bus when the holder's write lands; when the lock is gone without a
 *    value (the holder failed, or died and its lease ran out), take it over.
 * 4. Fail open: `waitMs` spent, L2 failing, or a store or key that cannot be locked → run the
 *    factory here (single-flight within the instance still holds), counted and reported. The lock
 *    never fails a request.
 *
 * For efficiency, not mutual exclusion: after a failover that lost the lock key, or a lease that
 * lapsed under a paused holder, two runs can happen.
 */
export class DistributedFlight {
  /** Wake-ups of the waiters per caller key (the bus announces keys that landed). */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Whether the store puts lock keys beside value keys; asked once. */
  private colocated: boolean | undefined;

  constructor(
    private readonly host: DistributedFlightHost,
    private readonly namespace: string,
    private readonly leaseMs: number,
  ) {}

  /** Another instance's write of these keys landed: wake whoever waits for one of them. */
  landed(keys: readonly string[]): void {
    if (this.waiters.size === 0) return;
    for (const key of keys) this.waiters.get(key)?.forEach((wake) => wake());
  }

  /**
   * Runs `steps` for `key` under the key's lock, waiting at most `waitMs` for another holder.
   * `l2Unanswered`: the read that found the miss got no answer from L2, so no lock is tried.
   */
  async run<T>(
    key: string,
    waitMs: number,
    l2Unanswered: boolean,
    steps: FlightSteps<T>,
  ): Promise<T> {
    if (l2Unanswered) return this.fallback(key, 'l2-error', steps);
    const { locks } = this.host;
    const lockKey = locks === undefined ? undefined : lockKeyOf(this.namespace, key);
    if (locks === undefined || lockKey === undefined) {
      return this.fallback(key, 'unsupported', steps);
    }
    try {
      if (!(await this.isColocated(locks))) return await this.fallback(key, 'unsupported', steps);
    } catch (error: unknown) {
      return this.fallback(key, 'l2-error', steps, error);
    }
    const startedAt = Date.now();
    const deadline = startedAt + waitMs;
    let waiting = false;
    let pause = FIRST_POLL_MS;
    for (;;) {
      const token = randomBytes(12).toString('base64url');
      let acquired: boolean;
      try {
        acquired = await this.host.call('lock', () => locks.acquire(lockKey, token, this.leaseMs));
      } catch (error: unknown) {
        return this.fallback(key, 'l2-error', steps, error);
      }
      if (acquired) {
        const lock = { key: lockKey, token };
        // Read again under the lock: the value may have landed since the read that found the
        // miss. For a waiter, the holder's value and release can land between its last poll and
        // this acquire: then this was a wait, not a take-over.
        const found = await this.host.readRemote(key);
        if (waiting) {
          if (isFresh(found, Date.now())) {
            this.release(key, lock, locks);
            this.waited(key, startedAt, 'value');
            steps.onLock?.('waited');
            return found.value as T;
          }
          this.waited(key, startedAt, 'acquired');
        }
        steps.onLock?.('acquired');
        return this.hold(key, lock, locks, steps, found);
      }
      if (!waiting) {
        waiting = true;
        this.host.counters.lockWaits++;
      }
      // Held elsewhere: wait for its value, then look again.
      const now = Date.now();
      if (now >= deadline) {
        this.host.counters.lockWaitMsTotal += now - startedAt;
        return this.fallback(key, 'timeout', steps);
      }
      await this.pause(key, Math.min(jittered(pause), deadline - now));
      pause = Math.min(pause * 2, MAX_POLL_MS);
      const found = await this.host.readRemote(key);
      if (found === L2_UNANSWERED) {
        this.host.counters.lockWaitMsTotal += Date.now() - startedAt;
        return this.fallback(key, 'l2-error', steps);
      }
      if (isFresh(found, Date.now())) {
        this.waited(key, startedAt, 'value');
        steps.onLock?.('waited');
        return found.value as T;
      }
      // No value yet: the next acquire tells whether the holder still holds the lock.
    }
  }

  /**
   * Holds the lock: serves `found` (what the key held once the lock was taken) when it is fresh,
   * else runs the factory renewing the lease, and stores and releases in one.
   */
  private async hold<T>(
    key: string,
    lock: L2LockRef,
    locks: L2Locks,
    steps: FlightSteps<T>,
    found: FoundEntry | undefined | typeof L2_UNANSWERED,
  ): Promise<T> {
    this.host.counters.lockAcquired++;
    this.host.report.emit({ type: 'lock-acquired', key });
    if (isFresh(found, Date.now())) {
      this.release(key, lock, locks);
      return found.value as T;
    }
    const renewal = setInterval(() => this.renew(key, lock, locks, renewal), this.leaseMs / 3);
    renewal.unref();
    try {
      let value: T;
      try {
        value = await steps.compute();
      } catch (error: unknown) {
        this.release(key, lock, locks); // at once: waiters take over rather than wait out the lease
        throw error;
      }
      // `undefined` is not cached: nothing will release the lock with a write.
      let queued = false;
      try {
        queued = value !== undefined && (await steps.store(value, lock));
      } finally {
        if (!queued) this.release(key, lock, locks);
      }
      return value;
    } finally {
      clearInterval(renewal);
    }
  }

  /** Runs the factory here, without the distributed lock: counted, reported, logged. */
  private async fallback<T>(
    key: string,
    reason: LockFallbackReason,
    steps: FlightSteps<T>,
    error?: unknown,
  ): Promise<T> {
    this.host.report.lockFallback(key, reason, error);
    steps.onLock?.('fallback', reason);
    const value = await steps.compute();
    if (value !== undefined) await steps.store(value, undefined);
    return value;
  }

  private waited(key: string, startedAt: number, outcome: 'value' | 'acquired'): void {
    const waitedMs = Date.now() - startedAt;
    this.host.counters.lockWaitMsTotal += waitedMs;
    this.host.report.emit({ type: 'lock-wait', key, waitedMs, outcome });
  }

  /** Extends the lease; when the lock is no longer ours, stops and says so. */
  private renew(key: string, lock: L2LockRef, locks: L2Locks, renewal: NodeJS.Timeout): void {
    this.host
      .call('lock renew', () => locks.renew(lock.key, lock.token, this.leaseMs))
      .then(
        (held) => {
          if (held) return;
          clearInterval(renewal);
          this.host.report.emit({ type: 'lock-lost', key });
        },
        (error: unknown) => this.host.report.l2Failed('lock renew', key, error),
      );
  }

  /** Deletes the lock if still ours; not awaited (the lease bounds a release that fails). */
  private release(key: string, lock: L2LockRef, locks: L2Locks): void {
    this.host
      .call('lock release', () => locks.release(lock.key, lock.token))
      .catch((error: unknown) => this.host.report.l2Failed('lock release', key, error));
  }

  /** Sleeps `ms`, or less when the bus says `key` landed. */
  private pause(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let wakers = this.waiters.get(key);
      if (wakers === undefined) this.waiters.set(key, (wakers = new Set()));
      const wake = (): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        if (wakers.size === 0 && this.waiters.get(key) === wakers) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  private async isColocated(locks: L2Locks): Promise<boolean> {
    if (this.colocated === undefined) {
      this.colocated =
        locks.colocated === undefined
          ? true
          : await this.host.call('lock check', () => locks.colocated!());
    }
    return this.colocated;
  }
}

/** `ms` give or take 20%, so that waiters of many instances do not poll in step. */
function jittered(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}
