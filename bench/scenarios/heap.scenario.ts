import { LRUCache } from 'lru-cache';
import { canCollectGarbage, collectGarbage, delay, median } from '../core/measure.js';
import { progress } from '../core/progress.js';
import { formatValue, type Row, type RowKind, settleRows, target } from '../core/report.js';
import { type BenchContext, type Scenario } from '../core/scenario.js';
import { makeValue } from '../core/workload.js';
import { ANCHOR_LABELS, ANCHOR_NAMES, createAnchor } from '../subjects/anchors.subject.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

const OURS_DRAINED = 'CacheService (ours, L1 max = N, Redis L2), writes drained';
const OURS_PENDING = 'CacheService (ours, L1 max = N, Redis L2), N writes pending';

/** A cache under measurement: created empty, then filled with `set`. */
interface HeapInstance {
  set(key: string, value: unknown): unknown;
  /** Waits until nothing is in flight (ours: the write-behind queue is drained). */
  settle?(): Promise<void>;
  /** Whether the state measured is the one meant (ours pending: every write still pending). */
  check?(): string | undefined;
  /** How many of the entries it still holds (checked, so nothing was evicted). */
  held(keys: readonly string[]): Promise<number>;
  close?(): Promise<void>;
}

interface HeapSubject {
  label: string;
  kind: RowKind;
  create(entries: number): Promise<HeapInstance>;
  bytesPerEntry: number[];
  instanceBytes: number[];
}

