/** One of the most read keys, as {@link HotKeys} estimates it. */
export interface HotKey {
  readonly key: string;
  /** Estimated reads since start (sampled, scaled back up; may overcount by `error`). */
  readonly reads: number;
  /** Most by which `reads` may overcount (the space-saving error bound). */
  readonly error: number;
}

interface Counted {
  count: number;
  error: number;
}

/**
 * The most read keys in constant memory: the space-saving algorithm (Metwally et al.) over a
 * sample of the reads. It keeps `capacity` counters; a key not counted yet takes the place of the
 * smallest, inheriting its count as its error bound, so any key read more than 1/capacity of the
 * sampled reads is guaranteed to be there. Only one read in `sampleEvery` is counted, which keeps
 * the cost off the hot L1-hit path (a counter increment for the others).
 *
 * Written here rather than taken from a package: it is 40 lines, and the read path must not pay
 * for a general sketch's hashing.
 */
export class HotKeys {
  private readonly counted = new Map<string, Counted>();
  private tick = 0;

  constructor(
    private readonly capacity: number,
    private readonly sampleEvery: number,
  ) {}

  /** Notes one read of `key`. */
  record(key: string): void {
    if (++this.tick < this.sampleEvery) return;
    this.tick = 0;
    const entry = this.counted.get(key);
    if (entry !== undefined) {
      entry.count++;
      return;
    }
    if (this.counted.size < this.capacity) {
      this.counted.set(key, { count: 1, error: 0 });
      return;
    }
    let smallestKey: string | undefined;
    let smallest: Counted | undefined;
    for (const [candidate, counted] of this.counted) {
      if (smallest === undefined || counted.count < smallest.count) {
        smallest = counted;
        smallestKey = candidate;
      }
    }
    this.counted.delete(smallestKey!);
    this.counted.set(key, { count: smallest!.count + 1, error: smallest!.count });
  }

  /** The `n` most read keys, most read first. */
  top(n: number): HotKey[] {
    return [...this.counted]
      .sort((a, b) => b[1].count - a[1].count)
      .slice(0, Math.max(0, n))
      .map(([key, { count, error }]) => ({
        key,
        reads: count * this.sampleEvery,
        error: error * this.sampleEvery,
      }));
  }
}
