import type { Redis } from 'ioredis';
import { countExisting } from '../core/bench-servers.js';
import { cpuCell, type CpuSpent, perOp, startCpuMeter } from '../core/cpu-meter.js';
import { median, runConcurrent } from '../core/measure.js';
import { formatValue, type Row, type RowKind, settleRows, target } from '../core/report.js';
import { interleave, type BenchContext, type Scenario } from '../core/scenario.js';
import { makeKeys, makeValues, type BenchValue } from '../core/workload.js';
import { ANCHOR_LABELS, ANCHOR_NAMES, createAnchor } from '../subjects/anchors.subject.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';
import { pipelinedSets, rawIoredis, rawNodeRedis } from '../subjects/raw-clients.subject.js';
import { setCallCostReport } from './set-call-cost.js';

const TTL_MS = 10 * 60_000;
const CONCURRENCY = 100;
const RAW_NODE_REDIS = 'raw @redis/client, 100 in flight';
const PIPELINES = 'raw ioredis, pipelines of 1,000 SET PX';
const CLIENT_CPU = 'client CPU µs/set';
const REDIS_CPU = 'Redis CPU µs/set';

/** What one durable-sets run measured. */
export interface DurableRun {
  /** Seconds until every set() call had resolved. */
  resolvedSeconds: number;
  /** Seconds until every value was in Redis (for write-through clients: the same). */
  durableSeconds: number;
  /** Keys found in Redis afterwards, by reading every one back. */
  readBack: number;
  /** CPU of this process and of Redis until every value was in Redis. */
  cpu: CpuSpent;
}

interface DurableSubject {
  label: string;
  kind: RowKind;
  /** One run: writes `keys` with `values`, resolves when all are durable; then verifies. */
  run(keys: readonly string[]): Promise<DurableRun>;
  results: DurableRun[];
}

/**
 * Finds the Redis key a library stored `key` under (each library prefixes keys its own way):
 * SCAN for `*key`, then returns the prefix. `key` must be unique as a suffix.
 */
export async function discoverPrefix(admin: Redis, key: string): Promise<string> {
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `*${key}`, 'COUNT', 10_000);
    const exact = found.find((candidate) => candidate.endsWith(key));
    if (exact !== undefined) return exact.slice(0, exact.length - key.length);
    cursor = next;
  } while (cursor !== '0');
  throw new Error(`no Redis key ends with '${key}'`);
}

