import { isDeepStrictEqual } from 'node:util';
import type { CacheService } from '../../lib/cache.service.js';
import type { CacheEvent } from '../../lib/events/cache-event.js';

/**
 * A steady load for fault tests, and what it measures: the load itself ({@link SteadyLoad}), a
 * reader of keys a fault does not touch ({@link ReadProbe}), the time until a write is readable
 * elsewhere ({@link timeToRead}), the state L2 is left in after recovery ({@link verifyFinalState})
 * and the table the fault suites print ({@link printReports}).
 *
 * A test marks the fault window on the load (`markFault()` when the fault starts, `markRecovered()`
 * when it is lifted); latencies and hit ratios are computed over the requests that overlap it.
 */

/** Settings of one steady load run. */
export interface LoadOptions {
  /** Concurrent workers (each runs one request at a time). @default 16 */
  workers?: number;
  /** Keys read through `getOrSet` from the origin (`r0`...). @default 200 */
  readKeys?: number;
  /** Keys written with `set`, deleted with `del` and read back with `get` (`w0`...). @default 200 */
  writeKeys?: number;
  /** Share of requests that `set` a write key. @default 0.2 */
  writeRatio?: number;
  /** Share of requests that `del` a write key. @default 0 */
  deleteRatio?: number;
  /**
   * Hot keys (`h0`...), written by {@link SteadyLoad.seed} and never changed, read with `get` in
   * turn, so that each is read again long before the LRU could evict it. @default 0
   */
  hotKeys?: number;
  /** Share of requests that read a hot key. @default 0 */
  hotRatio?: number;
  /** Milliseconds the origin takes per call. @default 5 */
  originMs?: number;
  /**
   * Requests per second, all workers together (each worker paces itself, without catching up
   * after a slow request); 0 runs as fast as the event loop allows. @default 0
   */
  requestsPerSecond?: number;
}

/** What a load run saw; `lost` is filled by the test after its verification. */
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

/** p99 and max of a set of latencies, in milliseconds (`count` 0: nothing measured). */
export interface LatencySummary {
  count: number;
  p99Ms: number;
  maxMs: number;
}

/** Reads counted for a hit ratio, and how many returned the expected value. */
export interface HitCount {
  reads: number;
  hits: number;
}

/**
 * Which reads a hit is counted for:
 * - `hot`: `get` of a hot key (held in L1 from before the fault);
 * - `readThrough`: `getOrSet` of a key loaded before (a hit: the origin was not called);
 * - `written`: `get` of a write key whose last write is a set that no other request changed
 *   while the read ran (a hit: that value).
 */
export type HitClass = 'hot' | 'readThrough' | 'written';

/** What the requests overlapping the fault window saw. */
export interface WindowMetrics {
  /** From `markFault()` to `markRecovered()`, in milliseconds. */
  faultMs: number;
  /** `get` and `getOrSet`. */
  get: LatencySummary;
  set: LatencySummary;
  del: LatencySummary;
  hits: Record<HitClass, HitCount>;
}

/** The load's last write or delete of one key. */
interface LastOp {
  readonly seq: number;
  readonly kind: 'set' | 'del';
}

type Kind = 'get' | 'set' | 'del';

const BEFORE = 0;
const FAULT = 1;
const AFTER = 2;

/**
 * A steady mix of reads and writes against one cache, as a request handler would make them:
 * hot keys read with `get`; reads through `getOrSet` from a slow origin; writes that `set` a new
 * value or `del` the key, remembered as the truth; and `get`s of the write keys. Read keys and
 * write keys are disjoint so that a read-through cannot race a write of the same key (a race
 * every read-through cache has, not a fault).
 *
 * Every write and delete gets a sequence number (`seq`, also the value written), in call order:
 * `set()` and `del()` queue their L2 write synchronously, so this is the cache's own call order.
 * A `drop` event is tied to the writes it may have dropped: those issued before it.
 */
