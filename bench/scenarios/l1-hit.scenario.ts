import { LRUCache } from 'lru-cache';
import { freshLoop, median, runSequentialFor, type Op } from '../core/measure.js';
import { formatValue, type Row, type RowKind, settleRows, target } from '../core/report.js';
import { interleave, type BenchContext, type Scenario } from '../core/scenario.js';
import { makeKeys, makeValues } from '../core/workload.js';
import { ANCHOR_LABELS, ANCHOR_NAMES, createAnchor } from '../subjects/anchors.subject.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

/** Keys cycled through by the hit loops (all present in every cache). */
export const HOT_KEYS = 1_024;

interface HitSubject {
  label: string;
  kind: RowKind;
  op: Op;
  runs: number[];
  close?: () => Promise<void>;
}

/** Fails loudly when a subject does not actually hit for every hot key. */
export async function assertHits(label: string, op: Op): Promise<void> {
  for (let i = 0; i < HOT_KEYS; i++) {
    if ((await op(i)) === undefined)
      throw new Error(`${label}: key #${i} missed; an L1-hit loop must only hit`);
  }
}

/** Runs the hit loops of `subjects` (interleaved rounds) and fills their `runs`. */
export async function measureHits(
  id: string,
  subjects: readonly HitSubject[],
  rounds: number,
  runMs: number,
): Promise<void> {
  const loops = new Map(subjects.map((subject) => [subject, freshLoop()]));
  await interleave(id, subjects, rounds, async (subject, round) => {
    const result = await runSequentialFor(loops.get(subject)!, subject.op, runMs);
    if (round > 0) subject.runs.push(result.opsPerSec);
    return `${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s`;
  });
}

/**
 * (a) L1 hit: an awaited get of a key the in-process tier holds, one call at a time. Ours goes
 * through `CacheService.get` of a Nest app with Redis as L2; each anchor through its own get, set up
 * with memory in front of the same Redis. The limit is an awaited `Map.get`.
 */
export const l1HitScenario: Scenario = {
  id: 'a',
  title: 'L1 hit: awaited get of a key held in process',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const keys = makeKeys('product:', HOT_KEYS);
    const values = makeValues(HOT_KEYS);
    const subjects: HitSubject[] = [];

    const map = new Map<string, unknown>(keys.map((key, i) => [key, values[i]]));
    subjects.push({
      label: 'await Map.get',
      kind: 'limit',
      runs: [],
      op: (i) => map.get(keys[i & (HOT_KEYS - 1)]!),
    });

    const lru = new LRUCache<string, object>({ max: 10_000 });
    keys.forEach((key, i) => lru.set(key, values[i]));
    subjects.push({
      label: 'await lru-cache get',
      kind: 'raw',
      runs: [],
      op: (i) => lru.get(keys[i & (HOT_KEYS - 1)]!),
    });

    const ours = await startOurCache(redisOptions(context.redisUrl, 'bench-a'));
    await ours.cache.mset(keys.map((key, i) => ({ key, value: values[i] })));
    await ours.cache.flush();
    const cache = ours.cache;
    subjects.push({
      label: 'CacheService.get (ours)',
      kind: 'ours',
      runs: [],
      op: (i) => cache.get(keys[i & (HOT_KEYS - 1)]!),
      close: () => ours.close(),
    });

    for (const name of ANCHOR_NAMES) {
      const anchor = await createAnchor(name, {
        redisUrl: context.redisUrl,
        namespace: `bench-a-${name}`,
      });
      for (let i = 0; i < HOT_KEYS; i++) await anchor.set(keys[i]!, values[i]);
      subjects.push({
        label: ANCHOR_LABELS[name],
        kind: 'anchor',
        runs: [],
        op: (i) => anchor.get(keys[i & (HOT_KEYS - 1)]!),
        close: () => anchor.close(),
      });
    }

    // Phase 2: the same hits once a getOrSet has run (every app using getOrSet or @Cacheable
    // has), to show any process-wide cost it switches on (e.g. async_hooks via AsyncLocalStorage).
    const after: HitSubject[] = [
      { label: 'await Map.get, after a getOrSet miss', kind: 'raw', runs: [], op: subjects[0]!.op },
      {
        label: 'CacheService.get (ours), after a getOrSet miss',
        kind: 'ours',
        runs: [],
        op: subjects[2]!.op,
      },
    ];
    try {
      for (const subject of subjects) await assertHits(subject.label, subject.op);
      await measureHits('a', subjects, sizes.runs, sizes.l1RunMs);
      await cache.getOrSet('bench-a:get-or-set-probe', () => Promise.resolve(1));
      await measureHits('a, after getOrSet', after, sizes.runs, sizes.l1RunMs);
    } finally {
      for (const subject of subjects) await subject.close?.();
    }

    const rows: Row[] = settleRows(
      [...subjects, ...after].map(({ label, kind, runs }) => ({ subject: label, kind, runs })),
    );
    const notes: string[] = [];
    const mapBefore = median(subjects[0]!.runs);
    const mapAfter = median(after[0]!.runs);
    const oursAfter = median(after[1]!.runs);
    if (mapAfter < mapBefore * 0.8) {
      notes.push(
        `after the first getOrSet miss every await in the process got slower (Map.get ${(mapBefore / mapAfter).toFixed(1)}x): ` +
          'a process-wide switch such as async_hooks (AsyncLocalStorage on Node < 22); an app using getOrSet or @Cacheable pays it on every promise',
      );
    }
    notes.push(
      `after a getOrSet miss: ours ${fmt(oursAfter)} gets/s = ${(oursAfter / mapAfter).toFixed(2)}x Map.get measured alike (targets use the rows before it, like the anchors)`,
    );
    const oursRow = rows.find((row) => row.kind === 'ours');
    const mapRow = rows.find((row) => row.kind === 'limit');
    const anchors = rows.filter((row) => row.kind === 'anchor' && row.value !== undefined);
    const bestAnchor = anchors.reduce<Row | undefined>(
      (best, row) => (!best || row.value! > best.value! ? row : best),
      undefined,
    );
    const oursValue = oursRow?.value;
    return [
      {
        id: 'a',
        title: this.title,
        setup: `${HOT_KEYS} hot keys cycled, one awaited call at a time, ${sizes.l1RunMs} ms per run, ${sizes.runs} runs (+1 warm-up), interleaved`,
        metric: { label: 'gets/s', higherIsBetter: true, format: 'rate' },
        rows,
        notes,
        targets: [
          target(
            'L1 hit via CacheService.get >= 10x the best anchor L1 hit',
            oursValue !== undefined && bestAnchor ? oursValue / bestAnchor.value! : undefined,
            '>=',
            10,
            `ours ${fmt(oursValue)} / ${bestAnchor?.subject ?? 'best anchor'} ${fmt(bestAnchor?.value)} gets/s`,
          ),
          target(
            'L1 hit via CacheService.get >= 0.3x an awaited Map.get',
            oursValue !== undefined && mapRow?.value !== undefined
              ? oursValue / mapRow.value
              : undefined,
            '>=',
            0.3,
            `ours ${fmt(oursValue)} / Map ${fmt(mapRow?.value)} gets/s`,
          ),
        ],
      },
    ];
  },
};

function fmt(value: number | undefined): string {
  return formatValue(value, 'rate');
}
