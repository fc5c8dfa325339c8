import { cpuCell, type CpuSpent, perOp, startCpuMeter } from '../core/cpu-meter.js';
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
import { makeKeys, makeValues } from '../core/workload.js';
import {
  ANCHOR_LABELS,
  ANCHOR_NAMES,
  createAnchor,
  type AnchorName,
} from '../subjects/anchors.subject.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';
import {
  parseReply,
  pipelinedGets,
  pipelinedSets,
  rawIoredis,
  rawNodeRedis,
  tickBatchedGets,
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
  /** CPU of this process and of Redis per read, per run. */
  cpu: CpuSpent[];
}

const TTL_MS = 10 * 60_000;
const CLIENT_CPU = 'client CPU µs/get';
const REDIS_CPU = 'Redis CPU µs/get';

const RAW_IOREDIS_SEQUENTIAL = 'raw ioredis GET + JSON.parse, sequential';
const RAW_IOREDIS_100 = 'raw ioredis GET + JSON.parse, 100 in flight';
const RAW_NODE_REDIS_100 = 'raw @redis/client GET + JSON.parse, 100 in flight';

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
    await pipelinedSets(writer, rawKeys, values, TTL_MS);
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
      cpu: [],
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
      cpu: [],
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
        return {
          get: (key) => client.get(key).then(parseReply),
          close: async () => void client.disconnect(),
        };
      },
      runs: [],
      latencies: [],
      misses: [],
      cpu: [],
    });
    const pipelines = (): L2Subject => {
      let client: Awaited<ReturnType<typeof rawIoredis>> | undefined;
      return {
        label: 'raw ioredis, pipelines of 1,000 GETs + JSON.parse',
        kind: 'limit',
        concurrency: 1,
        keys: rawKeys,
        open: async () => {
          client = await rawIoredis(port);
          return {
            get: (key) => client!.get(key).then(parseReply),
            close: async () => void client!.disconnect(),
          };
        },
        bulk: (_reader, keys) => pipelinedGets(client!, keys, 1_000),
        runs: [],
        latencies: [],
        misses: [],
        cpu: [],
      };
    };

    const tickBatched = (): L2Subject => ({
      label: 'raw ioredis, GETs gathered per tick into MGETs of up to 50 (as ours), 100 in flight',
      kind: 'limit',
      concurrency: 100,
      keys: rawKeys,
      open: async () => {
        const client = await rawIoredis(port);
        return {
          get: tickBatchedGets(client, 'bench-c|v'),
          close: async () => void client.disconnect(),
        };
      },
      runs: [],
      latencies: [],
      misses: [],
      cpu: [],
    });

    const nodeRedis = (concurrency: number): L2Subject => ({
      label: `raw @redis/client GET + JSON.parse, ${concurrency === 1 ? 'sequential' : `${concurrency} in flight`}`,
      kind: 'raw',
      concurrency,
      keys: rawKeys,
      open: async () => {
        const client = await rawNodeRedis(context.redisUrl);
        return { get: (key) => client.get(key).then(parseReply), close: () => client.close() };
      },
      runs: [],
      latencies: [],
      misses: [],
      cpu: [],
    });

    const sequentialSubjects: L2Subject[] = [
      ioredis(RAW_IOREDIS_SEQUENTIAL, 'limit', 1, false),
      nodeRedis(1),
      ours(1),
      ...ANCHOR_NAMES.map((name) => anchor(name, 1)),
    ];
    const concurrentSubjects: L2Subject[] = [
      pipelines(),
      tickBatched(),
      ioredis(RAW_IOREDIS_100, 'raw', 100, false),
      ioredis(
        'raw ioredis GET + JSON.parse, enableAutoPipelining, 100 in flight',
        'raw',
        100,
        true,
      ),
      nodeRedis(100),
      ours(100),
      ...ANCHOR_NAMES.map((name) => anchor(name, 100)),
    ];

    /** One run: a fresh reader reads `keys` once each. */
    const readAll = async (subject: L2Subject, keys: readonly string[]) => {
      const reader = await subject.open();
      try {
        let misses = 0;
        let opsPerSec: number;
        let latenciesMs: Float64Array | undefined;
        const stopMeter = await startCpuMeter(context.admin);
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
          latenciesMs = result.latenciesMs;
        }
        const cpu = perOp(await stopMeter(), keys.length);
        return { opsPerSec, misses, latenciesMs, cpu };
      } finally {
        await reader.close();
      }
    };

    /**
     * `warmUpReads`: reads of the warm-up round (not counted), in runs of at most `count` keys,
     * each with a fresh reader as the counted runs have.
     */
    const measure = async (
      id: string,
      subjects: L2Subject[],
      count: number,
      warmUpReads: number,
    ): Promise<void> => {
      await interleave(id, subjects, sizes.runs, async (subject, round) => {
        let run: Awaited<ReturnType<typeof readAll>> | undefined;
        if (round === 0) {
          for (let done = 0; done < warmUpReads; done += count) {
            run = await readAll(
              subject,
              subject.keys.slice(0, Math.min(count, warmUpReads - done)),
            );
          }
        } else {
          run = await readAll(subject, subject.keys.slice(0, count));
          subject.runs.push(run.opsPerSec);
          subject.misses.push(run.misses);
          subject.cpu.push(run.cpu);
          if (run.latenciesMs !== undefined) subject.latencies.push(run.latenciesMs);
        }
        const { opsPerSec, misses } = run!;
        return `${Math.round(opsPerSec).toLocaleString('en-US')} gets/s${misses > 0 ? `, ${misses} MISSES` : ''}`;
      });
    };

    // One read at a time, a read path warms slowly: measured here, ours and raw ioredis each got
    // faster over the first 4 runs of 3,000 reads (ours 6-7k, then 10-11k gets/s; raw ioredis 9-10k,
    // then 12k), so the warm-up round reads 4 runs' worth. At 100 in flight a quarter of a run does.
    await measure(
      'c, 1 in flight',
      sequentialSubjects,
      sizes.l2SequentialKeys,
      4 * sizes.l2SequentialKeys,
    );
    await measure('c, 100 in flight', concurrentSubjects, total, Math.ceil(total / 4));

    const toRows = (subjects: L2Subject[]): Row[] =>
      settleRows(
        subjects.map((subject) => {
          const all = concatLatencies(subject.latencies);
          return {
            subject: subject.label,
            kind: subject.kind,
            runs: subject.runs,
            ...(all.length > 0 ? { p50Ms: percentile(all, 50), p99Ms: percentile(all, 99) } : {}),
            cells: {
              misses: String(Math.max(0, ...subject.misses)),
              [CLIENT_CPU]: cpuCell(subject.cpu, 'clientUs'),
              [REDIS_CPU]: cpuCell(subject.cpu, 'redisUs'),
            },
          };
        }),
      );
    const sequentialRows = toRows(sequentialSubjects);
    const concurrentRows = toRows(concurrentSubjects);
    const value = (rows: Row[], prefix: string): number | undefined =>
      rows.find((row) => row.subject.startsWith(prefix))?.value;
    const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
      a !== undefined && b !== undefined ? a / b : undefined;
    const rate = (v: number | undefined): string => formatValue(v, 'rate');
    const oursS = value(sequentialRows, 'CacheService.get');
    const rawS = value(sequentialRows, RAW_IOREDIS_SEQUENTIAL);
    const oursC = value(concurrentRows, 'CacheService.get');
    const raw100 = value(concurrentRows, RAW_IOREDIS_100);
    const nodeRedis100 = value(concurrentRows, RAW_NODE_REDIS_100);
    const cacheManager = value(concurrentRows, ANCHOR_LABELS['cache-manager']);
    const concurrentNotes = missNote(concurrentSubjects);
    // Issue 8 asked for >= 1.5x raw ioredis at 100 in flight; issue 16 measures against
    // @redis/client instead. The old ratio stays as information.
    if (oursC !== undefined && raw100 !== undefined)
      concurrentNotes.push(
        `ours / raw ioredis at 100 in flight (not auto-pipelined): ${(oursC / raw100).toFixed(2)}x (${rate(oursC)} / ${rate(raw100)} gets/s)`,
      );
    const reports: ScenarioReport[] = [
      {
        id: 'c1',
        title: 'L2 hit with L1 miss, 1 in flight',
        setup: `${sizes.l2SequentialKeys} distinct keys per run (~200-byte values; raw clients JSON.parse each reply), a fresh reader (empty L1) per run, ${sizes.runs} runs after a warm-up of 4 (not counted)`,
        metric: { label: 'gets/s', higherIsBetter: true, format: 'rate' },
        latency: true,
        rows: sequentialRows,
        extraColumns: ['misses', CLIENT_CPU, REDIS_CPU],
        notes: missNote(sequentialSubjects),
        targets: [
          target(
            'L2 hit at 1 in flight >= 0.95x raw ioredis GET + JSON.parse',
            ratio(oursS, rawS),
            '>=',
            0.95,
            `ours ${rate(oursS)} / raw ioredis ${rate(rawS)} gets/s`,
          ),
        ],
      },
      {
        id: 'c100',
        title: 'L2 hit with L1 miss, 100 in flight',
        setup: `${total} distinct keys per run (~200-byte values; raw clients JSON.parse each reply), a fresh reader (empty L1) per run, 100 concurrent callers, ${sizes.runs} runs`,
        metric: { label: 'gets/s', higherIsBetter: true, format: 'rate' },
        latency: true,
        rows: concurrentRows,
        extraColumns: ['misses', CLIENT_CPU, REDIS_CPU],
        notes: concurrentNotes,
        targets: [
          target(
            'L2 hit at 100 in flight >= 1.0x raw @redis/client GET + JSON.parse at 100 in flight',
            ratio(oursC, nodeRedis100),
            '>=',
            1,
            `ours ${rate(oursC)} / raw @redis/client ${rate(nodeRedis100)} gets/s`,
          ),
          target(
            'L2 hit at 100 in flight >= 2x cache-manager with Keyv',
            ratio(oursC, cacheManager),
            '>=',
            2,
            `ours ${rate(oursC)} / cache-manager ${rate(cacheManager)} gets/s`,
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
