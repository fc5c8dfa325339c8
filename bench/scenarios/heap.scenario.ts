import { LRUCache } from 'lru-cache';
import { canCollectGarbage, collectGarbage, delay, median } from '../core/measure.js';
import { progress } from '../core/progress.js';
import { formatValue, type Row, type RowKind, settleRows, target } from '../core/report.js';
import { type BenchContext, type Scenario } from '../core/scenario.js';
import { makeValue } from '../core/workload.js';
import { ANCHOR_LABELS, ANCHOR_NAMES, createAnchor } from '../subjects/anchors.subject.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

/** A cache under measurement: created empty, then filled with `set`. */
interface HeapInstance {
  set(key: string, value: unknown): unknown;
  /** Waits until nothing is in flight (ours: the write-behind queue is drained). */
  settle?(): Promise<void>;
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
 * each row includes them. Ours runs with Redis as L2 and the write-behind queue drained; the
 * anchors with their memory tier only.
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
        label: 'CacheService (ours, L1 max = N, Redis L2)',
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
    const ours = rows.find((row) => row.kind === 'ours')?.value;
    const lru = rows.find((row) => row.subject.startsWith('lru-cache'))?.value;
    return [
      {
        id: 'g',
        title: this.title,
        setup: `${entries.toLocaleString('en-US')} entries (string key + ~200-byte object), heap used + external after global.gc(), from the empty cache to the filled one; ${rounds} runs`,
        metric: { label: 'bytes/entry', higherIsBetter: false, format: 'bytes' },
        rows,
        extraColumns: ['empty instance KiB'],
        notes,
        targets: [
          target(
            'heap for N entries <= 1.15x lru-cache holding the same objects',
            ours !== undefined && lru !== undefined ? ours / lru : undefined,
            '<=',
            1.15,
            `ours ${formatValue(ours, 'bytes')} / lru-cache ${formatValue(lru, 'bytes')} bytes per entry`,
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
): Promise<{ perEntry: number; instanceBytes: number; held: number }> {
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
  const held = await instance.held(keys);
  await instance.close?.();
  // The key strings count for every subject; the `keys` array itself (8 bytes a slot) does not.
  return {
    perEntry: (after - before - 8 * entries) / entries,
    instanceBytes: before - empty,
    held,
  };
}
