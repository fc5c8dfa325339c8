import {
  EMPTY,
  NEVER,
  type Observable,
  Subject,
  type Subscription,
  defer,
  exhaustMap,
  filter,
  firstValueFrom,
  ignoreElements,
  of,
  repeat,
  retry,
  startWith,
  takeUntil,
  throwError,
  timeout,
  timer,
} from 'rxjs';
import { CacheFlushTimeoutError } from '../errors/cache.errors.js';
import { CacheL2TimeoutError } from '../errors/l2.errors.js';
import type { CacheCounters } from '../events/cache-stats.js';
import { backoffDelay } from './batch.js';
import { BatchSender } from './batch-sender.js';
import { WakeTimer, drainTriggers$ } from './drain-triggers.js';
import type { FlusherOptions, FlusherSignal } from './flusher-signal.js';
import {
  storePayload,
  type BatchGuard,
  type FrameWrite,
  type WriteTarget,
} from './flusher-ports.js';
import { FollowUps } from './follow-ups.js';
import { HeldWrites } from './held-writes.js';
import type { PendingWrite } from './pending-write.js';
import { SerialLane } from './serial-lane.js';
import { WriteCapacity } from './write-capacity.js';
import { asWriteError } from './write-failure.js';

export type { FlusherOptions, FlusherSignal };
export { REASSERT_DELAY_MS } from './follow-ups.js';

/**
 * The write-behind queue: `set()` hands its (encoded) write here and returns; the RxJS pipeline
 * below sends writes to L2 in batches (BatchSender).
 *
 * - Batching: a batch leaves `flushIntervalMs` after the first write of a quiet period, or on the
 *   next turn of the event loop once `maxBatchSize` writes wait; while writes keep coming, batches
 *   go back to back, a few in flight, each landed batch's place taken by the next queued writes
 *   (drainTriggers$, BatchSender; WakeTimer for parked writes and follow-ups falling due).
 * - Coalescing: the queue holds one write per key, so a newer write replaces an older queued one
 *   (last write wins) and a key is sent at most once per batch.
 * - Ordering: every L2 mutation of this instance (batches, deletes, write-through sets) runs
 *   on one serial lane (SerialLane), and a failed write is retried only if no newer write of its key exists.
 *   So a delete issued while the key's batch is in flight lands after it. A batch that timed out
 *   may still be applied by a hung server when it resumes, after a newer write that went over a
 *   new connection: the newer write is sent once more shortly after it landed (FollowUps).
 * - Failures per key: writes that failed alone (their shard or node is down) wait out their own
 *   backoff while the rest keep landing. A batch that failed as a whole (L2 unreachable, timed
 *   out) is retried with exponential backoff and jitter; its writes wait in the queue meanwhile,
 *   so newer writes supersede them.
 * - Versions: each batch makes sure the version keys its entries are stamped with exist, and sends
 *   again, re-stamped, entries whose version key was re-created after a loss (BatchGuard).
 * - Bounded: at most `maxPending` writes are held, queued, parked and in flight alike
 *   (WriteCapacity). Past it, `overflow` decides: `'drop-oldest'` drops the oldest write by call order, even one in
 *   flight (its batch no longer counts for it; since it may land anyway, a delete of its key
 *   follows), so the writes kept are always the newest.
 *
 * NOTE: the queue lives in keyed structures rather than inside RxJS buffers because deletes
 * must cancel queued writes and retries must see newer writes; RxJS drives the timing, draining
 * and backoff.
 */
export class WriteBehindFlusher {
  private readonly held = new HeldWrites();
  private readonly followUps = new FollowUps();
  private readonly sender: BatchSender;
  private readonly capacity: WriteCapacity;
  private readonly wakeTimer = new WakeTimer(() => this.onTimer());
  private seq = 0;
  private closed = false;
  private readonly lane = new SerialLane();
  private readonly enqueued$ = new Subject<void>();
  private readonly kick$ = new Subject<void>();
  private readonly settled$ = new Subject<void>();
  private readonly signals = new Subject<FlusherSignal>();
  private readonly subscription: Subscription;

  /** Batches landed, failures and drops, for events and the invalidation bus. */
  readonly signals$: Observable<FlusherSignal> = this.signals.asObservable();

  constructor(
    remote: WriteTarget,
    private readonly options: FlusherOptions,
    private readonly counters: CacheCounters,
    /** The version check of each batch (the cache's BatchVersionGuard) and how sets are framed. */
    ports: { guard?: BatchGuard; frame?: FrameWrite } = {},
  ) {
    this.sender = new BatchSender(
      remote,
      options,
      {
        held: this.held,
        followUps: this.followUps,
        counters,
        signals: this.signals,
        enqueue: (write) => this.enqueue(write),
        wake: () => this.wake(),
        mayContinue: () => !this.closed && !this.lane.contended,
        settledOne: () => this.settled$.next(),
      },
      ports.guard,
      ports.frame ?? storePayload,
    );
    this.capacity = new WriteCapacity(this.held, options, (write) => {
      this.counters.dropped++;
      // A queued write whose earlier attempt timed out may still sit in a hung server's socket and
      // land when it resumes, though dropped here: undo it with a delete, as the batch of a write
      // dropped in flight does (BatchSender), so the writes kept stay the newest.
      if (!this.held.droppedInFlight(write) && this.followUps.isSuspect(write.key)) {
        this.followUps.revoke(write);
      }
      this.signals.next({ type: 'dropped', write, reason: 'overflow' });
    });
    const drain$ = defer(() => this.lane.run(() => this.drainOnce())).pipe(
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
      repeat({
        delay: () => (this.held.queuedSize > 0 || this.followUps.hasRevocations ? of(0) : EMPTY),
      }),
      ignoreElements(),
    );
    this.subscription = drainTriggers$(
      this.enqueued$,
      this.kick$,
      () => this.held.queuedSize,
      options,
    )
      .pipe(exhaustMap(() => drain$))
      .subscribe();
  }

