import type { CacheService } from '../../lib/cache.service.js';
import type { CacheEvent } from '../../lib/events/cache-event.js';

/** Settings of one steady load run. */
export interface LoadOptions {
  /** Concurrent workers (each runs one request at a time). @default 16 */
  workers?: number;
  /** Keys read through `getOrSet` from the origin. @default 200 */
  readKeys?: number;
  /** Keys written with `set` (and read back with `get`). @default 200 */
  writeKeys?: number;
  /** Share of requests that are writes. @default 0.2 */
  writeRatio?: number;
  /** Milliseconds the origin takes per call. @default 5 */
  originMs?: number;
}

/** What a load run saw; `lost` is filled by {@link verifyWrites}. */
export interface LoadReport {
  scenario: string;
  served: number;
  failed: number;
  p99Ms: number;
  maxMs: number;
  /** Highest `stats().pending` seen during the run. */
  queued: number;
  dropped: number;
  flushed: number;
  lost: number;
  /** First few failures, for the assertion message. */
  errors: string[];
}

/**
 * A steady mix of reads and writes against one cache, as a request handler would make them:
 * reads go through `getOrSet` to a slow origin, writes `set` a new value and remember it as the
 * truth. Read keys and write keys are disjoint so that a read-through cannot race a write of the
 * same key (a race every read-through cache has, not a fault).
 */
export class SteadyLoad {
  readonly truth = new Map<string, number>();
  readonly droppedKeys = new Set<string>();
  private readonly latencies: number[] = [];
  private readonly errors: string[] = [];
  private failed = 0;
  private queued = 0;
  private running = false;
  private workers: Array<Promise<void>> = [];
  private counter = 0;
  private readonly options: Required<LoadOptions>;

  constructor(
    private readonly cache: CacheService,
    options: LoadOptions = {},
  ) {
    this.options = {
      workers: 16,
      readKeys: 200,
      writeKeys: 200,
      writeRatio: 0.2,
      originMs: 5,
      ...options,
    };
    cache.events$.subscribe((event: CacheEvent) => {
      if (event.type === 'drop') this.droppedKeys.add(event.key);
    });
  }

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.options.workers }, () => this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  report(scenario: string): LoadReport {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const stats = this.cache.stats();
    return {
      scenario,
      served: this.latencies.length - this.failed,
      failed: this.failed,
      p99Ms: round(sorted[Math.floor(sorted.length * 0.99)] ?? 0),
      maxMs: round(sorted[sorted.length - 1] ?? 0),
      queued: this.queued,
      dropped: stats.dropped,
      flushed: stats.flushed,
      lost: 0,
      errors: this.errors.slice(0, 5),
    };
  }

  private async work(): Promise<void> {
    const { readKeys, writeKeys, writeRatio, originMs } = this.options;
    while (this.running) {
      const started = performance.now();
      try {
        if (Math.random() < writeRatio) {
          const key = `w${Math.floor(Math.random() * writeKeys)}`;
          const value = ++this.counter;
          this.truth.set(key, value);
          await this.cache.set(key, value);
        } else if (Math.random() < 0.5) {
          const key = `r${Math.floor(Math.random() * readKeys)}`;
          await this.cache.getOrSet(key, async () => {
            await new Promise((resolve) => setTimeout(resolve, originMs));
            return { key, origin: true };
          });
        } else {
          await this.cache.get(`w${Math.floor(Math.random() * writeKeys)}`);
        }
      } catch (error: unknown) {
        this.failed++;
        if (this.errors.length < 5)
          this.errors.push(error instanceof Error ? error.message : String(error));
      }
      this.latencies.push(performance.now() - started);
      this.queued = Math.max(this.queued, this.cache.stats().pending);
      // Yield to timers between requests, as an event loop serving HTTP would.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/**
 * After recovery and a flush: every key the load wrote must read its last value from L2 (through
 * `reader`, an instance without L1), unless its write was reported dropped. Returns how many did
 * not: writes lost silently. A read that met an L2 error (the reader's own connections still
 * opening after the fault) proves nothing either way, so it is repeated until one read is clean
 * (for at most `timeoutMs`).
 */
export async function verifyWrites(
  load: SteadyLoad,
  reader: CacheService,
  timeoutMs = 10_000,
): Promise<number> {
  const keys = [...load.truth.keys()];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const errorsBefore = reader.stats().l2Errors;
    const stored = await reader.mget<number>(keys);
    const clean = reader.stats().l2Errors === errorsBefore;
    if (clean || Date.now() >= deadline) {
      let lost = 0;
      keys.forEach((key, i) => {
        if (stored[i] !== load.truth.get(key) && !load.droppedKeys.has(key)) lost++;
      });
      return lost;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Prints reports as one table (kept in the test output and the README's failure section). */
export function printReports(title: string, reports: readonly LoadReport[]): void {
  const header =
    '| scenario | served | failed | p99 ms | max ms | queued | dropped | flushed | lost |';
  const rows = reports.map(
    (r) =>
      `| ${r.scenario} | ${r.served} | ${r.failed} | ${r.p99Ms} | ${r.maxMs} | ${r.queued} | ${r.dropped} | ${r.flushed} | ${r.lost} |`,
  );
  console.log(`${title}\n${header}\n|---|---|---|---|---|---|---|---|---|\n${rows.join('\n')}`);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