/** Heap used plus memory outside the JS heap (typed arrays, Buffers): what the process holds. */
function memoryInUse(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

async function countHeld(get: (key: string) => unknown, keys: readonly string[]): Promise<number> {
  let held = 0;
  for (let i = 0; i < keys.length; i += 97) if ((await get(keys[i]!)) !== undefined) held++;
  return Math.round((held / Math.ceil(keys.length / 97)) * keys.length);
}

/**
 * (g) Memory held per entry once N ~200-byte objects sit in the in-process tier, measured after a
 * full GC as heap used + external, from the empty (already created and connected) cache to the
 * filled one. The keys and the value objects are created inside the window for every subject, so
 * each row includes them. Ours runs with Redis as L2, once with the write-behind queue drained and
 * once with all N writes still pending (none flushed yet); the anchors with their memory tier only.
 */
export const heapScenario: Scenario = {
  id: 'g',
  title: 'Heap: memory per entry with N entries held in L1',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const entries = sizes.heapEntries;
    const rounds = context.options.quick ? 1 : 3;
    const subjects: HeapSubject[] = [
      {
        label: 'Map',
        kind: 'limit',
        bytesPerEntry: [],
        instanceBytes: [],
        create: async () => {
          const map = new Map<string, unknown>();
          return {
            set: (key, value) => map.set(key, value),
            held: (keys) => countHeld((k) => map.get(k), keys),
          };
        },
      },
      {
        label: 'lru-cache (max = N)',
        kind: 'raw',
        bytesPerEntry: [],
        instanceBytes: [],
        create: async (n) => {
          const lru = new LRUCache<string, object>({ max: n });
          return {
            set: (key, value) => lru.set(key, value as object),
            held: (keys) => countHeld((k) => lru.get(k), keys),
          };
        },
      },
      {
        label: OURS_DRAINED,
        kind: 'ours',
        bytesPerEntry: [],
        instanceBytes: [],
        create: async (n) => {
          await context.redis.cli('FLUSHALL');
          const ours = await startOurCache(
            redisOptions(context.redisUrl, 'bench-g', {
              l1: { max: n, maxBytes: 1024 * 1024 * 1024, ttl: '1h' },
              ttl: '1h',
            }),
          );
          return {
            set: (key, value) => ours.cache.set(key, value),
            settle: () => ours.cache.flush(),
            // Entries in L1 itself: a get would refill L1 from Redis and hide an eviction.
            held: async () => ours.cache.stats().l1Size,
            close: () => ours.close(),
          };
        },
      },
      {
        // Every write still held for L2: no batch can leave during the measurement (the first
        // flush is due 60 s after the first write, and a batch is twice the entries), so the
        // queue holds all N writes when the heap is read. close() drains them afterwards.
        label: OURS_PENDING,
        kind: 'ours',
        bytesPerEntry: [],
        instanceBytes: [],
        create: async (n) => {
          await context.redis.cli('FLUSHALL');
          const ours = await startOurCache(
            redisOptions(context.redisUrl, 'bench-g-pending', {
              l1: { max: n, maxBytes: 1024 * 1024 * 1024, ttl: '1h' },
              ttl: '1h',
              writeBehind: { flushIntervalMs: 60_000, maxBatchSize: 2 * n, maxPending: 2 * n },
            }),
          );
          return {
            set: (key, value) => ours.cache.set(key, value),
            held: async () => ours.cache.stats().l1Size,
            check: () => {
              const { pending, flushed, dropped } = ours.cache.stats();
              return pending === n && flushed === 0 && dropped === 0
                ? undefined
                : `${pending} of ${n} writes pending, ${flushed} flushed, ${dropped} dropped when the heap was read`;
            },
            close: () => ours.close(),
          };
        },
      },
      ...ANCHOR_NAMES.map((name): HeapSubject => ({
        label: `${ANCHOR_LABELS[name].replace(/ \(.*$/, '')} (memory tier only)`,
        kind: 'anchor',
        bytesPerEntry: [],
        instanceBytes: [],
        create: async (n) => {
          const anchor = await createAnchor(name, { namespace: `bench-g-${name}`, l1Max: n });
          return {
            set: (key, value) => anchor.set(key, value),
            held: (keys) => countHeld((k) => anchor.get(k), keys),
            close: () => anchor.close(),
          };
        },
      })),
    ];
    const notes: string[] = [];
    if (!canCollectGarbage())
      notes.push(
        'global.gc was not available: the numbers include garbage (run with node --expose-gc)',
      );

    for (let round = 1; round <= rounds; round++) {
      for (const subject of subjects) {
        // A finished async frame can keep its last values alive: measure in a function that has
        // returned, after a turn of the event loop, so the previous subject's entries are gone.
        await delay(20);
        const result = await measureOne(subject, entries, round);
        subject.bytesPerEntry.push(result.perEntry);
        subject.instanceBytes.push(result.instanceBytes);
        if (result.problem !== undefined)
          notes.push(`${subject.label}: ${result.problem} (run ${round})`);
        if (result.held < entries * 0.99)
          notes.push(
            `${subject.label} held only ~${result.held} of ${entries} entries (run ${round})`,
          );
        progress(
          `(g) run ${round}/${rounds} ${subject.label}: ${result.perEntry.toFixed(0)} bytes/entry`,
        );
      }
    }

    const rows: Row[] = settleRows(
      subjects.map((subject) => ({
        subject: subject.label,
        kind: subject.kind,
        runs: subject.bytesPerEntry,
        cells: { 'empty instance KiB': (median(subject.instanceBytes) / 1024).toFixed(0) },
      })),
    );
    const ours = rows.find((row) => row.subject === OURS_DRAINED)?.value;
    const oursPending = rows.find((row) => row.subject === OURS_PENDING)?.value;
    const lru = rows.find((row) => row.subject.startsWith('lru-cache'))?.value;
    return [
      {
        id: 'g',
        title: this.title,
        setup: `${entries.toLocaleString('en-US')} entries (string key + ~200-byte object), heap used + external after global.gc(), from the empty cache to the filled one (ours: once its writes are in Redis, and once with all of them pending: flushIntervalMs 60 s, batches and maxPending of 2N); ${rounds} runs`,
        metric: { label: 'bytes/entry', higherIsBetter: false, format: 'bytes' },
        rows,
        extraColumns: ['empty instance KiB'],
        notes,
        targets: [
          target(
            'heap for N entries, writes drained, <= 1.15x lru-cache holding the same objects',
            ours !== undefined && lru !== undefined ? ours / lru : undefined,
            '<=',
            1.15,
            `ours ${formatValue(ours, 'bytes')} / lru-cache ${formatValue(lru, 'bytes')} bytes per entry`,
          ),
          target(
            'heap for N entries with all N writes pending <= 1.6x lru-cache holding the same objects',
            oursPending !== undefined && lru !== undefined ? oursPending / lru : undefined,
            '<=',
            1.6,
            `ours ${formatValue(oursPending, 'bytes')} / lru-cache ${formatValue(lru, 'bytes')} bytes per entry`,
          ),
        ],
      },
    ];
  },
};

/** One heap measurement of `subject`, in its own frame (see the caller). */
async function measureOne(
  subject: HeapSubject,
  entries: number,
  round: number,
): Promise<{ perEntry: number; instanceBytes: number; held: number; problem?: string }> {
  const empty = memoryInUse();
  const instance = await subject.create(entries);
  const before = memoryInUse();
  const keys = new Array<string>(entries);
  for (let i = 0; i < entries; i++) {
    const key = `heap:${round}:${i}`;
    keys[i] = key;
    await instance.set(key, makeValue(i));
  }
  await instance.settle?.();
  const after = memoryInUse();
  const problem = instance.check?.();
  const held = await instance.held(keys);
  await instance.close?.();
  // The key strings count for every subject; the `keys` array itself (8 bytes a slot) does not.
  return {
    perEntry: (after - before - 8 * entries) / entries,
    instanceBytes: before - empty,
    held,
    ...(problem !== undefined ? { problem } : {}),
  };
}