  /** Writes held: queued, parked after a failure, or in flight. */
  get pending(): number {
    return this.held.size;
  }

  /** A number ordering this write after every earlier one of this instance. */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The newest write of `key` not yet acknowledged by L2 (read-your-writes before the flush). */
  peek(key: string): PendingWrite | undefined {
    return this.held.peek(key);
  }

  /**
   * With `overflow: 'reject'`, throws `CacheOverflowError` when a new key would exceed
   * `maxPending`. Call before changing L1, so a refused write changes nothing.
   */
  checkCapacity(key: string, userKey: string): void {
    this.capacity.check(key, userKey);
  }

  /** Queues a write for the next batch, replacing any queued or parked write of the same key. */
  enqueue(write: PendingWrite): void {
    this.followUps.cancel(write);
    this.capacity.makeRoomFor(write.key);
    this.held.add(write);
    // Only two moments can start a batch: the first write of an idle queue (starts the interval)
    // and the write that fills a batch; a drain in progress picks up everything else itself.
    // Signalling only then keeps RxJS off the per-write path.
    const size = this.held.queuedSize;
    if (size === 1 || size === this.options.maxBatchSize) this.enqueued$.next();
  }

  /**
   * Queues the writes and sends them now, ahead of the batch timer, on the serial lane (so after
   * any batch already in flight). Rejects when L2 failed them, or when they are not acknowledged
   * within `waitMs` (`CacheL2TimeoutError`): the writes then stay queued and are retried like any
   * batch, so L2 still converges to them, but the caller is answered in bounded time.
   */
  async writeNow(writes: readonly PendingWrite[], waitMs: number): Promise<void> {
    for (const write of writes) this.enqueue(write);
    const sent = this.lane.run(() => this.send(writes));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      sent,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), waitMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (outcome === 'timeout') throw new CacheL2TimeoutError('write', waitMs);
    const failure = outcome.failed ?? outcome.rejected;
    if (failure !== undefined) throw asWriteError(failure, 'L2 refused the write');
  }

  /**
   * Resolves when every write queued before the call is acknowledged by L2. Rejects with
   * `CacheFlushTimeoutError` after `timeoutMs` (the writes stay queued). Stops waiting, and
   * resolves, when `stop$` emits (the caller checks `pending`).
   */
  async flush(timeoutMs: number, stop$: Observable<unknown> = NEVER): Promise<void> {
    const target = this.seq;
    const done = (): boolean => !this.held.holdsUpTo(target);
    if (done()) return;
    this.held.unpark(Infinity);
    this.kick$.next();
    await firstValueFrom(
      this.settled$.pipe(
        startWith(undefined),
        filter(done),
        timeout({
          first: timeoutMs,
          with: () => throwError(() => new CacheFlushTimeoutError(this.pending, timeoutMs)),
        }),
        takeUntil(stop$),
      ),
      { defaultValue: undefined },
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
    this.closed = true;
    this.subscription.unsubscribe();
    this.wakeTimer.stop();
    const unwritten = this.held.clear();
    this.followUps.clear();
    for (const write of unwritten) {
      this.counters.dropped++;
      this.signals.next({ type: 'dropped', write, reason: 'shutdown' });
    }
    this.signals.complete();
    return unwritten.length;
  }

  /** One drain step: the oldest queued writes; rejects when a batch failed as a whole. */
  private async drainOnce(): Promise<void> {
    const { failed } = await this.send();
    if (failed !== undefined) throw asWriteError(failed, 'L2 write batch failed');
  }

  private async send(
    only?: readonly PendingWrite[],
  ): Promise<{ failed?: unknown; rejected?: unknown }> {
    if (this.closed) return {};
    try {
      return await this.sender.send(only);
    } finally {
      this.scheduleWake();
      this.settled$.next();
    }
  }

  /** Something is to send: drain now, and arm the timer for what falls due later. */
  private wake(): void {
    if (this.closed) return;
    this.scheduleWake();
    this.kick$.next();
  }

  /** Arms one timer for the next parked write or follow-up that falls due. */
  private scheduleWake(): void {
    if (this.closed) return;
    this.wakeTimer.arm(Math.min(this.held.nextDueAt() ?? Infinity, this.followUps.nextDueAt()));
  }

  /** Re-queues what fell due, asks version checks again, then drains. */
  private onTimer(): void {
    const due = this.followUps.takeDue(Date.now());
    for (const write of due.writes) {
      // Only while it is still the last word for its key.
      if (this.held.peek(write.key) === undefined) this.enqueue(write);
    }
    for (const recheck of due.rechecks) this.sender.recheck(recheck);
    this.wake();
  }
}
