import {
  EMPTY,
  Subject,
  type Observable,
  type Subscription,
  auditTime,
  defer,
  exhaustMap,
  filter,
  firstValueFrom,
  ignoreElements,
  merge,
  of,
  repeat,
  retry,
  startWith,
  throwError,
  timeout,
  timer,
} from 'rxjs';
import { CacheBatchError } from '../errors/cache-batch.error.js';
import { CacheFlushTimeoutError } from '../errors/cache-flush-timeout.error.js';
import { CacheL2Error } from '../errors/cache-l2.error.js';
import { CacheOverflowError } from '../errors/cache-overflow.error.js';
import type { CacheCounters } from '../events/cache-stats.js';
import type { RemoteTier } from '../tiering/remote-tier.js';
import { backoffDelay, toL2Writes } from './batch.js';
import type { PendingWrite } from './pending-write.js';
import { isPermanentWriteFailure } from './write-failure.js';

/** Settings of the flusher, already validated. */
export interface FlusherOptions {
  readonly flushIntervalMs: number;
  readonly maxBatchSize: number;
  readonly maxPending: number;
  readonly overflow: 'drop-oldest' | 'reject';
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
}

/** What the flusher reports; the tiered cache turns these into `events$`. */
export type FlusherSignal =
  | {
      readonly type: 'landed';
      readonly writes: readonly PendingWrite[];
      readonly durationMs: number;
    }
  | {
      readonly type: 'failed';
      readonly count: number;
      readonly attempt: number;
      readonly retryInMs: number;
      readonly error: unknown;
    }
  | {
      readonly type: 'dropped';
      readonly write: PendingWrite;
      readonly reason: 'overflow' | 'shutdown' | 'rejected';
      readonly error?: unknown;
    };

/**
 * The write-behind queue: `set()` hands its write here and returns; the RxJS pipeline below
 * sends writes to L2 in batches.
 *
 * - Batching: a batch leaves `flushIntervalMs` after the first write of a quiet period, or at
 *   once when `maxBatchSize` writes wait; while writes keep coming, batches go back to back.
 * - Coalescing: the queue is a Map by key, so a newer write replaces an older queued one
 *   (last write wins) and a key is sent at most once per batch.
 * - Ordering: every L2 mutation of this instance (batches, deletes, write-through sets) runs
 *   on one serial lane, and a failed write is re-queued only if no newer write of its key
 *   exists. So a delete issued while the key's batch is in flight lands after it, and a
 *   set-then-del can never resurrect the key, whatever the topology's connection layout.
 * - Retry: a failed batch is retried with exponential backoff and jitter; its writes wait in
 *   the queue meanwhile, so newer writes supersede them.
 * - Bounded: at most `maxPending` writes are held; past it `overflow` decides.
 *
 * NOTE: the queue lives in a Map rather than inside RxJS buffers because deletes must cancel
 * queued writes and retries must see newer writes; RxJS drives the timing, draining and backoff.
 */
export class WriteBehindFlusher {
  private queued = new Map<string, PendingWrite>();
  private readonly inFlight = new Map<string, PendingWrite>();
  private seq = 0;
  private lane: Promise<unknown> = Promise.resolve();
  private readonly enqueued$ = new Subject<void>();
  private readonly kick$ = new Subject<void>();
  private readonly settled$ = new Subject<void>();
  private readonly signals = new Subject<FlusherSignal>();
  private readonly subscription: Subscription;

  /** Batches landed, failures and drops, for events and the invalidation bus. */
  readonly signals$: Observable<FlusherSignal> = this.signals.asObservable();

