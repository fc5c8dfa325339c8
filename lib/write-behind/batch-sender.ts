import type { Subject } from 'rxjs';
import { CacheBatchError } from '../errors/l2.errors.js';
import type { CacheCounters } from '../events/cache-stats.js';
import type { L2Ensured } from '../contracts/l2-store.interface.js';
import { backoffDelay, toL2Writes } from './batch.js';
import type { FlusherOptions, FlusherSignal } from './flusher-signal.js';
import type { BatchCheck, BatchGuard, FrameWrite, WriteTarget } from './flusher-ports.js';
import type { FollowUps, Recheck } from './follow-ups.js';
import type { HeldWrites } from './held-writes.js';
import type { PendingSet, PendingWrite } from './pending-write.js';
import { isPermanentWriteFailure, mayApplyLater } from './write-failure.js';

/**
 * Batches one send puts on the wire at once (distinct keys, `maxBatchSize` writes each). One batch
 * at a time leaves Redis idle while the next is built, and this process idle while Redis applies
 * it; a few in flight keep both busy.
 */
const BATCHES_IN_FLIGHT = 4;

/**
 * With `replicas`, one batch at a time: each batch's WAIT blocks the write connection, so with a
 * replica down the k-th batch in flight would answer only after k WAIT timeouts, past the call's
 * own timeout (which would count against the circuit breaker though Redis answers).
 */
const DURABLE_BATCHES_IN_FLIGHT = 1;

/** A batch whose version check was settled before its writes went out. */
const CHECKED = Symbol('version check settled');

/** How one send went, for a caller waiting on its own writes. */
export interface SendOutcome {
  /** The first failure of a given write that is retried (parked or requeued). */
  readonly failed?: unknown;
  /** The first failure of a given write that is dropped for good (refused by L2). */
  readonly rejected?: unknown;
}

interface Send {
  readonly batch: PendingWrite[];
  readonly started: number;
  /** The batch's outcome, with the answers of its version check (or {@link CHECKED}). */
  readonly sending: Promise<readonly L2Ensured[] | typeof CHECKED | undefined>;
  readonly check: BatchCheck | undefined;
}

/** What the sender needs of the queue around it. */
export interface SenderHost {
  readonly held: HeldWrites;
  readonly followUps: FollowUps;
  readonly counters: CacheCounters;
  readonly signals: Subject<FlusherSignal>;
  /** Queues a write again (a re-stamped copy whose original left). */
  enqueue(write: PendingWrite): void;
  /** Something new to send or a time to wake at: start a drain, re-arm the timer. */
  wake(): void;
  /** Whether a send may take more queued writes (the queue is open, no other task waits). */
  mayContinue(): boolean;
  /** One batch settled (a flush waiting on its writes looks again). */
  settledOne(): void;
}

/**
 * Sends writes to L2 and settles what came back, per write: landed writes are reported; writes
 * that failed alone wait out their own backoff (parked); after a failure of a whole batch its
 * writes go back to the front of the queue and the failure is returned (the drain backs off).
 * Each batch carries the check of the version keys its entries depend on (BatchGuard).
 */
export class BatchSender {
  private readonly batchesInFlight: number;

  constructor(
    private readonly remote: WriteTarget,
    private readonly options: FlusherOptions,
    private readonly host: SenderHost,
    private readonly guard: BatchGuard | undefined,
    private readonly frame: FrameWrite,
  ) {
    this.batchesInFlight =
      (options.replicas ?? 0) > 0 ? DURABLE_BATCHES_IN_FLIGHT : BATCHES_IN_FLIGHT;
  }

