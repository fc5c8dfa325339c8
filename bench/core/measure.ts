/**
 * Timing loops and statistics. Every subject gets loops compiled for it alone (see
 * {@link freshLoop}), so V8's inline caches in the loop never mix two subjects' call targets.
 */

/** An operation under test; `i` is the operation's index in its run. */
export type Op = (i: number) => unknown;

type CountLoop = (op: Op, from: number, count: number) => Promise<void>;

/**
 * A new copy of the "await op(i) count times" loop, with its own feedback vector. Reusing one
 * loop function for every subject would make its call site megamorphic after a few subjects and
 * penalise whichever ran last.
 */
export function freshLoop(): CountLoop {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- fresh code per subject, on purpose
  return new Function(
    'op',
    'from',
    'count',
    'return (async () => { const end = from + count; for (let i = from; i < end; i++) await op(i); })();',
  ) as CountLoop;
}

/** Result of a throughput run. */
export interface Throughput {
  ops: number;
  elapsedMs: number;
  opsPerSec: number;
}

/**
 * Runs `op` sequentially (each awaited) for about `durationMs`, in chunks sized to ~10 ms so the
 * clock is read rarely. Use for operations too fast to time one by one (L1 hits).
 */
export async function runSequentialFor(
  loop: CountLoop,
  op: Op,
  durationMs: number,
): Promise<Throughput> {
  let chunk = 256;
  let ops = 0;
  const started = performance.now();
  let now = started;
  while (now - started < durationMs) {
    const chunkStart = now;
    await loop(op, ops, chunk);
    ops += chunk;
    now = performance.now();
    const took = now - chunkStart;
    if (took < 5 && chunk < 1 << 20) chunk *= 2;
  }
  const elapsedMs = now - started;
  return { ops, elapsedMs, opsPerSec: (ops / elapsedMs) * 1000 };
}

/** Result of a run that also timed every operation. */
export interface LatencyRun extends Throughput {
  /** Milliseconds per operation, unsorted. */
  latenciesMs: Float64Array;
}

/**
 * Runs operations 0..total-1 with `concurrency` of them in flight (1: strictly sequential), timing
 * each. Use for operations of a few microseconds or more (anything that touches Redis).
 */
export async function runConcurrent(
  op: (i: number) => Promise<unknown>,
  total: number,
  concurrency: number,
): Promise<LatencyRun> {
  const latenciesMs = new Float64Array(total);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = performance.now();
      await op(i);
      latenciesMs[i] = performance.now() - t0;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  const elapsedMs = performance.now() - started;
  return { ops: total, elapsedMs, opsPerSec: (total / elapsedMs) * 1000, latenciesMs };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-th percentile (0-100) by nearest rank. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Concatenates latency samples of several runs. */
export function concatLatencies(runs: readonly Float64Array[]): Float64Array {
  const all = new Float64Array(runs.reduce((n, run) => n + run.length, 0));
  let offset = 0;
  for (const run of runs) {
    all.set(run, offset);
    offset += run.length;
  }
  return all;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Full GC when node runs with --expose-gc (the bench script does); a no-op otherwise. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

/** Whether `global.gc` is available. */
export function canCollectGarbage(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}