  constructor(
    private readonly remote: RemoteTier,
    private readonly options: FlusherOptions,
    private readonly counters: CacheCounters,
  ) {
    const drain$ = defer(() => this.inLane(() => this.sendBatch())).pipe(
      retry({
        resetOnSuccess: true,
        delay: (error: unknown, attempt: number) => {
          const retryInMs = backoffDelay(
            attempt,
            options.retryBaseDelayMs,
            options.retryMaxDelayMs,
          );
          this.counters.retries++;
          this.signals.next({ type: 'failed', count: this.pending, attempt, retryInMs, error });
          return timer(retryInMs);
        },
      }),
      repeat({ delay: () => (this.queued.size > 0 ? of(0) : EMPTY) }),
      ignoreElements(),
    );
    this.subscription = merge(
      this.enqueued$.pipe(auditTime(options.flushIntervalMs)),
      this.enqueued$.pipe(filter(() => this.queued.size >= options.maxBatchSize)),
      this.kick$,
    )
      .pipe(exhaustMap(() => drain$))
      .subscribe();
  }

  /** Writes queued or in flight. */
  get pending(): number {
    return this.queued.size + this.inFlight.size;
  }

  /** A number ordering this write after every earlier one of this instance. */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The newest write of `key` not yet acknowledged by L2 (read-your-writes before the flush). */
  peek(key: string): PendingWrite | undefined {
    return this.queued.get(key) ?? this.inFlight.get(key);
  }

  /**
   * With `overflow: 'reject'`, throws `CacheOverflowError` when a new key would exceed
   * `maxPending`. Call before changing L1, so a refused write changes nothing.
   */
  checkCapacity(key: string, userKey: string): void {
    if (
      this.options.overflow === 'reject' &&
      this.pending >= this.options.maxPending &&
      !this.queued.has(key)
    ) {
      throw new CacheOverflowError(userKey, this.options.maxPending);
    }
  }

  /** Queues a write for the next batch, replacing any queued write of the same key. */
  enqueue(write: PendingWrite): void {
    if (!this.queued.delete(write.key)) this.makeRoom();
    this.queued.set(write.key, write);
    // Only two moments can start a batch: the first write of an idle queue (starts the interval)
    // and a full batch; a drain in progress picks up everything else itself. Signalling only
    // then keeps RxJS off the per-write path.
    const size = this.queued.size;
    if (size === 1 || size >= this.options.maxBatchSize) this.enqueued$.next();
  }

  /**
   * Queues the writes and sends them now, ahead of the batch timer, on the serial lane (so after
   * any batch already in flight). Rejects when L2 fails; the writes then stay queued and are
   * retried like any batch, so L2 still converges to them.
   */
  async writeNow(writes: readonly PendingWrite[]): Promise<void> {
    for (const write of writes) this.enqueue(write);
    const rejected = await this.inLane(() => this.sendBatch(writes));
    if (rejected !== undefined) {
      throw rejected instanceof Error
        ? rejected
        : new CacheL2Error('write', 'L2 refused the write', { cause: rejected });
    }
  }

  /**
   * Resolves when every write queued before the call is acknowledged by L2. Rejects with
   * `CacheFlushTimeoutError` after `timeoutMs` (the writes stay queued).
   */
  async flush(timeoutMs: number): Promise<void> {
    const target = this.seq;
    const done = (): boolean => !this.holdsWritesUpTo(target);
    if (done()) return;
    this.kick$.next();
    await firstValueFrom(
      this.settled$.pipe(
        startWith(undefined),
        filter(done),
        timeout({
          first: timeoutMs,
          with: () => throwError(() => new CacheFlushTimeoutError(this.pending, timeoutMs)),
        }),
      ),
    );
  }

  /**
   * Flushes for at most `timeoutMs`, then stops the pipeline. Returns how many writes could not
   * be written (each reported as a `dropped` signal with reason `shutdown`).
   */
  async close(timeoutMs: number): Promise<number> {
    try {
      await this.flush(timeoutMs);
    } catch {
      // Reported below as unwritten.
    }
    this.subscription.unsubscribe();
    const unwritten = [...this.queued.values(), ...this.inFlight.values()];
    this.queued.clear();
    this.inFlight.clear();
    for (const write of unwritten) {
      this.counters.dropped++;
      this.signals.next({ type: 'dropped', write, reason: 'shutdown' });
    }
    this.signals.complete();
    return unwritten.length;
  }

