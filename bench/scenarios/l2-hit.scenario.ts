import { concatLatencies, percentile, runConcurrent } from '../core/measure.js';
import {
  formatValue,
  type Row,
  type RowKind,
  type ScenarioReport,
  settleRows,
  target,
} from '../core/report.js';
import { interleave, type BenchContext, type Scenario } from '../core/scenario.js';
import { makeJsonValues, makeKeys, makeValues } from '../core/workload.js';
import {
  ANCHOR_LABELS,
  ANCHOR_NAMES,
  createAnchor,
  type AnchorName,
} from '../subjects/anchors.subject.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';
import {
  pipelinedGets,
  pipelinedSets,
  rawIoredis,
  rawNodeRedis,
} from '../subjects/raw-clients.subject.js';

/** One reader of the L2 scenario: a fresh reader per run (empty L1), reading every key once. */
interface Reader {
  get(key: string): Promise<unknown>;
  close(): Promise<void>;
}

interface L2Subject {
  label: string;
  kind: RowKind;
  concurrency: number;
  keys: string[];
  /** A fresh reader (empty L1); not timed. */
  open(): Promise<Reader>;
  /** Replaces the per-key loop (pipelines of 1,000). */
  bulk?: (reader: Reader, keys: readonly string[]) => Promise<void>;
  runs: number[];
  latencies: Float64Array[];
  /** Reads that missed per run (every key was written: a miss is a failed L2 read). */
  misses: number[];
}

const TTL_MS = 10 * 60_000;

/**
 * (c) L2 hit with L1 miss: every read is of a key that is in Redis but not in this instance's
 * memory (a fresh reader per run reads each key once), at 1 and at 100 in flight.
 */