/** (d) N sets of distinct ~200-byte values at 100 in flight, until all are durable in Redis. */
export const durableSetsScenario: Scenario = {
  id: 'd',
  title: 'Durable sets: distinct ~200-byte values until all are in Redis',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const total = sizes.durableSets;
    const { admin, redis } = context;
    const values: BenchValue[] = makeValues(total);
    const port = redis.port;
    // The warm-up round writes a quarter of the keys: enough to warm the JIT and connections.
    const keysOf = (round: number): string[] =>
      makeKeys(`d${round}-key-`, round === 0 ? Math.ceil(total / 4) : total);

    const verifyWith = async (prefix: string, keys: readonly string[]): Promise<number> =>
      countExisting(admin, prefix === '' ? keys : keys.map((key) => prefix + key));

    const subjects: DurableSubject[] = [];
    subjects.push({
      label: PIPELINES,
      kind: 'limit',
      results: [],
      run: async (keys) => {
        const client = await rawIoredis(port);
        try {
          const stopMeter = await startCpuMeter(admin);
          const started = performance.now();
          await pipelinedSets(client, keys, values, TTL_MS);
          const seconds = (performance.now() - started) / 1000;
          const cpu = await stopMeter();
          return {
            resolvedSeconds: seconds,
            durableSeconds: seconds,
            readBack: await verifyWith('', keys),
            cpu,
          };
        } finally {
          client.disconnect();
        }
      },
    });
    for (const autoPipelining of [false, true]) {
      subjects.push({
        label: `raw ioredis${autoPipelining ? ', enableAutoPipelining' : ''}, 100 in flight`,
        kind: 'raw',
        results: [],
        run: async (keys) => {
          const client = await rawIoredis(port, { enableAutoPipelining: autoPipelining });
          try {
            const stopMeter = await startCpuMeter(admin);
            const started = performance.now();
            await runConcurrent(
              (i) => client.set(keys[i]!, JSON.stringify(values[i]), 'PX', TTL_MS),
              keys.length,
              CONCURRENCY,
            );
            const seconds = (performance.now() - started) / 1000;
            const cpu = await stopMeter();
            return {
              resolvedSeconds: seconds,
              durableSeconds: seconds,
              readBack: await verifyWith('', keys),
              cpu,
            };
          } finally {
            client.disconnect();
          }
        },
      });
    }
    subjects.push({
      label: RAW_NODE_REDIS,
      kind: 'raw',
      results: [],
      run: async (keys) => {
        const client = await rawNodeRedis(context.redisUrl);
        try {
          const stopMeter = await startCpuMeter(admin);
          const started = performance.now();
          await runConcurrent(
            (i) => client.set(keys[i]!, JSON.stringify(values[i]), TTL_MS),
            keys.length,
            CONCURRENCY,
          );
          const seconds = (performance.now() - started) / 1000;
          const cpu = await stopMeter();
          return {
            resolvedSeconds: seconds,
            durableSeconds: seconds,
            readBack: await verifyWith('', keys),
            cpu,
          };
        } finally {
          await client.close();
        }
      },
    });
    subjects.push({
      label: 'CacheService.set, write-behind (ours)',
      kind: 'ours',
      results: [],
      run: async (keys) => {
        const ours = await startOurCache(redisOptions(context.redisUrl, 'bench-d'));
        try {
          const cache = ours.cache;
          const stopMeter = await startCpuMeter(admin);
          const started = performance.now();
          await runConcurrent((i) => cache.set(keys[i]!, values[i]), keys.length, CONCURRENCY);
          const resolved = performance.now();
          await cache.flush();
          const durable = performance.now();
          const cpu = await stopMeter();
          const stats = cache.stats();
          if (stats.dropped > 0)
            throw new Error(`ours dropped ${stats.dropped} writes (maxPending)`);
          return {
            resolvedSeconds: (resolved - started) / 1000,
            durableSeconds: (durable - started) / 1000,
            readBack: await verifyWith('bench-d:', keys),
            cpu,
          };
        } finally {
          await ours.close();
        }
      },
    });
    for (const name of ANCHOR_NAMES) {
      subjects.push({
        label: ANCHOR_LABELS[name],
        kind: 'anchor',
        results: [],
        run: async (keys) => {
          const anchor = await createAnchor(name, {
            redisUrl: context.redisUrl,
            namespace: `bench-d-${name}`,
          });
          try {
            const stopMeter = await startCpuMeter(admin);
            const started = performance.now();
            await runConcurrent((i) => anchor.set(keys[i]!, values[i]), keys.length, CONCURRENCY);
            const seconds = (performance.now() - started) / 1000;
            const cpu = await stopMeter();
            const prefix = await discoverPrefix(admin, keys[0]!);
            return {
              resolvedSeconds: seconds,
              durableSeconds: seconds,
              readBack: await verifyWith(prefix, keys),
              cpu,
            };
          } finally {
            await anchor.close();
          }
        },
      });
    }

    await interleave('d', subjects, sizes.runs, async (subject, round) => {
      await redis.cli('FLUSHALL');
      const keys = keysOf(round);
      const result = await subject.run(keys);
      if (round > 0) subject.results.push(result);
      return (
        `${formatValue(keys.length / result.durableSeconds, 'rate')} sets/s, set() resolved in ${result.resolvedSeconds.toFixed(3)} s, ` +
        `durable in ${result.durableSeconds.toFixed(3)} s, read back ${result.readBack}/${keys.length}`
      );
    });
    await redis.cli('FLUSHALL');

    const rows: Row[] = settleRows(
      subjects.map((subject) => {
        const cpu = subject.results.map((r) => perOp(r.cpu, total));
        return {
          subject: subject.label,
          kind: subject.kind,
          runs: subject.results.map((r) => total / r.durableSeconds),
          cells: {
            'durable s': median(subject.results.map((r) => r.durableSeconds)).toFixed(3),
            'set() resolved s': median(subject.results.map((r) => r.resolvedSeconds)).toFixed(3),
            'read back': `${Math.min(...subject.results.map((r) => r.readBack))}/${total}`,
            [CLIENT_CPU]: cpuCell(cpu, 'clientUs'),
            [REDIS_CPU]: cpuCell(cpu, 'redisUs'),
          },
        };
      }),
    );
    const seconds = (label: string): number | undefined => {
      const subject = subjects.find((s) => s.label === label);
      return subject && subject.results.length > 0
        ? median(subject.results.map((r) => r.durableSeconds))
        : undefined;
    };
    const oursSubject = subjects.find((s) => s.kind === 'ours')!;
    const ours = seconds(oursSubject.label);
    const oursResolved =
      oursSubject.results.length > 0
        ? median(oursSubject.results.map((r) => r.resolvedSeconds))
        : undefined;
    const oursReadBack =
      oursSubject.results.length > 0
        ? Math.min(...oursSubject.results.map((r) => r.readBack))
        : undefined;
    const nodeRedis = seconds(RAW_NODE_REDIS);
    const cacheable = seconds(ANCHOR_LABELS.cacheable);
    const pipelines = seconds(PIPELINES);
    const s3 = (value: number | undefined): string => value?.toFixed(3) ?? 'n/a';
    // Targets of issue 8 that issue 16 replaced, kept as information.
    const notes: string[] = [];
    const fastestAnchor = subjects
      .filter((s) => s.kind === 'anchor')
      .map((s) => ({ label: s.label, seconds: seconds(s.label) }))
      .filter((a): a is { label: string; seconds: number } => a.seconds !== undefined)
      .reduce<{ label: string; seconds: number } | undefined>(
        (best, a) => (!best || a.seconds < best.seconds ? a : best),
        undefined,
      );
    if (ours !== undefined && fastestAnchor)
      notes.push(
        `ours is ${(fastestAnchor.seconds / ours).toFixed(2)}x faster than the fastest anchor (${fastestAnchor.label}, ${s3(fastestAnchor.seconds)} s)`,
      );
    if (ours !== undefined && pipelines !== undefined)
      notes.push(
        `ours / raw ioredis pipelines of 1,000: ${(pipelines / ours).toFixed(2)}x as fast (${s3(pipelines)} s / ${s3(ours)} s)`,
      );
    if (oursResolved !== undefined)
      notes.push(
        `every set() call had resolved after ${s3(oursResolved)} s (median; 100 in flight), before the values were in Redis`,
      );
    const callReport = await setCallCostReport(context, values, total);
    return [
      {
        id: 'd',
        title: this.title,
        setup: `${total.toLocaleString('en-US')} sets of distinct ~200-byte values, 100 in flight (raw clients: JSON.stringify included), timed until every value is in Redis (ours: until flush() resolves), then every key read back; FLUSHALL between runs; ${sizes.runs} runs`,
        metric: { label: 'durable sets/s', higherIsBetter: true, format: 'rate' },
        rows,
        extraColumns: ['durable s', 'set() resolved s', 'read back', CLIENT_CPU, REDIS_CPU],
        notes,
        targets: [
          target(
            'durable sets (encoding in set()) at least as fast as raw @redis/client with 100 SETs in flight',
            ours !== undefined && nodeRedis !== undefined ? nodeRedis / ours : undefined,
            '>=',
            1,
            `raw @redis/client ${s3(nodeRedis)} s / ours ${s3(ours)} s`,
          ),
          target(
            'durable sets >= 2.5x faster than cacheable',
            ours !== undefined && cacheable !== undefined ? cacheable / ours : undefined,
            '>=',
            2.5,
            `cacheable ${s3(cacheable)} s / ours ${s3(ours)} s`,
          ),
          target(
            'every value written is read back from Redis (keys found / written)',
            oursReadBack !== undefined ? oursReadBack / total : undefined,
            '==',
            1,
            `worst run: ${oursReadBack ?? 'n/a'} of ${total} keys found`,
          ),
        ],
      },
      callReport,
    ];
  },
};