  private holdsWritesUpTo(target: number): boolean {
    for (const write of this.inFlight.values()) if (write.seq <= target) return true;
    for (const write of this.queued.values()) if (write.seq <= target) return true;
    return false;
  }

  /** Drops the oldest queued writes until at most `limit` writes are held. */
  private makeRoom(limit = this.options.maxPending - 1): void {
    if (this.options.overflow !== 'drop-oldest') return;
    while (this.pending > limit && this.queued.size > 0) {
      const oldest = this.queued.values().next().value as PendingWrite;
      this.queued.delete(oldest.key);
      this.counters.dropped++;
      this.signals.next({ type: 'dropped', write: oldest, reason: 'overflow' });
    }
  }

  /** Runs `task` after every earlier lane task has settled. */
  private inLane<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lane.then(task, task);
    this.lane = run.catch(() => undefined);
    return run;
  }

  /**
   * Sends one batch: the given writes if they are still the newest of their keys, else the
   * oldest `maxBatchSize` queued writes. Rejects when a write failed and was re-queued; resolves
   * with the reason when writes were refused for good (dropped, not retried).
   */
  private async sendBatch(only?: readonly PendingWrite[]): Promise<unknown> {
    const batch: PendingWrite[] = [];
    if (only) {
      for (const write of only) if (this.queued.get(write.key) === write) batch.push(write);
    } else {
      for (const write of this.queued.values()) {
        if (batch.length >= this.options.maxBatchSize) break;
        batch.push(write);
      }
    }
    if (batch.length === 0) return undefined;
    for (const write of batch) {
      this.queued.delete(write.key);
      this.inFlight.set(write.key, write);
    }
    const started = performance.now();
    try {
      await this.remote.write(toL2Writes(batch, Date.now()));
      this.landed(batch, performance.now() - started);
      return undefined;
    } catch (error: unknown) {
      const failures = new Map<number, unknown>(
        error instanceof CacheBatchError
          ? error.failedIndexes.map((index, i) => [index, error.errors[i]])
          : batch.map((_, i) => [i, error]),
      );
      this.landed(
        batch.filter((_, i) => !failures.has(i)),
        performance.now() - started,
      );
      const retry: PendingWrite[] = [];
      let rejected: unknown;
      for (const [index, reason] of failures) {
        const write = batch[index];
        if (write === undefined) continue;
        this.inFlight.delete(write.key);
        if (isPermanentWriteFailure(reason)) {
          // Retrying cannot help (e.g. NOPERM): report it instead of holding the queue forever.
          this.counters.dropped++;
          rejected ??= reason;
          this.signals.next({ type: 'dropped', write, reason: 'rejected', error: reason });
        } else {
          retry.push(write);
        }
      }
      this.requeue(retry);
      if (retry.length === 0) return rejected;
      throw error;
    } finally {
      this.settled$.next();
    }
  }

  private landed(writes: readonly PendingWrite[], durationMs: number): void {
    if (writes.length === 0) return;
    for (const write of writes) this.inFlight.delete(write.key);
    this.counters.flushed += writes.length;
    this.counters.batches++;
    this.counters.flushDurationMsTotal += durationMs;
    this.signals.next({ type: 'landed', writes, durationMs });
  }

  /** Failed writes go back to the front of the queue unless a newer write of the key is queued. */
  private requeue(failed: readonly PendingWrite[]): void {
    const front = failed.filter((write) => !this.queued.has(write.key));
    if (front.length === 0) return;
    const queued = new Map<string, PendingWrite>();
    for (const write of front) queued.set(write.key, write);
    for (const [key, write] of this.queued) queued.set(key, write);
    this.queued = queued;
    this.makeRoom(this.options.maxPending);
  }
}
