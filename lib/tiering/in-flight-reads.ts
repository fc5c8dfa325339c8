/** The mark of one L2 read in flight: `dirty` once the key changed locally meanwhile. */
export interface ReadMark {
  dirty: boolean;
}

/**
 * Keys with an L2 read in flight. A local write or invalidation of the key meanwhile marks the
 * read dirty, so that its (older) answer does not overwrite L1.
 */
export class InFlightReads {
  private readonly reads = new Map<string, ReadMark>();

  /** A mark for a read of `key`; `undefined` when an outer read owns the mark (never fill L1 then). */
  begin(key: string): ReadMark | undefined {
    if (this.reads.has(key)) return undefined;
    const mark = { dirty: false };
    this.reads.set(key, mark);
    return mark;
  }

  end(key: string, mark: ReadMark | undefined): void {
    if (mark && this.reads.get(key) === mark) this.reads.delete(key);
  }

  markDirty(key: string): void {
    const mark = this.reads.get(key);
    if (mark) mark.dirty = true;
  }

  /** After a clear or a tag invalidation: no read in flight may fill L1. */
  markAllDirty(): void {
    for (const mark of this.reads.values()) mark.dirty = true;
  }
}