  /**
   * Sends the given writes if they are still the newest of their keys, else the oldest queued
   * writes (with the parked writes that are due, and pending revocations) in batches of
   * `maxBatchSize`, up to {@link BATCHES_IN_FLIGHT} at a time. As each batch settles, the next
   * queued writes take its place (see {@link refill}), so this process frames a batch while Redis
   * applies the others: waiting for all of them before taking more left each side idle in turn.
   */
  async send(only?: readonly PendingWrite[]): Promise<SendOutcome> {
    const { held, followUps } = this.host;
    if (only === undefined) held.unpark(Date.now());
    // Before the queue is taken: a revocation whose key has a newer write queued is moot.
    const revoking = only ? [] : followUps.takeRevocations((key) => held.isWaiting(key));
    const picked = only
      ? held.takeOnly(only)
      : held.take(this.options.maxBatchSize * this.batchesInFlight);
    if (picked.length === 0 && revoking.length === 0) return {};
    const batches: PendingWrite[][] = [];
    for (let start = 0; start < picked.length; start += this.options.maxBatchSize) {
      batches.push(picked.slice(start, start + this.options.maxBatchSize));
    }
    if (revoking.length > 0) {
      if (batches.length === 0) batches.push([]);
      batches[0]!.unshift(...revoking);
    }
    const mine = only === undefined ? undefined : new Set(only);
    const outcome: { failed?: unknown; rejected?: unknown } = {};
    let wholeFailure = false;
    await new Promise<void>((done, fail) => {
      let open = 0;
      const launch = (batch: PendingWrite[]): void => {
        const send = this.sendOne(batch);
        open++;
        const onSettled = (settled: PromiseSettledResult<Awaited<Send['sending']>>): void => {
          open--;
          if (settled.status === 'rejected' && !(settled.reason instanceof CacheBatchError)) {
            wholeFailure = true;
          }
          const putBack: PendingWrite[] = [];
          const result = this.settleSend(send, settled, mine, putBack);
          // At once, so a flush looking below never finds them neither queued nor in flight.
          // They go back in call order (`seq`), before every queued write: no refill follows a
          // failure of a whole batch, so nothing newer of their keys left meanwhile.
          held.requeue(putBack);
          outcome.failed ??= result.failed;
          outcome.rejected ??= result.rejected;
          const next = only === undefined && !wholeFailure ? this.refill() : [];
          if (next.length > 0) launch(next);
          this.host.settledOne();
          if (open === 0) done();
        };
        send.sending
          .then(
            (value) => onSettled({ status: 'fulfilled', value }),
            (reason: unknown) => onSettled({ status: 'rejected', reason }),
          )
          .catch(fail);
      };
      for (const batch of batches) launch(batch);
    });
    // A caller's batch that failed as a whole left its writes queued: the drain takes them from
    // here, with its backoff.
    if (only !== undefined && held.queuedSize > 0) this.host.wake();
    return outcome;
  }

  /**
   * The next batch to send in place of one that settled: none when another L2 mutation waits for
   * the lane (this send then ends with the batches in flight, so a delete is not held up behind
   * a stream of sets), else the oldest queued writes up to the first whose key is still in flight.
   */
  private refill(): PendingWrite[] {
    if (!this.host.mayContinue()) return [];
    return this.host.held.takeBehindFlight(this.options.maxBatchSize);
  }

  /** Settles one batch and its version check. */
  private settleSend(
    send: Send,
    outcome: PromiseSettledResult<Awaited<Send['sending']>>,
    mine: ReadonlySet<PendingWrite> | undefined,
    putBack: PendingWrite[],
  ): SendOutcome {
    const { batch, started, check } = send;
    const result = this.settle(batch, outcome, performance.now() - started, mine, putBack);
    if (check === undefined) return result;
    const answers = outcome.status === 'fulfilled' ? outcome.value : undefined;
    if (answers === CHECKED) return result;
    if (answers !== undefined) this.resendAll(check.settle(answers));
    // Writes landed but their version keys were not confirmed: ask again later.
    else if (outcome.status === 'fulfilled' || outcome.reason instanceof CacheBatchError) {
      this.recheckLater({ check, attempt: 0, dueAt: 0 });
    }
    return result;
  }

  /** Asks L2 again for the version keys of a batch that landed, and re-sends what it says to. */
  recheck(recheck: Recheck): void {
    this.remote.ensure(recheck.check.requests).then(
      (answers) => this.resendAll(recheck.check.settle(answers)),
      () => this.recheckLater(recheck),
    );
  }

  /**
   * Puts one batch on the wire, with the check of the version keys it depends on. Never throws: a
   * batch that cannot be framed or handed over fails as a whole, like one L2 refused.
   */
  private sendOne(batch: PendingWrite[]): Send {
    try {
      return this.putOnWire(batch);
    } catch (error) {
      return {
        batch,
        started: performance.now(),
        sending: Promise.reject(error instanceof Error ? error : new Error(String(error))),
        check: undefined,
      };
    }
  }

  private putOnWire(batch: PendingWrite[]): Send {
    const check = this.guard?.check(batch);
    const started = performance.now();
    if (check?.first !== true) {
      const sending = this.remote.write(toL2Writes(batch, Date.now(), this.frame), check?.requests);
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
        await this.remote.write(toL2Writes(batch, Date.now(), this.frame));
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
      this.host.held.swapInFlight(batch[i]!, write);
      batch[i] = write;
    }
  }

