import type { PendingWrite } from './pending-write.js';

/**
 * The queued writes: at most one per key (a newer write replaces the queued one and goes to the
 * back), taken oldest first.
 *
 * Why not a bare `Map` in insertion order: taking the oldest entries means deleting from the
 * front, and V8 keeps deleted Map entries as holes until the table shrinks to a quarter, which
 * every later `values()` walk from the front steps over again. Draining 100,000 queued writes in
 * batches of 1,000 then cost quadratic time (measured: a quarter of the drain). Here a Map finds
 * a key's write and an array keeps the order; replaced writes stay in the array as stale slots,
 * skipped when reached and compacted away when they outnumber the live ones.
 */
export class WriteQueue {
  private readonly byKey = new Map<string, PendingWrite>();
  private order: PendingWrite[] = [];
  private head = 0;
  /** The highest `seq` queued so far: a write below it is put in its place, not at the back. */
  private newestSeq = 0;

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): PendingWrite | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * Queues `write` at the back (in its place by `seq` when it is older than the newest queued, as a
   * write sent once more is); returns whether it replaced a queued write of its key.
   */
  push(write: PendingWrite): boolean {
    if (write.seq < this.newestSeq) {
      // In its place by binary search: `order` is sorted by seq from `head` on. (Merging it in with
      // `prepend` rebuilt the whole array per write: re-sending the 1,000 writes of a timed-out
      // batch into a queue of 60,000 blocked the event loop for seconds.)
      const replaced = this.byKey.has(write.key);
      this.byKey.set(write.key, write);
      this.order.splice(this.placeOf(write.seq), 0, write);
      if (replaced) this.compactIfSparse();
      return replaced;
    }
    this.newestSeq = write.seq;
    const size = this.byKey.size;
    this.byKey.set(write.key, write); // one lookup: the size says whether the key was there
    const replaced = this.byKey.size === size;
    this.order.push(write);
    if (replaced) this.compactIfSparse();
    return replaced;
  }

  /**
   * Removes and returns up to `count` writes, oldest first; stops before the first write whose key
   * is `blocked` (it stays queued, and so does everything after it).
   */
  take(count: number, blocked?: (key: string) => boolean): PendingWrite[] {
    const taken: PendingWrite[] = [];
    while (taken.length < count && this.head < this.order.length) {
      const write = this.order[this.head]!;
      // A stale slot is a write replaced by a newer one of its key.
      if (this.byKey.get(write.key) === write) {
        if (blocked?.(write.key) === true) break;
        this.byKey.delete(write.key);
        taken.push(write);
      }
      this.head++;
    }
    this.releaseConsumed();
    return taken;
  }

  /** Removes `write` if it is still the queued write of its key. */
  remove(write: PendingWrite): boolean {
    if (this.byKey.get(write.key) !== write) return false;
    this.byKey.delete(write.key);
    this.compactIfSparse();
    return true;
  }

  /** The oldest queued write, if any (it has the lowest `seq`: writes are queued in order). */
  oldest(): PendingWrite | undefined {
    return this.peek(1)[0];
  }

  /** Up to `count` queued writes, oldest first, left in the queue. */
  peek(count: number): PendingWrite[] {
    const writes: PendingWrite[] = [];
    for (let i = this.head; i < this.order.length && writes.length < count; i++) {
      const write = this.order[i]!;
      if (this.byKey.get(write.key) === write) writes.push(write);
    }
    return writes;
  }

  /**
   * About the next `count` writes to be taken, without checking each is still queued (a replaced
   * write may be among them): for work ahead of time that a stale write merely wastes.
   */
  upcoming(count: number): readonly PendingWrite[] {
    return this.order.slice(this.head, this.head + count);
  }

  /**
   * Puts writes back (they failed, or waited out a retry) among the queued ones in call order
   * (`seq`), so the queue stays oldest first: the front is what `'drop-oldest'` drops. Rare path
   * (failures only): a merge of the two sorted runs.
   */
  prepend(writes: readonly PendingWrite[]): void {
    if (writes.length === 0) return;
    const back = [...writes].sort((a, b) => a.seq - b.seq);
    for (const write of back) this.byKey.set(write.key, write);
    // The writes put back are not in `order` (taking them moved past them), so `peek` skips them.
    const queued = this.peek(Infinity);
    const merged: PendingWrite[] = [];
    let i = 0;
    let j = 0;
    while (i < back.length || j < queued.length) {
      const next =
        j >= queued.length || (i < back.length && back[i]!.seq <= queued[j]!.seq)
          ? back[i++]!
          : queued[j++]!;
      merged.push(next);
    }
    this.order = merged;
    this.head = 0;
  }

  /** Removes every write and returns them, oldest first. */
  clear(): PendingWrite[] {
    const all = this.peek(Infinity);
    this.byKey.clear();
    this.order = [];
    this.head = 0;
    return all;
  }

  /** The index in `order` (from `head`) before which a write with `seq` keeps it sorted. */
  private placeOf(seq: number): number {
    let low = this.head;
    let high = this.order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.order[middle]!.seq <= seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Drops the consumed front of the array once it is most of it. */
  private releaseConsumed(): void {
    if (this.head === this.order.length) {
      this.order = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head > this.order.length / 2) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /** Rebuilds the array from the live writes once stale slots outnumber them. */
  private compactIfSparse(): void {
    const slots = this.order.length - this.head;
    if (slots > 1024 && slots > 2 * this.byKey.size) {
      this.order = this.peek(Infinity);
      this.head = 0;
    }
  }
}