export class SteadyLoad {
  /** The last value set of each write key whose last operation is a set. */
  readonly truth = new Map<string, number>();
  /** Keys some write of which was reported dropped. */
  readonly droppedKeys = new Set<string>();
  private readonly lastOps = new Map<string, LastOp>();
  /**
   * Per key, the newest `seq` a reported drop may have concerned: drops remove writes issued
   * before them (a drop reported inside a write's own call is of an older write).
   */
  private readonly dropsCover = new Map<string, number>();
  private readonly latencies: number[] = [];
  private readonly windowLatencies: Record<Kind, number[]> = { get: [], set: [], del: [] };
  private readonly windowHits: Record<HitClass, HitCount> = {
    hot: { reads: 0, hits: 0 },
    readThrough: { reads: 0, hits: 0 },
    written: { reads: 0, hits: 0 },
  };
  private readonly loaded = new Set<string>();
  private readonly errors: string[] = [];
  private failed = 0;
  private queued = 0;
  private running = false;
  private workers: Array<Promise<void>> = [];
  private seq = 0;
  /** The `seq` of the write whose synchronous part runs now (0: none). */
  private writing = 0;
  private originCalls = 0;
  private hotTurn = 0;
  private currentPhase = BEFORE;
  private faultAt = Number.NaN;
  private recoveredAt = Number.NaN;
  /** First `seq` issued in the fault window. */
  private faultSeq = Number.POSITIVE_INFINITY;
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
      deleteRatio: 0,
      hotKeys: 0,
      hotRatio: 0,
      originMs: 5,
      requestsPerSecond: 0,
      ...options,
    };
    cache.events$.subscribe((event: CacheEvent) => {
      if (event.type !== 'drop') return;
      this.droppedKeys.add(event.key);
      const cover = this.writing === this.seq ? this.seq - 1 : this.seq;
      this.dropsCover.set(event.key, Math.max(this.dropsCover.get(event.key) ?? 0, cover));
    });
  }

  /** 0 before the fault, 1 during it, 2 after recovery. */
  get phase(): number {
    return this.currentPhase;
  }

  /** The sequence number of the first write or delete issued during the fault. */
  get firstFaultSeq(): number {
    return this.faultSeq;
  }

  /**
   * Before `start()`: writes every hot key (and, with `writeKeys`, every write key once, as a
   * recorded write, so that tests can ask the servers where each key lives), then flushes unless
   * `flush` is false (L2 down).
   */
  async seed({ writeKeys = false, flush = true } = {}): Promise<void> {
    for (let i = 0; i < this.options.hotKeys; i++) await this.cache.set(`h${i}`, hotValue(i));
    if (writeKeys) {
      for (let i = 0; i < this.options.writeKeys; i++) await this.write(`w${i}`);
    }
    if (flush) await this.cache.flush(10_000);
  }

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.options.workers }, (_, i) => this.work(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** The fault starts now: requests from here on are measured. */
  markFault(): void {
    this.currentPhase = FAULT;
    this.faultAt = performance.now();
    this.faultSeq = this.seq + 1;
  }

  /** The fault is lifted now: requests started from here on are no longer measured. */
  markRecovered(): void {
    this.currentPhase = AFTER;
    this.recoveredAt = performance.now();
  }

  /** The whole run, as the earlier suites printed it. */
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

  /** What the requests overlapping the fault window saw. */
  window(): WindowMetrics {
    return {
      faultMs: Math.round(this.recoveredAt - this.faultAt),
      get: summarize(this.windowLatencies.get),
      set: summarize(this.windowLatencies.set),
      del: summarize(this.windowLatencies.del),
      hits: {
        hot: { ...this.windowHits.hot },
        readThrough: { ...this.windowHits.readThrough },
        written: { ...this.windowHits.written },
      },
    };
  }

  /** The last write or delete of `key` by this load, if any. */
  lastOp(key: string): LastOp | undefined {
    return this.lastOps.get(key);
  }

  /** Every key this load wrote or deleted. */
  keys(): string[] {
    return [...this.lastOps.keys()];
  }

  /** Whether a reported drop may have removed the last write or delete of `key`. */
  mayHaveDropped(key: string): boolean {
    const op = this.lastOps.get(key);
    return op !== undefined && op.seq <= (this.dropsCover.get(key) ?? 0);
  }

  private async work(index: number): Promise<void> {
    const { workers, requestsPerSecond } = this.options;
    const periodMs = requestsPerSecond > 0 ? (workers * 1_000) / requestsPerSecond : 0;
    // Staggered, so that the workers do not all fire in the same millisecond.
    let next = performance.now() + (periodMs * index) / workers;
    while (this.running) {
      if (periodMs > 0) {
        const wait = next - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        next = Math.max(next + periodMs, performance.now());
      }
      const phaseAtStart = this.currentPhase;
      const started = performance.now();
      let kind: Kind = 'get';
      let hit: [HitClass, boolean] | undefined;
      try {
        [kind, hit] = await this.request();
      } catch (error: unknown) {
        this.failed++;
        if (this.errors.length < 5)
          this.errors.push(error instanceof Error ? error.message : String(error));
      }
      const ms = performance.now() - started;
      this.latencies.push(ms);
      if (phaseAtStart <= FAULT && this.currentPhase >= FAULT) {
        this.windowLatencies[kind].push(ms);
        if (hit !== undefined) {
          this.windowHits[hit[0]].reads++;
          if (hit[1]) this.windowHits[hit[0]].hits++;
        }
      }
      this.queued = Math.max(this.queued, this.cache.stats().pending);
      // Yield to timers between requests, as an event loop serving HTTP would.
      if (periodMs === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One request; returns its kind and, for a read that counts, its hit class and outcome. */
  private async request(): Promise<[Kind, [HitClass, boolean] | undefined]> {
    const { hotKeys, deleteRatio, writeRatio, writeKeys } = this.options;
    const hotRatio = hotKeys > 0 ? this.options.hotRatio : 0;
    const dice = Math.random();
    if (dice < hotRatio) {
      const i = this.hotTurn++ % hotKeys;
      const value = await this.cache.get(`h${i}`);
      return ['get', ['hot', isDeepStrictEqual(value, hotValue(i))]];
    }
    const writeKey = `w${Math.floor(Math.random() * writeKeys)}`;
    if (dice < hotRatio + deleteRatio) {
      await this.remove(writeKey);
      return ['del', undefined];
    }
    if (dice < hotRatio + deleteRatio + writeRatio) {
      await this.write(writeKey);
      return ['set', undefined];
    }
    if (Math.random() < 0.5) return ['get', await this.readThrough()];
    const before = this.lastOps.get(writeKey);
    const value = await this.cache.get(writeKey);
    // Counted only when no other request wrote or deleted the key meanwhile.
    if (before?.kind !== 'set' || this.lastOps.get(writeKey) !== before) return ['get', undefined];
    return ['get', ['written', value === before.seq]];
  }

  private async readThrough(): Promise<[HitClass, boolean] | undefined> {
    const key = `r${Math.floor(Math.random() * this.options.readKeys)}`;
    const loadedBefore = this.loaded.has(key);
    const callsBefore = this.originCalls;
    const value = await this.cache.getOrSet(key, async () => {
      const call = ++this.originCalls;
      await new Promise((resolve) => setTimeout(resolve, this.options.originMs));
      return { key, origin: true, call };
    });
    this.loaded.add(key);
    // A value made by an origin call that started during this read: the cache did not answer.
    return loadedBefore ? ['readThrough', value.call <= callsBefore] : undefined;
  }

  private write(key: string): Promise<void> {
    const seq = ++this.seq;
    this.truth.set(key, seq);
    this.lastOps.set(key, { seq, kind: 'set' });
    this.writing = seq;
    try {
      return this.cache.set(key, seq);
    } finally {
      this.writing = 0;
    }
  }

  private remove(key: string): Promise<void> {
    const seq = ++this.seq;
    this.truth.delete(key);
    this.lastOps.set(key, { seq, kind: 'del' });
    this.writing = seq;
    try {
      return this.cache.del(key);
    } finally {
      this.writing = 0;
    }
  }
}

function hotValue(i: number): { hot: number } {
  return { hot: i };
}

/**
 * Reads `keys` one at a time in a loop through `cache` (an instance without L1, so every read
 * asks L2) and counts, among the reads that overlap the load's fault window, those that returned
 * `expected(key)`. For "keys the fault does not touch keep hitting" on sharded topologies.
 */
export class ReadProbe {
  readonly counted: HitCount = { reads: 0, hits: 0 };
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly cache: CacheService,
    private readonly keys: readonly string[],
    private readonly expected: (key: string) => unknown,
    private readonly load: SteadyLoad,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const key = this.keys[i % this.keys.length]!;
      const phaseAtStart = this.load.phase;
      let value: unknown;
      try {
        value = await this.cache.get(key);
      } catch {
        value = undefined; // a get never throws; if it did, it is no hit
      }
      if (phaseAtStart <= FAULT && this.load.phase >= FAULT) {
        this.counted.reads++;
        if (isDeepStrictEqual(value, this.expected(key))) this.counted.hits++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/**
 * Polls `read` (every 2 ms) until it returns `expected` (deep equality) and resolves with the
 * milliseconds from `since` (a `performance.now()` time, default: now) until then, or `Infinity`
 * when `timeoutMs` passed first: a late write is a figure to print, not an exception.
 */
export async function timeToRead(
  read: () => Promise<unknown>,
  expected: unknown,
  timeoutMs: number,
  since = performance.now(),
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (isDeepStrictEqual(await read(), expected)) return performance.now() - since;
    } catch {
      // Not readable yet.
    }
    if (performance.now() >= deadline) return Number.POSITIVE_INFINITY;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** How {@link verifyFinalState} reaches L2 and what it forgives. */
export interface FinalStateOptions {
  /** The cache's namespace: Redis keys are `${namespace}:${key}`. */
  namespace: string;
  /** Which of `redisKeys` some server holds, asked of the servers themselves (not the cache). */
  present(redisKeys: readonly string[]): Promise<ReadonlySet<string>>;
  /**
   * Keys whose server the fault restarted empty (no persistence in these tests): a last write
   * made before the fault that is gone afterwards went with the server, not with the cache.
   */
  destroyedByFault?: (key: string) => boolean;
  /** Milliseconds to retry reads that met an L2 error. @default 10_000 */
  timeoutMs?: number;
}

/** What L2 holds after recovery, key by key, against the load's last writes and deletes. */
export interface FinalState {
  /** Keys the load wrote or deleted. */
  keys: number;
  /** Keys that read as their last operation left them (its value; or a miss and no Redis key). */
  kept: number;
  /** Keys not kept whose last operation a reported drop may have removed. */
  dropped: number;
  /** Keys not kept whose last write went with a server restarted empty (see destroyedByFault). */
  diedWithFault: number;
  /**
   * Keys whose last operation is a set, not kept, no drop reported, not destroyed: lost (each with
   * its last write and what was read instead).
   */
  lost: string[];
  /** Keys whose last operation is a delete. */
  deleted: number;
  /** Deleted keys (no drop reported) that read a value or that a server still holds (as `lost`). */
  resurrected: string[];
  /**
   * Keys kept whose last operation is a set made during the fault and older than some write the
   * cache did not keep: drop-oldest must keep the newest writes, so there must be none.
   */
  inversions: number;
}

/**
 * After recovery and a flush: reads every key the load wrote through `reader` (an instance
 * without L1: the loaded instance's L1 would answer for the keys it holds and hide what Redis
 * lost), and asks the servers which deleted keys they still hold. A read that met an L2 error
 * (the reader's connections still opening after the fault) proves nothing either way, so the
 * reads are repeated until one round is clean (for at most `timeoutMs`).
 */
export async function verifyFinalState(
  load: SteadyLoad,
  reader: CacheService,
  options: FinalStateOptions,
): Promise<FinalState> {
  const keys = load.keys();
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let values: unknown[];
  for (;;) {
    const errorsBefore = reader.stats().l2Errors;
    values = [];
    for (let start = 0; start < keys.length; start += 1_000) {
      values.push(...(await reader.mget(keys.slice(start, start + 1_000))));
    }
    if (reader.stats().l2Errors === errorsBefore || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const redisKey = (key: string): string => `${options.namespace}:${key}`;
  const deletedKeys = keys.filter((key) => load.lastOp(key)?.kind === 'del');
  const held = await options.present(deletedKeys.map(redisKey));

  const state: FinalState = {
    keys: keys.length,
    kept: 0,
    dropped: 0,
    diedWithFault: 0,
    lost: [],
    deleted: deletedKeys.length,
    resurrected: [],
    inversions: 0,
  };
  const keptDuringFault: number[] = [];
  let newestNotKept = 0;
  keys.forEach((key, i) => {
    const op = load.lastOp(key)!;
    const kept =
      op.kind === 'set'
        ? values[i] === op.seq
        : values[i] === undefined && !held.has(redisKey(key));
    if (kept) {
      state.kept++;
      if (op.kind === 'set' && op.seq >= load.firstFaultSeq) keptDuringFault.push(op.seq);
    } else if (load.mayHaveDropped(key)) {
      state.dropped++;
      newestNotKept = Math.max(newestNotKept, op.seq);
    } else if (op.seq < load.firstFaultSeq && options.destroyedByFault?.(key)) {
      state.diedWithFault++;
    } else {
      // What was read, so a failure says which way it went (an older write won, or nothing).
      const when = op.seq >= load.firstFaultSeq ? 'during the fault' : 'before the fault';
      const read = values[i] === undefined ? 'a miss' : `#${JSON.stringify(values[i])}`;
      (op.kind === 'set' ? state.lost : state.resurrected).push(
        `${key} (last ${op.kind} #${op.seq}, ${when}; read ${read})`,
      );
      newestNotKept = Math.max(newestNotKept, op.seq);
    }
  });
  state.inversions = keptDuringFault.filter((seq) => seq < newestNotKept).length;
  return state;
}

/** One row of the fault table: the whole run, the fault window and the state after recovery. */
export interface FaultReport extends LoadReport {
  faultMs: number;
  /** Which reads the hit ratio counts, in words. */
  hitKeys: string;
  hits: HitCount;
  get: LatencySummary;
  set: LatencySummary;
  del: LatencySummary;
  /** Slowest unaffected write made during the fault, until another instance read it (ms). */
  visibleDuringMs?: number;
  /** From recovery until a write made during the fault was read by another instance (ms). */
  readableAfterMs?: number;
  final: FinalState;
}

/** Prints reports as one table (kept in the test output and the README's failure section). */
export function printReports(
  title: string,
  reports: ReadonlyArray<LoadReport | FaultReport>,
): void {
  if (reports.length > 0 && reports.every((r): r is FaultReport => 'final' in r)) {
    printFaultTable(title, reports);
    return;
  }
  const header =
    '| scenario | served | failed | p99 ms | max ms | queued | dropped | flushed | lost |';
  const rows = reports.map(
    (r) =>
      `| ${r.scenario} | ${r.served} | ${r.failed} | ${r.p99Ms} | ${r.maxMs} | ${r.queued} | ${r.dropped} | ${r.flushed} | ${r.lost} |`,
  );
  console.log(`${title}\n${header}\n|---|---|---|---|---|---|---|---|---|\n${rows.join('\n')}`);
}

function printFaultTable(title: string, reports: readonly FaultReport[]): void {
  const header =
    '| scenario | fault ms | hit ratio during fault (reads counted) | get p99 / max ms | ' +
    'set p99 / max ms | del max ms | unaffected write visible elsewhere, during fault, max ms | ' +
    'fault-time write readable elsewhere, ms after recovery | newest writes kept | ' +
    'resurrections (deleted keys) | lost | served / failed | dropped |';
  const ms = (value: number | undefined): string =>
    value === undefined ? 'n/a' : Number.isFinite(value) ? String(round(value)) : 'never';
  const latency = (s: LatencySummary): string =>
    s.count === 0 ? 'n/a' : `${round(s.p99Ms)} / ${round(s.maxMs)}`;
  const rows = reports.map((r) => {
    const ratio =
      r.hits.reads === 0
        ? 'n/a'
        : `${((100 * r.hits.hits) / r.hits.reads).toFixed(2)}% (${r.hitKeys}, ${r.hits.reads})`;
    const f = r.final;
    const notes = [
      f.dropped > 0 ? `${f.dropped} dropped` : '',
      f.diedWithFault > 0 ? `${f.diedWithFault} died with the server` : '',
      f.dropped > 0 ? `${f.inversions} older kept over newer` : '',
    ].filter((note) => note !== '');
    const kept = `${f.kept}/${f.keys}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
    return (
      `| ${r.scenario} | ${r.faultMs} | ${ratio} | ${latency(r.get)} | ${latency(r.set)} | ` +
      `${r.del.count === 0 ? 'n/a' : round(r.del.maxMs)} | ${ms(r.visibleDuringMs)} | ` +
      `${ms(r.readableAfterMs)} | ${kept} | ${f.resurrected.length} (${f.deleted}) | ` +
      `${f.lost.length} | ${r.served} / ${r.failed} | ${r.dropped} |`
    );
  });
  console.log(`${title}\n${header}\n${'|---'.repeat(13)}|\n${rows.join('\n')}`);
}

function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0,
    maxMs: sorted[sorted.length - 1] ?? 0,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
