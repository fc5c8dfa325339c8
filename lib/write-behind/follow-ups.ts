import type { BatchCheck } from './flusher-ports.js';
import type { PendingDelete, PendingWrite } from './pending-write.js';

/**
 * How long after a write lands it is sent once more when an earlier write of its key may still be
 * applied late (its batch timed out on a hung server, whose socket still holds it). A hung server
 * runs what its sockets hold as soon as it resumes, so a later write that landed over another
 * connection can be overtaken only within moments of landing: sending it again after this delay
 * makes it the last word. In milliseconds.
 */
export const REASSERT_DELAY_MS = 250;

/** Most version checks kept for another try; beyond, the oldest is given up (a round of misses). */
const MAX_RECHECKS = 64;

/** A version check whose answers were lost while writes of its batch landed: asked again. */
export interface Recheck {
  readonly check: BatchCheck;
  attempt: number;
  dueAt: number;
}

/** What fell due: writes to send again, revocations to send, version checks to ask again. */
export interface DueFollowUps {
  readonly writes: PendingWrite[];
  readonly rechecks: Recheck[];
}

/**
 * The write-behind queue's work after a batch, none of which a caller waits for or counts as
 * pending:
 *
 * - **re-assertions**: a write whose batch timed out may still run on a server that resumes; the
 *   next write of its key that lands is sent once more {@link REASSERT_DELAY_MS} later;
 * - **revocations**: a `DEL` undoing a write dropped for room while in flight (it may land
 *   anyway), sent with the next batch, and retried with backoff when it fails;
 * - **re-checks**: a batch's version check whose answers were lost, asked again with backoff.
 *
 * A newer write of a key cancels its revocation and takes its re-assertion over ({@link cancel}).
 */
export class FollowUps {
  private readonly revocations = new Map<string, PendingDelete>();
  /** Keys whose last failed write may still be applied late. */
  private readonly suspects = new Set<string>();
  /** Writes (re-assertions, revocations after a failure) to send again at `dueAt`, by key. */
  private readonly later = new Map<string, { write: PendingWrite; dueAt: number }>();
  private rechecks: Recheck[] = [];

  get hasRevocations(): boolean {
    return this.revocations.size > 0;
  }

  /**
   * `write` was queued: what was to follow an older write of its key is moot. A re-assertion not
   * yet sent passes to `write`: the late write it guards against may overtake `write` just the same.
   */
  cancel(write: PendingWrite): void {
    const { key } = write;
    // The size checks first: this is the path of every set().
    if (this.later.size > 0) {
      const pending = this.later.get(key);
      if (pending !== undefined && pending.write !== write) {
        this.later.delete(key);
        if (!(pending.write.kind === 'del' && pending.write.revokes)) this.suspects.add(key);
      }
    }
    if (this.revocations.size > 0) this.revocations.delete(key);
  }

  /** A write of `key` failed in a way that may still apply it later. */
  suspect(key: string): void {
    this.suspects.add(key);
  }

  /** Whether an earlier write of `key` failed in a way that may still apply it later. */
  isSuspect(key: string): boolean {
    return this.suspects.has(key);
  }

  /**
   * `write` landed: if an earlier write of its key may still apply, send it once more later.
   * Nothing when a newer write of its key is held (`superseded(key)`): the suspicion is that write's
   * to act on when it lands, and sending this one again after it would bring the older value back.
   */
  landed(write: PendingWrite, superseded: (key: string) => boolean): void {
    // Asked only of suspect keys: this runs for every write that lands.
    if (this.suspects.size === 0 || !this.suspects.has(write.key) || superseded(write.key)) return;
    this.suspects.delete(write.key);
    this.later.set(write.key, { write, dueAt: Date.now() + REASSERT_DELAY_MS });
  }

  /** Queues a `DEL` undoing `write` (dropped while in flight) for the next batch. */
  revoke(write: PendingWrite): void {
    this.revocations.set(write.key, { kind: 'del', key: write.key, seq: write.seq, revokes: true });
  }

  /** A revocation failed: send it again at `dueAt`. */
  retryLater(revocation: PendingDelete, dueAt: number): void {
    this.later.set(revocation.key, { write: revocation, dueAt });
  }

  /** The revocations to send now: those of keys with no newer write waiting. */
  takeRevocations(isWaiting: (key: string) => boolean): PendingDelete[] {
    const out = [...this.revocations.values()].filter((revocation) => !isWaiting(revocation.key));
    this.revocations.clear();
    return out;
  }

  /** Keeps a version check for another try at `dueAt`; at most {@link MAX_RECHECKS}. */
  recheckLater(recheck: Recheck): void {
    this.rechecks.push(recheck);
    if (this.rechecks.length > MAX_RECHECKS) this.rechecks.shift();
  }

  /** When the next follow-up falls due (epoch ms), `Infinity` when none. */
  nextDueAt(): number {
    let next = Infinity;
    for (const { dueAt } of this.later.values()) next = Math.min(next, dueAt);
    for (const { dueAt } of this.rechecks) next = Math.min(next, dueAt);
    return next;
  }

  /**
   * Removes and returns what fell due by `now`; revocations among the writes go back to the
   * revocations sent with the next batch.
   */
  takeDue(now: number): DueFollowUps {
    const writes: PendingWrite[] = [];
    for (const [key, { write, dueAt }] of this.later) {
      if (dueAt > now) continue;
      this.later.delete(key);
      if (write.kind === 'del' && write.revokes) this.revocations.set(key, write);
      else writes.push(write);
    }
    const rechecks = this.rechecks.filter((recheck) => recheck.dueAt <= now);
    this.rechecks = this.rechecks.filter((recheck) => recheck.dueAt > now);
    return { writes, rechecks };
  }

  clear(): void {
    this.revocations.clear();
    this.suspects.clear();
    this.later.clear();
    this.rechecks = [];
  }
}