  /**
   * Settles one batch (see the class). `mine`: the writes a caller waits for, whose failures it
   * must hear about; `putBack`: collects the writes of a batch that failed as a whole.
   */
  private settle(
    batch: readonly PendingWrite[],
    outcome: PromiseSettledResult<unknown>,
    durationMs: number,
    mine: ReadonlySet<PendingWrite> | undefined,
    putBack: PendingWrite[],
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
        this.host.counters.dropped++;
        if (mine === undefined || mine.has(write)) rejected ??= reason;
        this.host.signals.next({ type: 'dropped', write, reason: 'rejected', error: reason });
        continue;
      }
      retry.push(write);
      if (mine?.has(write)) failed ??= reason;
    }
    if (alone) this.park(retry, error);
    else putBack.push(...retry);
    return { failed, rejected };
  }

  /**
   * Takes a failed write out of flight. Returns whether it is to be retried: not when it was
   * dropped for room (its key is revoked instead), a revocation (retried apart), or superseded
   * by a newer write of its key.
   */
  private release(write: PendingWrite, reason: unknown): boolean {
    const { held, followUps } = this.host;
    const dropped = held.leaveFlight(write);
    if (mayApplyLater(reason)) followUps.suspect(write.key);
    if (dropped) {
      this.revoke(write);
      return false;
    }
    if (write.kind === 'del' && write.revokes) {
      // Not a caller's write, not counted as pending: retried apart, with its own backoff.
      write.failures = (write.failures ?? 0) + 1;
      followUps.retryLater(write, Date.now() + this.backoff(write.failures));
      this.host.wake();
      return false;
    }
    return !held.isWaiting(write.key);
  }

  /** Parks writes that failed alone, with a backoff that grows with their failures. */
  private park(writes: readonly PendingWrite[], error: unknown): void {
    if (writes.length === 0) return;
    let attempt = 0;
    for (const write of writes) {
      attempt = Math.max(attempt, (write.failures = (write.failures ?? 0) + 1));
    }
    const retryInMs = this.backoff(attempt);
    this.host.held.park(writes, Date.now() + retryInMs);
    this.host.counters.retries++;
    this.host.signals.next({ type: 'failed', count: writes.length, attempt, retryInMs, error });
    this.host.wake();
  }

  /** Reports writes that reached L2; schedules those of suspect keys to be sent once more. */
  private landed(writes: readonly PendingWrite[], durationMs: number): void {
    if (writes.length === 0) return;
    const { held, followUps, counters } = this.host;
    let count = 0;
    // A newer write of the key still held takes any re-assertion over (FollowUps.cancel).
    const superseded = (key: string): boolean => held.peek(key) !== undefined;
    for (const write of writes) {
      const dropped = held.leaveFlight(write);
      followUps.landed(write, superseded);
      if (dropped) this.revoke(write);
      else if (!(write.kind === 'del' && write.revokes)) count++;
    }
    counters.flushed += count;
    counters.batches++;
    counters.flushDurationMsTotal += durationMs;
    this.host.signals.next({ type: 'landed', writes, durationMs });
    this.host.wake();
  }

  /** Queues a delete that undoes `write` (dropped while in flight) with the next batch. */
  private revoke(write: PendingWrite): void {
    const newer = this.host.held.peek(write.key);
    if (newer !== undefined && newer.seq > write.seq) return; // it will overwrite the key anyway
    this.host.followUps.revoke(write);
  }

  private recheckLater(recheck: Recheck): void {
    recheck.attempt++;
    recheck.dueAt = Date.now() + this.backoff(recheck.attempt);
    this.host.followUps.recheckLater(recheck);
    this.host.wake();
  }

  /**
   * Sends re-stamped sets (see BatchGuard) in place of their originals: replaced where they
   * wait, or queued when the original left; never over a newer write.
   */
  private resendAll(writes: readonly PendingSet[]): void {
    for (const write of writes) {
      if (this.host.held.place(write) === 'queue') this.host.enqueue(write);
    }
    if (writes.length > 0) this.host.wake();
  }

  private backoff(attempt: number): number {
    return backoffDelay(attempt, this.options.retryBaseDelayMs, this.options.retryMaxDelayMs);
  }
}
