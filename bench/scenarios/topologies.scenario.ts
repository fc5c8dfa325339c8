import { Redis, type Cluster } from 'ioredis';
import type { DistributedCacheModuleOptions } from 'nestjs-distributed-cache';
import {
  adminClient,
  countExisting,
  countExistingEach,
  startCluster,
  startTwemproxy,
  TWEMPROXY_CLIENT,
} from '../core/bench-servers.js';
import { concatLatencies, median, percentile, runConcurrent } from '../core/measure.js';
import { progress } from '../core/progress.js';
import {
  formatValue,
  type Row,
  type RowKind,
  type ScenarioReport,
  settleRows,
  target,
} from '../core/report.js';
import {
  interleave,
  reason,
  type BenchContext,
  type RedisHandle,
  type Scenario,
} from '../core/scenario.js';
import { makeJsonValues, makeKeys, makeValues } from '../core/workload.js';
import { startOurCache } from '../subjects/our-cache.subject.js';
import { rawCluster } from '../subjects/raw-clients.subject.js';

const TTL_MS = 10 * 60_000;
const NAMESPACE = 'bench-e';
/** Keys read back per run for the gets table (of the keys just written). */
const GET_KEYS = 50_000;

/** One topology: how our cache and raw clients reach it, and the servers behind it. */
interface Topology {
  label: string;
  l2: DistributedCacheModuleOptions['l2'];
  /** The servers holding the data (FLUSHALL between runs). */
  backends: ReadonlyArray<Pick<RedisHandle, 'cli'>>;
  /** A raw client of the topology (auto-pipelined), for the limit rows. */
  client(): Promise<Redis | Cluster>;
  /** How many of `keys` exist, asked of the backends (`client` is one from {@link client}). */
  count(keys: readonly string[], client: Redis | Cluster): Promise<number>;
}

interface TopologySubject {
  label: string;
  kind: RowKind;
  topology: Topology;
  durableSeconds: number[];
  resolvedSeconds: number[];
  readBack: number[];
  getRuns: number[];
  getLatencies: Float64Array[];
  /** Reads that missed (each key was written, so each miss is an L2 read that failed). */
  misses: number[];
  unavailable?: string;
}

/**
 * (e) Write-behind durable sets and L2 gets through twemproxy (3 shards) and on a 3-master Cluster,
 * next to the single Redis, in the same run; raw auto-pipelined ioredis on each as the limit.
 */
