import type { PendingWrite } from './pending-write.js';

interface Group {
  readonly dueAt: number;
  readonly writes: PendingWrite[];
}

/**
 * Writes that failed for their key alone (its twemproxy shard or Cluster node was down), waiting
 * out their backoff. Parked apart from the queue so that the writes of live shards keep going out
 * on every batch while these wait: one dead shard never holds the others back.
 *
 * Writes are kept in groups, one per failed batch, in the order they failed; a write replaced by a
 * newer one of its key ({@link remove}) leaves a stale slot behind, skipped when its group is
 * read. A key has at most one parked write.
 */
export class ParkedWrites {
  private readonly byKey = new Map<string, PendingWrite>();
  private groups: Group[] = [];

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): PendingWrite | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Parks `writes` (in `seq` order) until `dueAt` (epoch ms). */
  park(writes: readonly PendingWrite[], dueAt: number): void {
    if (writes.length === 0) return;
    for (const write of writes) this.byKey.set(write.key, write);
    this.groups.push({ dueAt, writes: [...writes] });
  }

  /** Takes out the parked write of `key`, if any. */
  remove(key: string): PendingWrite | undefined {
    const write = this.byKey.get(key);
    if (write !== undefined) this.byKey.delete(key);
    return write;
  }

  /** Puts `next` in the place of `current` (the parked write of its key). */
  replace(current: PendingWrite, next: PendingWrite): void {
    if (this.byKey.get(current.key) !== current) return;
    this.byKey.set(next.key, next);
    for (const group of this.groups) {
      const index = group.writes.indexOf(current);
      if (index !== -1) group.writes[index] = next;
    }
  }

  /** Removes and returns the writes due by `now`, in `seq` order. */
  takeDue(now: number): PendingWrite[] {
    const due: PendingWrite[] = [];
    const waiting: Group[] = [];
    for (const group of this.groups) {
      if (group.dueAt > now) {
        waiting.push(group);
        continue;
      }
      for (const write of group.writes) {
        if (this.byKey.get(write.key) !== write) continue;
        this.byKey.delete(write.key);
        due.push(write);
      }
    }
    this.groups = waiting;
    return due.sort((a, b) => a.seq - b.seq);
  }

  /** When the next parked write is due (epoch ms), or `undefined` when none is parked. */
  nextDueAt(): number | undefined {
    this.prune();
    let next: number | undefined;
    for (const group of this.groups)
      if (next === undefined || group.dueAt < next) next = group.dueAt;
    return next;
  }

  /** The parked write with the lowest `seq`. */
  oldest(): PendingWrite | undefined {
    let oldest: PendingWrite | undefined;
    for (const group of this.groups) {
      const first = group.writes.find((write) => this.byKey.get(write.key) === write);
      if (first !== undefined && (oldest === undefined || first.seq < oldest.seq)) oldest = first;
    }
    return oldest;
  }

  /** Removes every write and returns them in `seq` order. */
  clear(): PendingWrite[] {
    const all = [...this.byKey.values()].sort((a, b) => a.seq - b.seq);
    this.byKey.clear();
    this.groups = [];
    return all;
  }

  /** Drops groups none of whose writes is still parked. */
  private prune(): void {
    this.groups = this.groups.filter((group) =>
      group.writes.some((write) => this.byKey.get(write.key) === write),
    );
  }
}
