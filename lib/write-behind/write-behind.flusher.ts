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
import { CacheL2Error, CacheL2TimeoutError } from '../errors/cache-l2.error.js';
import { CacheOverflowError } from '../errors/cache-overflow.error.js';
import type { CacheCounters } from '../events/cache-stats.js';
import type { L2Ensured } from '../l2/l2-store.interface.js';
import { backoffDelay, toL2Writes } from './batch.js';
import type { BatchCheck, BatchGuard, WriteTarget } from './flusher-ports.js';
import { ParkedWrites } from './parked-writes.js';
import type { PendingDelete, PendingSet, PendingWrite } from './pending-write.js';
import { WriteQueue } from './write-queue.js';
import { isPermanentWriteFailure, mayApplyLater } from './write-failure.js';

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
 * Batches a drain sends at once (distinct keys, `maxBatchSize` writes each). One batch at a time
 * leaves Redis idle while the next is built, and this process idle while Redis applies it; a few
 * in flight keep both busy.
 */
const BATCHES_IN_FLIGHT = 4;

/**
 * How long after a write lands it is sent once more when an earlier write of its key may still be
 * applied late (its batch timed out on a hung server, whose socket still holds it). A hung server
 * runs what its sockets hold as soon as it resumes, so a later write that landed over another
 * connection can be overtaken only within moments of landing: sending it again after this delay
 * makes it the last word. In milliseconds.
 */
export const REASSERT_DELAY_MS = 250;

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

/** How one send went, for a caller waiting on its own writes. */
interface SendOutcome {
  /** The first failure of a given write that is retried (parked or requeued). */
  readonly failed?: unknown;
  /** The first failure of a given write that is dropped for good (refused by L2). */
  readonly rejected?: unknown;
}

/** A batch whose version check was settled before its writes went out. */
const CHECKED = Symbol('version check settled');

interface Send {
  readonly batch: PendingWrite[];
  readonly started: number;
  /** The batch's outcome, with the answers of its version check (or {@link CHECKED}). */
  readonly sending: Promise<readonly L2Ensured[] | typeof CHECKED | undefined>;
  readonly check: BatchCheck | undefined;
}

/** A version check whose answers were lost while writes of its batch landed: asked again. */
interface Recheck {
  readonly check: BatchCheck;
  attempt: number;
  dueAt: number;
}

/** Most version checks kept for another try; beyond, the oldest is given up (a round of misses). */
const MAX_RECHECKS = 64;

/**
 * The write-behind queue: `set()` hands its (encoded) write here and returns; the RxJS pipeline
 * below sends writes to L2 in batches.
 *
 * - Batching: a batch leaves `flushIntervalMs` after the first write of a quiet period, or on the
 *   next turn of the event loop once `maxBatchSize` writes wait; while writes keep coming, batches
 *   go back to back.
 * - Coalescing: the queue holds one write per key (WriteQueue), so a newer write replaces an
 *   older queued one (last write wins) and a key is sent at most once per batch.
 * - Ordering: every L2 mutation of this instance (batches, deletes, write-through sets) runs
 *   on one serial lane, and a failed write is retried only if no newer write of its key exists.
 *   So a delete issued while the key's batch is in flight lands after it. A batch that timed out
 *   may still be applied by a hung server when it resumes, after a newer write that went over a
 *   new connection: the newer write is sent once more {@link REASSERT_DELAY_MS} after it landed.
 * - Failures per key: writes that failed alone (their shard or node is down) are parked with
 *   their own backoff (ParkedWrites) while the rest keep landing. A batch that failed as a whole
 *   (L2 unreachable, timed out) is retried with exponential backoff and jitter; its writes wait
 *   in the queue meanwhile, so newer writes supersede them.
 * - Versions: each batch makes sure the version keys its entries are stamped with exist, and sends
 *   again, re-stamped, entries whose version key was re-created after a loss (BatchGuard).
 * - Bounded: at most `maxPending` writes are held, queued, parked and in flight alike. Past it,
 *   `overflow` decides: `'drop-oldest'` drops the oldest write by call order, even one in flight
 *   (its batch no longer counts for it; since it may land anyway, a delete of its key follows),
 *   so the writes kept are always the newest.
 *
 * NOTE: the queue lives in keyed structures rather than inside RxJS buffers because deletes
 * must cancel queued writes and retries must see newer writes; RxJS drives the timing, draining
 * and backoff.
 */