export const topologiesScenario: Scenario = {
  id: 'e',
  title: 'Topologies: single Redis vs twemproxy (3 shards) vs Cluster (3 masters)',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const total = sizes.durableSets;
    const values = makeValues(total);
    const jsonValues = makeJsonValues(total);
    const notes = [
      'invalidation bus off in every row (one instance; it publishes one message per flushed batch otherwise)',
      'raw rows: ioredis with enableAutoPipelining and 1,000 in flight (a Cluster pipeline cannot span nodes), SET PX / GET',
    ];

    const topologies: Topology[] = [
      {
        label: 'single Redis',
        l2: { type: 'redis', url: context.redisUrl },
        backends: [context.redis],
        client: async () => {
          const client = new Redis({
            port: context.redis.port,
            host: '127.0.0.1',
            enableAutoPipelining: true,
            lazyConnect: true,
          });
          await client.connect();
          return client;
        },
        count: (keys) => countExisting(context.admin, keys),
      },
    ];
    const shardClients: Redis[] = [];
    try {
      const proxy = await startTwemproxy();
      shardClients.push(...proxy.shards.map((shard) => adminClient(shard.port)));
      topologies.push({
        label: 'twemproxy, 3 shards',
        l2: { type: 'twemproxy', host: '127.0.0.1', port: proxy.port },
        backends: proxy.shards,
        // Each key lives on one shard: ask every shard directly and add up.
        count: async (keys) => {
          let found = 0;
          for (const shard of shardClients) found += await countExisting(shard, keys);
          return found;
        },
        client: async () => {
          const client = new Redis({
            port: proxy.port,
            host: '127.0.0.1',
            enableAutoPipelining: true,
            lazyConnect: true,
            ...TWEMPROXY_CLIENT,
          });
          await client.connect();
          return client;
        },
      });
    } catch (error: unknown) {
      notes.push(`twemproxy could not start: ${reason(error)}`);
    }
    try {
      const cluster = await startCluster();
      topologies.push({
        label: 'Cluster, 3 masters',
        l2: { type: 'cluster', nodes: cluster.seeds },
        backends: cluster.nodes,
        client: () => rawCluster(cluster.seeds),
        count: (keys, client) => countExistingEach(client, keys),
      });
    } catch (error: unknown) {
      notes.push(`Redis Cluster could not start: ${reason(error)}`);
    }

    const makeSubject = (label: string, kind: RowKind, topology: Topology): TopologySubject => ({
      label,
      kind,
      topology,
      durableSeconds: [],
      resolvedSeconds: [],
      readBack: [],
      getRuns: [],
      getLatencies: [],
      misses: [],
    });
    const subjects: TopologySubject[] = [];
    for (const topology of topologies) {
      subjects.push(makeSubject(`raw ioredis, ${topology.label}`, 'limit', topology));
      const ours = makeSubject(`ours, ${topology.label}`, 'ours', topology);
      // Our cache may not support this topology yet: find out once, before measuring.
      try {
        const probe = await startOurCache(ourOptions(topology));
        await probe.cache.set('probe', 1);
        await probe.cache.flush();
        await probe.close();
      } catch (error: unknown) {
        ours.unavailable = reason(error);
        progress(`(e) ours on ${topology.label}: not available: ${ours.unavailable}`);
      }
      subjects.push(ours);
    }

    const measured = subjects.filter((s) => s.unavailable === undefined);
    const measuring = interleave('e', measured, sizes.runs, async (subject, round) => {
      await Promise.all(subject.topology.backends.map((node) => node.cli('FLUSHALL')));
      // The warm-up round writes a quarter of the keys: enough to warm the JIT and connections.
      const count = round === 0 ? Math.ceil(total / 4) : total;
      const keys = makeKeys(`e${round}-key-`, count);
      const getCount = Math.min(count, GET_KEYS);
      const verify = await subject.topology.client();
      try {
        let resolvedSeconds: number;
        let durableSeconds: number;
        let fullKeys: readonly string[];
        let gets: { opsPerSec: number; latenciesMs: Float64Array };
        let misses = 0;
        if (subject.kind === 'limit') {
          const started = performance.now();
          await runConcurrent(
            (i) => verify.set(keys[i]!, jsonValues[i]!, 'PX', TTL_MS),
            count,
            1_000,
          );
          durableSeconds = resolvedSeconds = (performance.now() - started) / 1000;
          fullKeys = keys;
          gets = await runConcurrent((i) => verify.get(keys[i]!), getCount, 100);
        } else {
          const writer = await startOurCache(ourOptions(subject.topology));
          try {
            const started = performance.now();
            await runConcurrent((i) => writer.cache.set(keys[i]!, values[i]), count, 100);
            resolvedSeconds = (performance.now() - started) / 1000;
            await writer.cache.flush();
            durableSeconds = (performance.now() - started) / 1000;
          } finally {
            await writer.close();
          }
          fullKeys = keys.map((key) => `${NAMESPACE}:${key}`);
          const reader = await startOurCache(ourOptions(subject.topology));
          try {
            gets = await runConcurrent(
              async (i) => {
                if ((await reader.cache.get(keys[i]!)) === undefined) misses++;
              },
              getCount,
              100,
            );
          } finally {
            await reader.close();
          }
        }
        const readBack = await subject.topology.count(fullKeys, verify);
        if (round > 0) {
          subject.durableSeconds.push(durableSeconds);
          subject.resolvedSeconds.push(resolvedSeconds);
          subject.readBack.push(readBack);
          subject.getRuns.push(gets.opsPerSec);
          subject.getLatencies.push(gets.latenciesMs);
          subject.misses.push(misses);
        }
        return `${formatValue(count / durableSeconds, 'rate')} durable sets/s (read back ${readBack}/${count}), ${formatValue(gets.opsPerSec, 'rate')} gets/s${misses > 0 ? `, ${misses} misses` : ''}`;
      } finally {
        verify.disconnect();
      }
    });
    try {
      await measuring;
    } finally {
      for (const client of shardClients) client.disconnect();
    }

    const unavailableRow = (subject: TopologySubject): Row => ({
      subject: subject.label,
      kind: subject.kind,
      unavailable: subject.unavailable!,
    });
    const setRows: Row[] = settleRows(
      subjects.map((subject) =>
        subject.unavailable !== undefined
          ? unavailableRow(subject)
          : {
              subject: subject.label,
              kind: subject.kind,
              runs: subject.durableSeconds.map((s) => total / s),
              cells: {
                'durable s': median(subject.durableSeconds).toFixed(3),
                'set() resolved s': median(subject.resolvedSeconds).toFixed(3),
                'read back': `${Math.min(...subject.readBack)}/${total}`,
              },
            },
      ),
    );
    const getRows: Row[] = settleRows(
      subjects.map((subject) => {
        if (subject.unavailable !== undefined) return unavailableRow(subject);
        const all = concatLatencies(subject.getLatencies);
        const worst = Math.max(...subject.misses);
        return {
          subject:
            worst > 0
              ? `${subject.label} (${worst === total ? 'every' : 'some'} read missed)`
              : subject.label,
          kind: subject.kind,
          runs: subject.getRuns,
          p50Ms: percentile(all, 50),
          p99Ms: percentile(all, 99),
          cells: { 'misses (worst run)': `${worst}/${Math.min(total, GET_KEYS)}` },
        };
      }),
    );
    const missing = subjects.filter((subject) => subject.misses.some((m) => m > 0));
    // Only one limit row per table: the single Redis one.
    for (const rows of [setRows, getRows]) {
      for (const row of rows)
        if (row.kind === 'limit' && !row.subject.endsWith('single Redis')) row.kind = 'raw';
    }
    const oursValue = (rows: Row[], topology: string): number | undefined =>
      rows.find((row) => row.subject === `ours, ${topology}`)?.value;
    const single = oursValue(setRows, 'single Redis');
    const proxy = oursValue(setRows, 'twemproxy, 3 shards');
    const cluster = oursValue(setRows, 'Cluster, 3 masters');
    const reports: ScenarioReport[] = [
      {
        id: 'e-sets',
        title: 'Topologies: write-behind durable sets',
        setup: `${total.toLocaleString('en-US')} sets of ~200-byte values, 100 in flight, until flush() resolves, then every key read back from the backends; ${sizes.runs} runs`,
        metric: { label: 'durable sets/s', higherIsBetter: true, format: 'rate' },
        rows: setRows,
        extraColumns: ['durable s', 'set() resolved s', 'read back'],
        notes: [
          ...notes,
          ...(single !== undefined && cluster !== undefined
            ? [
                `Cluster / single Redis (ours, no target in issue 8): ${(cluster / single).toFixed(2)}`,
              ]
            : []),
        ],
        targets: [
          target(
            'through twemproxy >= 0.7x direct Redis for the durable sets',
            single !== undefined && proxy !== undefined ? proxy / single : undefined,
            '>=',
            0.7,
            `twemproxy ${formatValue(proxy, 'rate')} / single ${formatValue(single, 'rate')} sets/s`,
          ),
        ],
      },
      {
        id: 'e-gets',
        title: 'Topologies: L2 gets (L1 miss), 100 in flight',
        setup: `${Math.min(total, GET_KEYS).toLocaleString('en-US')} of the keys just written, read once each by a fresh instance (empty L1), 100 in flight; ${sizes.runs} runs`,
        metric: { label: 'gets/s', higherIsBetter: true, format: 'rate' },
        latency: true,
        rows: getRows,
        extraColumns: ['misses (worst run)'],
        notes: missing.map(
          (subject) =>
            `${subject.label}: reads missed although every key was written (failed L2 reads count as misses; see its stats()/events$ l2Errors); its gets/s counts those misses`,
        ),
        targets: [],
      },
    ];
    return reports;
  },
};

function ourOptions(topology: Topology): DistributedCacheModuleOptions {
  return { namespace: NAMESPACE, ttl: '10m', l2: topology.l2, invalidation: { enabled: false } };
}
