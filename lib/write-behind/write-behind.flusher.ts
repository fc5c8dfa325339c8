import {
  EMPTY,
  Observable,
  Subject,
  type Subscription,
  audit,
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
import { encodedValue, type PendingWrite } from './pending-write.js';
import { WriteQueue } from './write-queue.js';
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
      readonly reason: 'overflow' | 'shutdown' | 'rejected' | 'unserializable';
      readonly error?: unknown;
    };

/**
 * Batches a drain sends at once (distinct keys, `maxBatchSize` writes each). One batch at a time
 * leaves Redis idle while the next is serialized and built, and this process idle while Redis
 * applies it; a few in flight keep both busy.
 */
const BATCHES_IN_FLIGHT = 4;

/**
 * Emits once on the next turn of the event loop (`setImmediate`): after the current task and
 * every promise job it queued.
 */
const nextTurn$ = new Observable<void>((subscriber) => {
  const handle = setImmediate(() => {
    subscriber.next();
    subscriber.complete();
  });
  return () => clearImmediate(handle);
});

/**
 * The write-behind queue: `set()` hands its write here and returns; the RxJS pipeline below
 * sends writes to L2 in batches.
 *
 * - Batching: a batch leaves `flushIntervalMs` after the first write of a quiet period, or on the
 *   next turn of the event loop once `maxBatchSize` writes wait; while writes keep coming, batches
 *   go back to back.
 * - Encoding: values queued by `set()` are serialized here, when their batch is built, and the
 *   next batch is encoded while the current one is in flight. A value that cannot be encoded is
 *   dropped and reported (`unserializable`); the rest of its batch is sent.
 * - Coalescing: the queue holds one write per key (WriteQueue), so a newer write replaces an
 *   older queued one (last write wins) and a key is sent at most once per batch.
 * - Ordering: every L2 mutation of this instance (batches, deletes, write-through sets) runs
 *   on one serial lane, and a failed write is re-queued only if no newer write of its key
 *   exists. So a delete issued while the key's batch is in flight lands after it, and a
 *   set-then-del can never resurrect the key, whatever the topology's connection layout.
 * - Retry: a failed batch is retried with exponential backoff and jitter; its writes wait in
 *   the queue meanwhile, so newer writes supersede them.
 * - Bounded: at most `maxPending` writes are held; past it `overflow` decides.
 *
 * NOTE: the queue lives in a keyed WriteQueue rather than inside RxJS buffers because deletes
 * must cancel queued writes and retries must see newer writes; RxJS drives the timing, draining
 * and backoff.
 */
export class WriteBehindFlusher {
  private readonly queued = new WriteQueue();
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
      // A full batch leaves on the next turn of the event loop rather than inside the set() that
      // filled it: a burst of set() calls (one task, many awaits) is not slowed by building and
      // sending batches; they go out right after it.
      this.enqueued$.pipe(
        filter(() => this.queued.size >= options.maxBatchSize),
        audit(() => nextTurn$),
      ),
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
    // A new key needs room only once maxPending writes are held (checked first: it is cheap).
    if (this.pending >= this.options.maxPending && !this.queued.has(write.key)) this.makeRoom();
    this.queued.push(write);
    // Only two moments can start a batch: the first write of an idle queue (starts the interval)
    // and the write that fills a batch; a drain in progress picks up everything else itself.
    // Signalling only then keeps RxJS off the per-write path.
    const size = this.queued.size;
    if (size === 1 || size === this.options.maxBatchSize) this.enqueued$.next();
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
    const unwritten = [...this.queued.clear(), ...this.inFlight.values()];
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
    const oldest = this.queued.oldest();
    if (oldest !== undefined && oldest.seq <= target) return true;
    return false;
  }

  /** Drops the oldest queued writes until at most `limit` writes are held. */
  private makeRoom(limit = this.options.maxPending - 1): void {
    if (this.options.overflow !== 'drop-oldest') return;
    while (this.pending > limit && this.queued.size > 0) {
      const [oldest] = this.queued.take(1);
      if (oldest === undefined) return;
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
   * Sends the given writes if they are still the newest of their keys, else up to
   * {@link BATCHES_IN_FLIGHT} batches of the oldest `maxBatchSize` queued writes each, all at once
   * (their keys are distinct: the queue holds one write per key). Rejects when a write failed and
   * was re-queued; resolves with the reason when writes were refused for good (dropped, not
   * retried).
   */
  private async sendBatch(only?: readonly PendingWrite[]): Promise<unknown> {
    const picked = only
      ? only.filter((write) => this.queued.remove(write))
      : this.queued.take(this.options.maxBatchSize * BATCHES_IN_FLIGHT);
    if (picked.length === 0) return undefined;
    for (const write of picked) this.inFlight.set(write.key, write);
    try {
      const sends: Array<{ batch: PendingWrite[]; started: number; sending: Promise<void> }> = [];
      for (let start = 0; start < picked.length; start += this.options.maxBatchSize) {
        // Encoded one batch at a time, each sent at once: Redis works on one while the next is
        // serialized here.
        const batch = this.encodeBatch(picked.slice(start, start + this.options.maxBatchSize));
        if (batch.length === 0) continue;
        const started = performance.now();
        sends.push({ batch, started, sending: this.remote.write(toL2Writes(batch, Date.now())) });
      }
      // Everything is on the wire: serialize what comes next meanwhile.
      this.encodeAhead();
      const outcomes = await Promise.allSettled(sends.map((send) => send.sending));
      const retry: PendingWrite[] = [];
      let retryError: unknown;
      let rejected: unknown;
      outcomes.forEach((outcome, i) => {
        const { batch, started } = sends[i]!;
        const durationMs = performance.now() - started;
        if (outcome.status === 'fulfilled') {
          this.landed(batch, durationMs);
          return;
        }
        const error: unknown = outcome.reason;
        const failures = new Map<number, unknown>(
          error instanceof CacheBatchError
            ? error.failedIndexes.map((index, j) => [index, error.errors[j]])
            : batch.map((_, j) => [j, error]),
        );
        this.landed(
          batch.filter((_, j) => !failures.has(j)),
          durationMs,
        );
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
            retryError ??= error;
          }
        }
      });
      this.requeue(retry);
      if (retry.length > 0) throw retryError;
      return rejected;
    } finally {
      this.settled$.next();
    }
  }

  /**
   * The writes of `batch` that can be sent, with their values encoded. A value that cannot be
   * encoded (its serializer threw, or it is larger than maxValueBytes) is dropped and reported,
   * never sent and never retried.
   */
  private encodeBatch(batch: PendingWrite[]): PendingWrite[] {
    let dropped = false;
    for (const write of batch) {
      if (write.kind !== 'set' || typeof write.value !== 'function') continue;
      try {
        encodedValue(write);
      } catch (error: unknown) {
        this.inFlight.delete(write.key);
        this.counters.dropped++;
        dropped = true;
        this.signals.next({ type: 'dropped', write, reason: 'unserializable', error });
      }
    }
    return dropped ? batch.filter((write) => this.inFlight.get(write.key) === write) : batch;
  }

  /** Encodes the values of the next drain ahead of time; failures are left for their turn. */
  private encodeAhead(): void {
    for (const write of this.queued.upcoming(this.options.maxBatchSize * BATCHES_IN_FLIGHT)) {
      if (write.kind !== 'set' || typeof write.value !== 'function') continue;
      try {
        encodedValue(write);
      } catch {
        // Reported when its batch is built (encodeBatch), like any other.
      }
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
    this.queued.prepend(failed.filter((write) => !this.queued.has(write.key)));
    this.makeRoom(this.options.maxPending);
  }
}