export class WriteBehindFlusher {
  private readonly queued = new WriteQueue();
  private readonly parked = new ParkedWrites();
  private readonly inFlight = new Map<string, PendingWrite>();
  /** In-flight writes dropped for room: whatever their batch answers, a delete follows. */
  private readonly droppedInFlight = new WeakSet<PendingWrite>();
  /** Deletes that undo dropped in-flight writes, sent with the next batch. */
  private readonly revocations = new Map<string, PendingDelete>();
  /** Keys whose last failed write may still be applied late (see {@link REASSERT_DELAY_MS}). */
  private readonly suspects = new Set<string>();
  /**
   * Writes to send once more at `dueAt`, by key: re-assertions (see {@link REASSERT_DELAY_MS}) and
   * revocations waiting out a failure. A newer write of the key cancels its entry.
   */
  private readonly reasserts = new Map<string, { write: PendingWrite; dueAt: number }>();
  private rechecks: Recheck[] = [];
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private seq = 0;
  private closed = false;
  private lane: Promise<unknown> = Promise.resolve();
  private readonly enqueued$ = new Subject<void>();
  private readonly kick$ = new Subject<void>();
  private readonly settled$ = new Subject<void>();
  private readonly signals = new Subject<FlusherSignal>();
  private readonly subscription: Subscription;

  /** Batches landed, failures and drops, for events and the invalidation bus. */
  readonly signals$: Observable<FlusherSignal> = this.signals.asObservable();

