import { concatLatencies, median, percentile, runConcurrent } from '../core/measure.js';
import { type Row, type RowKind, settleRows } from '../core/report.js';
import { interleave, type BenchContext, type Scenario } from '../core/scenario.js';
import { makeValues, seededRandom, zipfSample } from '../core/workload.js';
import { ANCHOR_LABELS, ANCHOR_NAMES, createAnchor } from '../subjects/anchors.subject.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

const CONCURRENCY = 100;
const L1_MAX = 10_000;
const READ_SHARE = 0.9;

interface MixedSubject {
  label: string;
  kind: RowKind;
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
  close(): Promise<void>;
  /** Extra column: our own L1 hit ratio from stats(). */
  l1HitRatio?: () => number;
  keys: string[];
  runs: number[];
  hitRatios: number[];
  latencies: Float64Array[];
}

/**
 * (h) Mixed workload: 90% reads (cache-aside: a miss is followed by a set) and 10% writes, keys
 * drawn from a Zipf(0.99) distribution over N keys, 100 in flight; every subject has an in-process
 * tier of 10,000 entries in front of the same Redis and starts empty (one warm-up run fills it).
 */
export const mixedZipfScenario: Scenario = {
  id: 'h',
  title: 'Mixed 90/10 read/write, Zipf keys',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const opsPerRun = sizes.mixedOps;
    const keySpace = sizes.mixedKeys;
    const rounds = sizes.runs;
    const values = makeValues(keySpace);
    const ranks = zipfSample(keySpace, 0.99, opsPerRun * (rounds + 1), 20_240_601);
    const random = seededRandom(7);
    const isRead = Uint8Array.from({ length: ranks.length }, () => (random() < READ_SHARE ? 1 : 0));
    const keysFor = (prefix: string): string[] =>
      Array.from({ length: keySpace }, (_, i) => `${prefix}:${i}`);

    const subjects: MixedSubject[] = [];
    const ours = await startOurCache(
      redisOptions(context.redisUrl, 'bench-h', { l1: { max: L1_MAX } }),
    );
    let l1Before = 0;
    let readsBefore = 0;
    subjects.push({
      label: 'CacheService (ours, L1 10,000)',
      kind: 'ours',
      get: (key) => ours.cache.get(key),
      set: (key, value) => ours.cache.set(key, value),
      close: () => ours.close(),
      l1HitRatio: () => {
        const stats = ours.cache.stats();
        const reads = stats.l1Hits + stats.l2Hits + stats.misses;
        const ratio = (stats.l1Hits - l1Before) / Math.max(1, reads - readsBefore);
        l1Before = stats.l1Hits;
        readsBefore = reads;
        return ratio;
      },
      keys: keysFor('h'),
      runs: [],
      hitRatios: [],
      latencies: [],
    });
    for (const name of ANCHOR_NAMES) {
      const anchor = await createAnchor(name, {
        redisUrl: context.redisUrl,
        namespace: `bench-h-${name}`,
        l1Max: L1_MAX,
      });
      subjects.push({
        label: `${ANCHOR_LABELS[name]}, memory 10,000`,
        kind: 'anchor',
        get: (key) => anchor.get(key),
        set: (key, value) => anchor.set(key, value),
        close: () => anchor.close(),
        keys: keysFor('h'),
        runs: [],
        hitRatios: [],
        latencies: [],
      });
    }
    const l1Ratios = new Map<MixedSubject, number[]>();

    try {
      await interleave('h', subjects, rounds, async (subject, round) => {
        const offset = round * opsPerRun;
        let reads = 0;
        let hits = 0;
        subject.l1HitRatio?.();
        const result = await runConcurrent(
          async (i) => {
            const rank = ranks[offset + i]!;
            const key = subject.keys[rank]!;
            if (isRead[offset + i] === 1) {
              reads++;
              if ((await subject.get(key)) != null) hits++;
              else await subject.set(key, values[rank]);
            } else {
              await subject.set(key, values[rank]);
            }
          },
          opsPerRun,
          CONCURRENCY,
        );
        const l1 = subject.l1HitRatio?.();
        if (round > 0) {
          subject.runs.push(result.opsPerSec);
          subject.hitRatios.push(hits / reads);
          subject.latencies.push(result.latenciesMs);
          if (l1 !== undefined) l1Ratios.set(subject, [...(l1Ratios.get(subject) ?? []), l1]);
        }
        return `${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s, hit ratio ${(hits / reads).toFixed(3)}`;
      });
    } finally {
      for (const subject of subjects) await subject.close();
    }

    const rows: Row[] = settleRows(
      subjects.map((subject) => {
        const all = concatLatencies(subject.latencies);
        const l1 = l1Ratios.get(subject);
        return {
          subject: subject.label,
          kind: subject.kind,
          runs: subject.runs,
          p50Ms: percentile(all, 50),
          p99Ms: percentile(all, 99),
          cells: {
            'hit ratio': median(subject.hitRatios).toFixed(3),
            'L1 hit ratio': l1 ? median(l1).toFixed(3) : '',
          },
        };
      }),
    );
    return [
      {
        id: 'h',
        title: this.title,
        setup: `${opsPerRun.toLocaleString('en-US')} ops per run: 90% get (miss -> set), 10% set; Zipf(0.99) over ${keySpace.toLocaleString('en-US')} keys; 100 in flight; in-process tier 10,000 entries; ${rounds} runs after 1 warm-up run on the same caches`,
        metric: { label: 'ops/s', higherIsBetter: true, format: 'rate' },
        latency: true,
        rows,
        extraColumns: ['hit ratio', 'L1 hit ratio'],
        notes: [
          'hit ratio: reads that returned a value (any tier) / reads; L1 hit ratio: ours only, from stats()',
        ],
        targets: [],
      },
    ];
  },
};
