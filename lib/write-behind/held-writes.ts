import { ParkedWrites } from './parked-writes.js';
import type { PendingSet, PendingWrite } from './pending-write.js';
import { WriteQueue } from './write-queue.js';

/**
 * Every write the write-behind queue holds, in its three places: queued (WriteQueue, one per key,
 * oldest first), parked after failing alone (ParkedWrites), and in flight. `size` counts all
 * three, which is what `maxPending` bounds; {@link dropOldest} finds the oldest write by call
 * order (`seq`) wherever it is.
 *
 * An in-flight write dropped for room leaves the count at once; its batch then no longer counts
 * for it ({@link droppedInFlight}).
 */
export class HeldWrites {
  private readonly queued = new WriteQueue();
  private readonly parked = new ParkedWrites();
  private readonly inFlight = new Map<string, PendingWrite>();
  private readonly dropped = new WeakSet<PendingWrite>();

  /** Writes held: queued, parked or in flight. */
  get size(): number {
    return this.queued.size + this.parked.size + this.inFlight.size;
  }

  get queuedSize(): number {
    return this.queued.size;
  }

  /** The newest write of `key` held, wherever it is. */
  peek(key: string): PendingWrite | undefined {
    return this.queued.get(key) ?? this.parked.get(key) ?? this.inFlight.get(key);
  }

  /** Whether a write of `key` waits to be sent (queued or parked). */
  isWaiting(key: string): boolean {
    return this.queued.has(key) || this.parked.has(key);
  }

  /** Whether a write with `seq` at most `target` is still held. */
  holdsUpTo(target: number): boolean {
    for (const write of this.inFlight.values()) if (write.seq <= target) return true;
    const queued = this.queued.oldest();
    if (queued !== undefined && queued.seq <= target) return true;
    const parked = this.parked.oldest();
    return parked !== undefined && parked.seq <= target;
  }

  /** Queues `write`, replacing a queued or parked write of its key. */
  add(write: PendingWrite): void {
    // The size check first: this is the path of every set(), and the parked set is rarely used.
    if (this.parked.size > 0) this.parked.remove(write.key);
    this.queued.push(write);
  }

  /** Takes up to `count` queued writes, oldest first, into flight. */
  take(count: number): PendingWrite[] {
    return this.fly(this.queued.take(count));
  }

  /**
   * Takes up to `count` queued writes, oldest first, into flight, stopping before the first whose
   * key is in flight already: a key is never in flight twice, so a newer write of a key always
   * leaves after the older one settled (a retried older write cannot land over it).
   */
  takeBehindFlight(count: number): PendingWrite[] {
    return this.fly(this.queued.take(count, (key) => this.inFlight.has(key)));
  }

  /** Takes these writes into flight, those still queued as the newest of their keys. */
  takeOnly(writes: readonly PendingWrite[]): PendingWrite[] {
    return this.fly(writes.filter((write) => this.queued.remove(write)));
  }

  /** Whether `write` was dropped for room while in flight (its batch then revokes it). */
  droppedInFlight(write: PendingWrite): boolean {
    return this.dropped.has(write);
  }

  /**
   * A write left flight (landed or failed). Returns whether it had been dropped for room
   * meanwhile (its outcome no longer counts).
   */
  leaveFlight(write: PendingWrite): boolean {
    if (this.inFlight.get(write.key) === write) this.inFlight.delete(write.key);
    return this.dropped.has(write);
  }

  /** Puts failed writes back before every queued write, unless a newer write of the key waits. */
  requeue(writes: readonly PendingWrite[]): void {
    this.queued.prepend(writes.filter((write) => !this.isWaiting(write.key)));
  }

  /** Parks writes that failed alone until `dueAt` (epoch ms). */
  park(writes: readonly PendingWrite[], dueAt: number): void {
    this.parked.park(writes, dueAt);
  }

  /** Moves the parked writes due by `now` to the front of the queue. */
  unpark(now: number): void {
    const due = this.parked.takeDue(now);
    if (due.length > 0) this.queued.prepend(due.filter((write) => !this.queued.has(write.key)));
  }

  /** When the next parked write is due, or `undefined`. */
  nextDueAt(): number | undefined {
    return this.parked.nextDueAt();
  }

  /** Removes and returns the oldest write by call order, queued, parked or in flight. */
  dropOldest(): PendingWrite | undefined {
    const queued = this.queued.oldest();
    const parked = this.parked.oldest();
    const flying = this.inFlight.values().next().value;
    let oldest = queued;
    if (parked !== undefined && (oldest === undefined || parked.seq < oldest.seq)) oldest = parked;
    if (flying !== undefined && (oldest === undefined || flying.seq < oldest.seq)) oldest = flying;
    if (oldest === undefined) return undefined;
    if (oldest === queued) this.queued.remove(oldest);
    else if (oldest === parked) this.parked.remove(oldest.key);
    else {
      this.inFlight.delete(oldest.key);
      this.dropped.add(oldest);
    }
    return oldest;
  }

  /**
   * Puts a re-stamped copy of a write (same key and `seq`) in place of what is held for its key:
   * replaces it where it waits, or queues it when the original already left. Returns whether it
   * must be queued (`'queue'`) or was placed; `'skip'` when a newer write of the key is held.
   */
  place(write: PendingSet): 'placed' | 'queue' | 'skip' {
    const parked = this.parked.get(write.key);
    if (parked !== undefined) {
      if (parked.seq > write.seq) return 'skip';
      this.parked.replace(parked, write);
      return 'placed';
    }
    const current = this.queued.get(write.key) ?? this.inFlight.get(write.key);
    return current !== undefined && current.seq > write.seq ? 'skip' : 'queue';
  }

  /** Swaps a re-stamped copy for its original in flight (its batch is about to be sent). */
  swapInFlight(original: PendingWrite, next: PendingWrite): void {
    if (this.inFlight.get(original.key) === original) this.inFlight.set(next.key, next);
  }

  /** Removes and returns every write, oldest first. */
  clear(): PendingWrite[] {
    const all = [...this.queued.clear(), ...this.parked.clear(), ...this.inFlight.values()];
    this.inFlight.clear();
    return all;
  }

  private fly(writes: PendingWrite[]): PendingWrite[] {
    for (const write of writes) this.inFlight.set(write.key, write);
    return writes;
  }
}