  constructor(
    private readonly remote: WriteTarget,
    private readonly options: FlusherOptions,
    private readonly counters: CacheCounters,
    private readonly guard?: BatchGuard,
  ) {
    const drain$ = defer(() => this.inLane(() => this.drainOnce())).pipe(
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
      repeat({ delay: () => (this.hasWork() ? of(0) : EMPTY) }),
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

  /** Writes held: queued, parked after a failure, or in flight. */
  get pending(): number {
    return this.queued.size + this.parked.size + this.inFlight.size;
  }

  /** A number ordering this write after every earlier one of this instance. */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The newest write of `key` not yet acknowledged by L2 (read-your-writes before the flush). */
  peek(key: string): PendingWrite | undefined {
    return this.queued.get(key) ?? this.parked.get(key) ?? this.inFlight.get(key);
  }

  /**
   * With `overflow: 'reject'`, throws `CacheOverflowError` when a new key would exceed
   * `maxPending`. Call before changing L1, so a refused write changes nothing.
   */
  checkCapacity(key: string, userKey: string): void {
    if (
      this.options.overflow === 'reject' &&
      this.pending >= this.options.maxPending &&
      !this.queued.has(key) &&
      !this.parked.has(key)
    ) {
      throw new CacheOverflowError(userKey, this.options.maxPending);
    }
  }

  /** Queues a write for the next batch, replacing any queued or parked write of the same key. */
  enqueue(write: PendingWrite): void {
    // The size checks first: this is the path of every set(), and these are rarely non-empty.
    if (this.parked.size > 0) this.parked.remove(write.key);
    // Superseded: a newer write of the key makes its re-assertion or revocation moot.
    if (this.reasserts.size > 0) this.reasserts.delete(write.key);
    if (this.revocations.size > 0) this.revocations.delete(write.key);
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
   * any batch already in flight). Rejects when L2 failed them, or when they are not acknowledged
   * within `waitMs` (`CacheL2TimeoutError`): the writes then stay queued and are retried like any
   * batch, so L2 still converges to them, but the caller is answered in bounded time.
   */
  async writeNow(writes: readonly PendingWrite[], waitMs: number): Promise<void> {
    for (const write of writes) this.enqueue(write);
    const sent = this.inLane(() => this.send(writes));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      sent,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), waitMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (outcome === 'timeout') throw new CacheL2TimeoutError('write', waitMs);
    const failure = outcome.failed ?? outcome.rejected;
    if (failure !== undefined) {
      throw failure instanceof Error
        ? failure
        : new CacheL2Error('write', 'L2 refused the write', { cause: failure });
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
    this.unpark(Infinity);
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
    this.closed = true;
    this.subscription.unsubscribe();
    clearTimeout(this.wakeTimer);
    const unwritten = [...this.queued.clear(), ...this.parked.clear(), ...this.inFlight.values()];
    this.inFlight.clear();
    this.revocations.clear();
    this.reasserts.clear();
    this.rechecks = [];
    for (const write of unwritten) {
      this.counters.dropped++;
      this.signals.next({ type: 'dropped', write, reason: 'shutdown' });
    }
    this.signals.complete();
    return unwritten.length;
  }

  private hasWork(): boolean {
    return this.queued.size > 0 || this.revocations.size > 0;
  }

  private holdsWritesUpTo(target: number): boolean {
    for (const write of this.inFlight.values()) if (write.seq <= target) return true;
    const oldest = this.queued.oldest();
    if (oldest !== undefined && oldest.seq <= target) return true;
    const parked = this.parked.oldest();
    return parked !== undefined && parked.seq <= target;
  }

  /**
   * Drops the oldest writes by call order (`seq`), queued, parked or in flight, until at most
   * `limit` are held.
   */
  private makeRoom(limit = this.options.maxPending - 1): void {
    if (this.options.overflow !== 'drop-oldest') return;
    while (this.pending > limit) {
      const queued = this.queued.oldest();
      const parked = this.parked.oldest();
      const flying = this.inFlight.values().next().value;
      let oldest = queued;
      if (parked !== undefined && (oldest === undefined || parked.seq < oldest.seq))
        oldest = parked;
      if (flying !== undefined && (oldest === undefined || flying.seq < oldest.seq))
        oldest = flying;
      if (oldest === undefined) return;
      if (oldest === queued) this.queued.remove(oldest);
      else if (oldest === parked) this.parked.remove(oldest.key);
      else {
        this.inFlight.delete(oldest.key);
        this.droppedInFlight.add(oldest);
      }
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

  /** One drain step: the oldest queued writes; rejects when a batch failed as a whole. */
  private async drainOnce(): Promise<void> {
    const { failed } = await this.send();
    if (failed !== undefined) {
      throw failed instanceof Error
        ? failed
        : new CacheL2Error('write', 'L2 write batch failed', { cause: failed });
    }
  }

  /**
   * Sends the given writes if they are still the newest of their keys, else up to
   * {@link BATCHES_IN_FLIGHT} batches of the oldest `maxBatchSize` queued writes each (with the
   * parked writes that are due, and pending revocations), all at once: their keys are distinct,
   * since the queue holds one write per key.
   */
  private async send(only?: readonly PendingWrite[]): Promise<SendOutcome> {
    if (this.closed) return {};
    if (only === undefined) this.unpark(Date.now());
    // Before the queue is taken: a revocation whose key has a newer write queued is moot.
    const revoking = only ? [] : this.takeRevocations();
    const picked = only
      ? only.filter((write) => this.queued.remove(write))
      : this.queued.take(this.options.maxBatchSize * BATCHES_IN_FLIGHT);
    this.scheduleWake();
    if (picked.length === 0 && revoking.length === 0) return {};
    for (const write of picked) this.inFlight.set(write.key, write);
    const batches: PendingWrite[][] = [];
    for (let start = 0; start < picked.length; start += this.options.maxBatchSize) {
      batches.push(picked.slice(start, start + this.options.maxBatchSize));
    }
    if (revoking.length > 0) {
      if (batches.length === 0) batches.push([]);
      batches[0]!.unshift(...revoking);
    }
    try {
      const sends = batches.map((batch) => this.sendOne(batch));
      const outcomes = await Promise.allSettled(sends.map((send) => send.sending));
      const mine = only === undefined ? undefined : new Set(only);
      let failed: unknown;
      let rejected: unknown;
      outcomes.forEach((outcome, i) => {
        const { batch, started, check } = sends[i]!;
        const result = this.settle(batch, outcome, performance.now() - started, mine);
        failed ??= result.failed;
        rejected ??= result.rejected;
        if (check === undefined) return;
        const answers = outcome.status === 'fulfilled' ? outcome.value : undefined;
        if (answers === CHECKED) return;
        if (answers !== undefined) this.resendAll(check.settle(answers));
        // Writes landed but their version keys were not confirmed: ask again later.
        else if (outcome.status === 'fulfilled' || outcome.reason instanceof CacheBatchError) {
          this.recheckLater({ check, attempt: 0, dueAt: 0 });
        }
      });
      // A caller's batch that failed as a whole left its writes queued: the drain takes them
      // from here, with its backoff.
      if (only !== undefined && this.queued.size > 0) this.kick$.next();
      return { failed, rejected };
    } finally {
      this.settled$.next();
    }
  }

  /** Puts one batch on the wire, with the check of the version keys it depends on. */
  private sendOne(batch: PendingWrite[]): Send {
    const check = this.guard?.check(batch);
    const started = performance.now();
    if (check?.first !== true) {
      const sending = this.remote.write(toL2Writes(batch, Date.now()), check?.requests);
      return { batch, started, sending, check };
    }
    // Some entry carries no token for a version key yet (a tag new to this instance): learn the
    // tokens first and re-stamp in place, one more round trip, rather than write twice. If that
    // fails, the batch goes as it is and its check is asked again later.
    const sending = this.remote
      .ensure(check.requests)
      .then(
        (answers): typeof CHECKED => {
          this.restampInPlace(batch, check.settle(answers));
          return CHECKED;
        },
        () => undefined,
      )
      .then(async (answers) => {
        await this.remote.write(toL2Writes(batch, Date.now()));
        return answers;
      });
    return { batch, started, sending, check };
  }

  /** Puts re-stamped writes in place of their originals in a batch about to be sent. */
  private restampInPlace(batch: PendingWrite[], restamped: readonly PendingSet[]): void {
    if (restamped.length === 0) return;
    const at = new Map(batch.map((write, i) => [write.key, i]));
    for (const write of restamped) {
      const i = at.get(write.key);
      if (i === undefined || batch[i]!.seq !== write.seq) continue;
      if (this.inFlight.get(write.key) === batch[i]) this.inFlight.set(write.key, write);
      batch[i] = write;
    }
  }

  /**
   * Settles one batch: landed writes are reported; writes that failed alone are parked with their
   * backoff (or dropped, when L2 refuses them for good); after a failure of the whole batch its
   * writes go back to the front of the queue and the failure is returned (the drain backs off).
   * `mine`: the writes a caller waits for, whose failures it must hear about.
   */
  private settle(
    batch: readonly PendingWrite[],
    outcome: PromiseSettledResult<unknown>,
    durationMs: number,
    mine: ReadonlySet<PendingWrite> | undefined,
  ): SendOutcome {
    if (outcome.status === 'fulfilled') {
      this.landed(batch, durationMs);
      return {};
    }
    const error: unknown = outcome.reason;
    const alone = error instanceof CacheBatchError;
    const failures = new Map<number, unknown>(
      alone
        ? error.failedIndexes.map((index, j) => [index, error.errors[j]])
        : batch.map((_, j) => [j, error]),
    );
    this.landed(
      batch.filter((_, j) => !failures.has(j)),
      durationMs,
    );
    const retry: PendingWrite[] = [];
    // A whole failure makes the drain back off, whatever became of each write.
    let failed: unknown = mine === undefined && !alone ? error : undefined;
    let rejected: unknown;
    for (const [index, reason] of failures) {
      const write = batch[index];
      if (write === undefined || !this.release(write, reason)) continue;
      if (isPermanentWriteFailure(reason)) {
        // Retrying cannot help (e.g. NOPERM): report it instead of holding the queue forever.
        this.counters.dropped++;
        if (mine === undefined || mine.has(write)) rejected ??= reason;
        this.signals.next({ type: 'dropped', write, reason: 'rejected', error: reason });
        continue;
      }
      retry.push(write);
      if (mine?.has(write)) failed ??= reason;
    }
    if (alone) this.park(retry, error);
    else this.queued.prepend(retry);
    return { failed, rejected };
  }

  /**
   * Takes a failed write out of flight. Returns whether it is to be retried: not when it was
   * dropped for room (its key is revoked instead), a revocation (sent again with the next batch),
   * or superseded by a newer write of its key.
   */
  private release(write: PendingWrite, reason: unknown): boolean {
    if (this.inFlight.get(write.key) === write) this.inFlight.delete(write.key);
    if (mayApplyLater(reason)) this.suspects.add(write.key);
    if (this.droppedInFlight.has(write)) {
      this.revoke(write);
      return false;
    }
    if (write.kind === 'del' && write.revokes) {
      // Not a caller's write, not counted as pending: retried apart, with its own backoff.
      write.failures = (write.failures ?? 0) + 1;
      const delay = backoffDelay(
        write.failures,
        this.options.retryBaseDelayMs,
        this.options.retryMaxDelayMs,
      );
      this.reasserts.set(write.key, { write, dueAt: Date.now() + delay });
      this.scheduleWake();
      return false;
    }
    return !this.queued.has(write.key) && !this.parked.has(write.key);
  }

  /** Parks writes that failed alone, with a backoff that grows with their failures. */
  private park(writes: readonly PendingWrite[], error: unknown): void {
    if (writes.length === 0) return;
    let attempt = 0;
    for (const write of writes)
      attempt = Math.max(attempt, (write.failures = (write.failures ?? 0) + 1));
    const retryInMs = backoffDelay(
      attempt,
      this.options.retryBaseDelayMs,
      this.options.retryMaxDelayMs,
    );
    this.parked.park(writes, Date.now() + retryInMs);
    this.counters.retries++;
    this.signals.next({ type: 'failed', count: writes.length, attempt, retryInMs, error });
    this.scheduleWake();
  }

  /** Reports writes that reached L2; schedules those of suspect keys to be sent once more. */
  private landed(writes: readonly PendingWrite[], durationMs: number): void {
    if (writes.length === 0) return;
    let count = 0;
    for (const write of writes) {
      if (this.inFlight.get(write.key) === write) this.inFlight.delete(write.key);
      if (this.suspects.delete(write.key)) {
        this.reasserts.set(write.key, { write, dueAt: Date.now() + REASSERT_DELAY_MS });
        this.scheduleWake();
      }
      if (this.droppedInFlight.has(write)) this.revoke(write);
      else if (!(write.kind === 'del' && write.revokes)) count++;
    }
    this.counters.flushed += count;
    this.counters.batches++;
    this.counters.flushDurationMsTotal += durationMs;
    this.signals.next({ type: 'landed', writes, durationMs });
  }

  /** Moves the parked writes due by `now` to the front of the queue. */
  private unpark(now: number): void {
    const due = this.parked.takeDue(now);
    if (due.length > 0) this.queued.prepend(due.filter((write) => !this.queued.has(write.key)));
  }

  /** Queues a delete that undoes `write` (dropped while in flight) with the next batch. */
  private revoke(write: PendingWrite): void {
    const newer = this.peek(write.key);
    if (newer !== undefined && newer.seq > write.seq) return; // it will overwrite the key anyway
    this.revocations.set(write.key, {
      kind: 'del',
      key: write.key,
      seq: write.seq,
      revokes: true,
    });
    this.kick$.next();
  }

  /** The revocations to send now: those of keys with no newer write on its way. */
  private takeRevocations(): PendingDelete[] {
    const out: PendingDelete[] = [];
    for (const revocation of this.revocations.values()) {
      if (!this.queued.has(revocation.key) && !this.parked.has(revocation.key)) {
        out.push(revocation);
      }
    }
    this.revocations.clear();
    return out;
  }

  private resendAll(writes: readonly PendingSet[]): void {
    for (const write of writes) this.resend(write);
  }

  /** Keeps a version check for another try, with backoff; at most {@link MAX_RECHECKS}. */
  private recheckLater(recheck: Recheck): void {
    recheck.attempt++;
    recheck.dueAt =
      Date.now() +
      backoffDelay(recheck.attempt, this.options.retryBaseDelayMs, this.options.retryMaxDelayMs);
    this.rechecks.push(recheck);
    if (this.rechecks.length > MAX_RECHECKS) this.rechecks.shift();
    this.scheduleWake();
  }

  /** Asks L2 again for the version keys of a batch that landed, and re-sends what it says to. */
  private recheck(recheck: Recheck): void {
    this.remote.ensure(recheck.check.requests).then(
      (answers) => this.resendAll(recheck.check.settle(answers)),
      () => {
        if (!this.closed) this.recheckLater(recheck);
      },
    );
  }

  /**
   * Sends a re-stamped set (see BatchGuard) in place of its original: replaces the original if
   * it is still queued or parked, or queues it if the original left; never over a newer write.
   */
  private resend(write: PendingSet): void {
    const current = this.queued.get(write.key) ?? this.parked.get(write.key);
    if (current !== undefined && current.seq > write.seq) return;
    if (current !== undefined && this.parked.get(write.key) === current) {
      this.parked.replace(current, write);
      return;
    }
    const flying = this.inFlight.get(write.key);
    if (flying !== undefined && flying.seq > write.seq) return;
    this.enqueue(write);
    this.kick$.next();
  }

  /** Arms one timer for the next parked write or re-assertion that falls due. */
  private scheduleWake(): void {
    if (this.closed) return;
    const next = Math.min(
      this.parked.nextDueAt() ?? Infinity,
      ...[...this.reasserts.values()].map((r) => r.dueAt),
      ...this.rechecks.map((r) => r.dueAt),
    );
    if (next === Infinity || next >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = next;
    this.wakeTimer = setTimeout(() => this.wake(), Math.max(0, next - Date.now()));
    // A cache must never keep the process alive.
    this.wakeTimer.unref();
  }

  /** Re-queues what fell due, then drains. */
  private wake(): void {
    this.wakeTimer = undefined;
    this.wakeAt = Infinity;
    const now = Date.now();
    const due: PendingWrite[] = [];
    for (const [key, { write, dueAt }] of this.reasserts) {
      if (dueAt > now) continue;
      this.reasserts.delete(key);
      due.push(write);
    }
    for (const write of due) {
      // Only while it is still the last word for its key.
      if (this.peek(write.key) !== undefined) continue;
      if (write.kind === 'del' && write.revokes) this.revocations.set(write.key, write);
      else this.enqueue(write);
    }
    const rechecks = this.rechecks.filter((r) => r.dueAt <= now);
    this.rechecks = this.rechecks.filter((r) => r.dueAt > now);
    for (const recheck of rechecks) this.recheck(recheck);
    this.scheduleWake();
    this.kick$.next();
  }
}