export const l2HitScenario: Scenario = {
  id: 'c',
  title: 'L2 hit with L1 miss',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const total = sizes.l2Keys;
    const values = makeValues(total);
    const port = context.redis.port;

    // Every library writes the keys in its own format, through a writer instance (whose L1 the
    // readers do not share).
    const rawKeys = makeKeys('raw:c:', total);
    const writer = await rawIoredis(port);
    await pipelinedSets(writer, rawKeys, makeJsonValues(total), TTL_MS);
    writer.disconnect();

    const ourKeys = makeKeys('c:', total);
    const ourWriter = await startOurCache(redisOptions(context.redisUrl, 'bench-c'));
    for (let start = 0; start < total; start += 1_000) {
      await ourWriter.cache.mset(
        ourKeys.slice(start, start + 1_000).map((key, j) => ({ key, value: values[start + j] })),
      );
    }
    await ourWriter.cache.flush();
    await ourWriter.close();

    const anchorKeys = makeKeys('c:', total);
    for (const name of ANCHOR_NAMES) {
      const anchor = await createAnchor(name, {
        redisUrl: context.redisUrl,
        namespace: `bench-c-${name}`,
      });
      await runConcurrent((i) => anchor.set(anchorKeys[i]!, values[i]), total, 100);
      await anchor.close();
    }

    const ours = (concurrency: number): L2Subject => ({
      label: 'CacheService.get (ours)',
      kind: 'ours',
      concurrency,
      keys: ourKeys,
      open: async () => {
        const app = await startOurCache(redisOptions(context.redisUrl, 'bench-c'));
        return { get: (key) => app.cache.get(key), close: () => app.close() };
      },
      runs: [],
      latencies: [],
      misses: [],
    });
    const anchor = (name: AnchorName, concurrency: number): L2Subject => ({
      label: ANCHOR_LABELS[name],
      kind: 'anchor',
      concurrency,
      keys: anchorKeys,
      open: () => createAnchor(name, { redisUrl: context.redisUrl, namespace: `bench-c-${name}` }),
      runs: [],
      latencies: [],
      misses: [],
    });
    const ioredis = (
      label: string,
      kind: RowKind,
      concurrency: number,
      autoPipelining: boolean,
    ): L2Subject => ({
      label,
      kind,
      concurrency,
      keys: rawKeys,
      open: async () => {
        const client = await rawIoredis(port, { enableAutoPipelining: autoPipelining });
        return { get: (key) => client.get(key), close: async () => void client.disconnect() };
      },
      runs: [],
      latencies: [],
      misses: [],
    });
    const pipelines = (): L2Subject => {
      let client: Awaited<ReturnType<typeof rawIoredis>> | undefined;
      return {
        label: 'raw ioredis, pipelines of 1,000 GETs',
        kind: 'limit',
        concurrency: 1,
        keys: rawKeys,
        open: async () => {
          client = await rawIoredis(port);
          return { get: (key) => client!.get(key), close: async () => void client!.disconnect() };
        },
        bulk: (_reader, keys) => pipelinedGets(client!, keys, 1_000),
        runs: [],
        latencies: [],
        misses: [],
      };
    };

    const sequentialSubjects: L2Subject[] = [
      ioredis('raw ioredis, sequential', 'limit', 1, false),
      ours(1),
      ...ANCHOR_NAMES.map((name) => anchor(name, 1)),
    ];
    const concurrentSubjects: L2Subject[] = [
      pipelines(),
      ioredis('raw ioredis, 100 in flight', 'raw', 100, false),
      ioredis('raw ioredis, enableAutoPipelining, 100 in flight', 'raw', 100, true),
      {
        label: 'raw @redis/client (node-redis), 100 in flight',
        kind: 'raw',
        concurrency: 100,
        keys: rawKeys,
        open: () => rawNodeRedis(context.redisUrl),
        runs: [],
        latencies: [],
        misses: [],
      },
      ours(100),
      ...ANCHOR_NAMES.map((name) => anchor(name, 100)),
    ];

    const measure = async (id: string, subjects: L2Subject[], count: number): Promise<void> => {
      await interleave(id, subjects, sizes.runs, async (subject, round) => {
        const reader = await subject.open();
        try {
          // The warm-up round reads a quarter of the keys: enough to warm the JIT and connections.
          const keys = subject.keys.slice(0, round === 0 ? Math.ceil(count / 4) : count);
          let misses = 0;
          let opsPerSec: number;
          if (subject.bulk) {
            const started = performance.now();
            await subject.bulk(reader, keys);
            opsPerSec = (keys.length / (performance.now() - started)) * 1000;
          } else {
            const result = await runConcurrent(
              async (i) => {
                if ((await reader.get(keys[i]!)) == null) misses++;
              },
              keys.length,
              subject.concurrency,
            );
            opsPerSec = result.opsPerSec;
            if (round > 0) subject.latencies.push(result.latenciesMs);
          }
          if (round > 0) {
            subject.runs.push(opsPerSec);
            subject.misses.push(misses);
          }
          return `${Math.round(opsPerSec).toLocaleString('en-US')} gets/s${misses > 0 ? `, ${misses} MISSES` : ''}`;
        } finally {
          await reader.close();
        }
      });
    };

    await measure('c, 1 in flight', sequentialSubjects, sizes.l2SequentialKeys);
    await measure('c, 100 in flight', concurrentSubjects, total);

    const toRows = (subjects: L2Subject[]): Row[] =>
      settleRows(
        subjects.map((subject) => {
          const all = concatLatencies(subject.latencies);
          return {
            subject: subject.label,
            kind: subject.kind,
            runs: subject.runs,
            ...(all.length > 0 ? { p50Ms: percentile(all, 50), p99Ms: percentile(all, 99) } : {}),
            cells: { misses: String(Math.max(0, ...subject.misses)) },
          };
        }),
      );
    const sequentialRows = toRows(sequentialSubjects);
    const concurrentRows = toRows(concurrentSubjects);
    const value = (rows: Row[], prefix: string): number | undefined =>
      rows.find((row) => row.subject.startsWith(prefix))?.value;
    const oursC = value(concurrentRows, 'CacheService.get');
    const raw100 = value(concurrentRows, 'raw ioredis, 100 in flight');
    const cacheManager = value(concurrentRows, ANCHOR_LABELS['cache-manager']);
    const reports: ScenarioReport[] = [
      {
        id: 'c1',
        title: 'L2 hit with L1 miss, 1 in flight',
        setup: `${sizes.l2SequentialKeys} distinct keys per run (~200-byte values), a fresh reader (empty L1) per run, ${sizes.runs} runs`,
        metric: { label: 'gets/s', higherIsBetter: true, format: 'rate' },
        latency: true,
        rows: sequentialRows,
        extraColumns: ['misses'],
        notes: missNote(sequentialSubjects),
        targets: [],
      },
      {
        id: 'c100',
        title: 'L2 hit with L1 miss, 100 in flight',
        setup: `${total} distinct keys per run (~200-byte values), a fresh reader (empty L1) per run, 100 concurrent callers, ${sizes.runs} runs`,
        metric: { label: 'gets/s', higherIsBetter: true, format: 'rate' },
        latency: true,
        rows: concurrentRows,
        extraColumns: ['misses'],
        notes: missNote(concurrentSubjects),
        targets: [
          target(
            'L2 hit at 100 in flight >= 1.5x raw ioredis at 100 in flight',
            oursC !== undefined && raw100 !== undefined ? oursC / raw100 : undefined,
            '>=',
            1.5,
            `ours ${formatValue(oursC, 'rate')} / raw ioredis ${formatValue(raw100, 'rate')} gets/s`,
          ),
          target(
            'L2 hit at 100 in flight >= 2x cache-manager with Keyv',
            oursC !== undefined && cacheManager !== undefined ? oursC / cacheManager : undefined,
            '>=',
            2,
            `ours ${formatValue(oursC, 'rate')} / cache-manager ${formatValue(cacheManager, 'rate')} gets/s`,
          ),
        ],
      },
    ];
    return reports;
  },
};

/** Every key read was written: a miss is a failed (or timed-out) L2 read, served as a miss. */
function missNote(subjects: readonly L2Subject[]): string[] {
  return subjects
    .filter((subject) => subject.misses.some((m) => m > 0))
    .map(
      (subject) =>
        `${subject.label} missed up to ${Math.max(...subject.misses)} reads in a run although every key was in Redis (failed or timed-out L2 reads); its gets/s counts them`,
    );
}
