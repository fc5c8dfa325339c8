import { isDeepStrictEqual } from 'node:util';
import type { CacheService } from '../../lib/cache.service.js';
import type { L2Options } from '../../lib/options/cache-options.interface.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { delay, waitFor } from '../support/poll.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { RedisServer } from '../support/redis-server.js';
import { Twemproxy } from '../support/twemproxy.js';

/**
 * Issue 12, part 1: one dead shard must cost its own keys, never the whole cache. A real
 * nutcracker over three shards (`auto_eject_hosts: false`), each shard killed in turn (kill -9),
 * so one run kills the shard holding the namespace version key; and a real Redis Cluster with
 * `cluster-require-full-coverage no`, one master killed (no replicas: its slot range has no
 * master), once the master holding the version key and once another.
 *
 * During each fault, from an instance without L1 created before the kill (so it has confirmed the
 * namespace version token), it asserts what must keep working: live-shard keys hit by get() and by
 * an mget() mixing dead- and live-shard keys, the breaker stays closed, a live-shard write is
 * readable on another instance within flushIntervalMs + l2TimeoutMs + 100 ms, no call throws, and
 * get()/set() answer within l2TimeoutMs + 150 ms. After the restart (empty: no persistence), the
 * writes of dead-shard keys made during the fault must land, re-sent by the write-behind queue.
 */
const NAMESPACE = 'deadshard';
const KEY_COUNT = 1_000;
/** Live-shard keys read one at a time during the fault. */
const GET_SAMPLE = 200;
/** Dead-shard keys written (and read one at a time) during the fault. */
const DEAD_WRITES = 20;
/** Live-shard writes timed until another instance reads them. */
const VISIBILITY_SAMPLES = 5;
const L2_TIMEOUT_MS = 250;
/** The write-behind default, said here because the visibility bound depends on it. */
const FLUSH_INTERVAL_MS = 20;
/** The bound for a live-shard write to be readable on another instance. */
const VISIBLE_BOUND_MS = FLUSH_INTERVAL_MS + L2_TIMEOUT_MS + 100;
/** Longest get()/set() during the fault: one L2 timeout plus slack for two shared cores. */
const LATENCY_BOUND_MS = L2_TIMEOUT_MS + 150;
const MIN_HIT_RATIO = 0.99;
/** A dead-shard key read answered within this counts as failing fast (fault established). */
const FAIL_FAST_MS = 50;
/**
 * Shortest fault before the measurements, from the kill: the dead-shard writes are retried and
 * back off meanwhile, and the probe keeps reading. Well under l1.ttl (30 s), the bound on how long
 * a confirmed version token stands in for an unavailable version key.
 */
const FAULT_HOLD_MS = 3_000;

/** The figures one scenario measured, printed as one table row. */
interface DeadShardFigures {
  scenario: string;
  holdsVersionKey: boolean;
  liveKeys: number;
  deadKeys: number;
  /** From the kill until the measurements ended, in milliseconds. */
  faultMs: number;
  /** Live-shard keys that hit by get() (the sample), as a ratio. */
  getHitRatio: number;
  /** Live-shard keys that hit among get()s of live and dead keys started in one tick. */
  togetherHitRatio: number;
  /** Live-shard keys that hit in the mixed mget(), as a ratio. */
  mgetHitRatio: number;
  /** The read probe (live keys and, between them, dead keys): live hit ratio, and reads in all. */
  probeHitRatio: number;
  probeReads: number;
  getP99Ms: number;
  getMaxMs: number;
  setP99Ms: number;
  setMaxMs: number;
  /** Slowest of the live-shard writes, from set() until another instance read it. */
  visibleMaxMs: number;
  /** From the restart until a fresh instance read every dead-shard write made during the fault. */
  landedAfterRestartMs: number;
}

/** How a scenario reaches its topology. */
interface Topology {
  l2: L2Options;
  /** Groups Redis keys by the server holding them, asking the servers. */
  holders(keys: readonly string[]): Promise<Map<RedisServer | undefined, string[]>>;
  /** Resolves once the topology itself sees the victim down (Cluster: the node flagged `fail`). */
  faultSeen(victim: RedisServer): Promise<void>;
}

const reports: DeadShardFigures[] = [];
const apps: CacheApp[] = [];
let bus: RedisServer;

async function instance(
  l2: L2Options,
  options: Partial<Parameters<typeof startCacheApp>[0]> = {},
): Promise<CacheApp> {
  const app = await startCacheApp({
    namespace: NAMESPACE,
    l2,
    l2TimeoutMs: L2_TIMEOUT_MS,
    // twemproxy has no pub/sub: the bus gets its own Redis (on Cluster too, to keep them alike).
    invalidation: { url: bus.url },
    writeBehind: { flushIntervalMs: FLUSH_INTERVAL_MS, shutdownTimeoutMs: 3_000 },
    ...options,
  });
  apps.push(app);
  return app;
}

function valueBefore(key: string): { key: string; phase: string } {
  return { key, phase: 'before' };
}

function valueDuring(key: string): { key: string; phase: string } {
  return { key, phase: 'during' };
}

function redisKey(key: string): string {
  return `${NAMESPACE}:${key}`;
}

/** Calls to the cache during the fault, timed; a call that throws is counted, never rethrown. */
class TimedCalls {
  readonly getMs: number[] = [];
  readonly setMs: number[] = [];
  readonly thrown: string[] = [];

  async get(cache: CacheService, key: string): Promise<unknown> {
    const started = performance.now();
    try {
      return await cache.get(key);
    } catch (error: unknown) {
      this.thrown.push(`get(${key}): ${String(error)}`);
      return undefined;
    } finally {
      this.getMs.push(performance.now() - started);
    }
  }

  async mget(cache: CacheService, keys: readonly string[]): Promise<unknown[]> {
    try {
      return await cache.mget(keys);
    } catch (error: unknown) {
      this.thrown.push(`mget(${keys.length} keys): ${String(error)}`);
      return keys.map(() => undefined);
    }
  }

  async set(cache: CacheService, key: string, value: unknown): Promise<void> {
    const started = performance.now();
    try {
      await cache.set(key, value);
    } catch (error: unknown) {
      this.thrown.push(`set(${key}): ${String(error)}`);
    } finally {
      this.setMs.push(performance.now() - started);
    }
  }
}

/**
 * get() in a loop, one at a time, from just before the kill until the measurements end: three
 * live-shard keys, then one dead-shard key. Shows that live keys hit throughout, also while the
 * fault is being noticed, with dead-shard misses between them.
 */
class ReadProbe {
  liveHits = 0;
  liveReads = 0;
  deadReads = 0;
  /** Dead-shard keys that read anything but a miss. */
  deadValues = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly cache: CacheService,
    private readonly liveKeys: readonly string[],
    private readonly deadKeys: readonly string[],
    private readonly calls: TimedCalls,
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
      if (i % 4 === 3) {
        const key = this.deadKeys[this.deadReads % this.deadKeys.length]!;
        if ((await this.calls.get(this.cache, key)) !== undefined) this.deadValues++;
        this.deadReads++;
      } else {
        const key = this.liveKeys[this.liveReads % this.liveKeys.length]!;
        const value = await this.calls.get(this.cache, key);
        this.liveReads++;
        if (isDeepStrictEqual(value, valueBefore(key))) this.liveHits++;
      }
      // Yield to timers between reads, as an event loop serving requests would.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** Math.max without spreading (the probe's latencies can outgrow the call stack). */
function maximum(values: readonly number[]): number {
  return values.reduce((max, value) => Math.max(max, value), 0);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function hitRatio(keys: readonly string[], values: readonly unknown[]): number {
  const hits = keys.filter((key, i) => isDeepStrictEqual(values[i], valueBefore(key))).length;
  return hits / keys.length;
}

/**
 * Writes KEY_COUNT keys, kills `pickVictim()`'s server, measures what keeps working, restarts it
 * and waits for the dead-shard writes to land. Pushes the figures to `reports` (the assertions are
 * inside).
 */
async function deadShardScenario(
  scenario: string,
  topology: Topology,
  pickVictim: (versionKeyHolder: RedisServer) => RedisServer,
): Promise<void> {
  const writer = await instance(topology.l2);
  const reader = await instance(topology.l2, { l1: false });
  const keys = Array.from({ length: KEY_COUNT }, (_, i) => `k${i}`);
  await writer.cache.mset(keys.map((key) => ({ key, value: valueBefore(key) })));
  await writer.cache.flush(10_000);

  // Where everything lives, asked of the servers.
  const versionKey = `${NAMESPACE}|v`;
  const [versionKeyHolder] = [...(await topology.holders([versionKey])).keys()];
  if (versionKeyHolder === undefined) throw new Error(`${versionKey} is on no server`);
  const victim = pickVictim(versionKeyHolder);
  const byHolder = await topology.holders(keys.map(redisKey));
  expect(byHolder.get(undefined)).toBeUndefined();
  const onVictim = new Set(byHolder.get(victim) ?? []);
  const isDead = (key: string): boolean => onVictim.has(redisKey(key));
  const dead = keys.filter(isDead);
  const live = keys.filter((key) => !isDead(key));
  expect(dead.length).toBeGreaterThan(2 * DEAD_WRITES);
  expect(live.length).toBeGreaterThan(GET_SAMPLE + VISIBILITY_SAMPLES);
  // Live keys written during the fault (timed), kept apart from the keys read against 'before'.
  const visibilityKeys = live.slice(0, VISIBILITY_SAMPLES);
  const liveRead = live.slice(VISIBILITY_SAMPLES);
  const deadWrites = dead.slice(0, DEAD_WRITES);

  // Before the fault every key hits on the reader (which also confirms the version token).
  expect(hitRatio(keys, await reader.cache.mget(keys))).toBe(1);
  const opensBefore = [writer.cache.stats().breakerOpens, reader.cache.stats().breakerOpens];

  const calls = new TimedCalls();
  const probe = new ReadProbe(reader.cache, liveRead, dead.slice(DEAD_WRITES), calls);
  probe.start();
  try {
    await victim.kill();
    const killedAt = performance.now();
    await topology.faultSeen(victim);
    // Established once a dead-shard key's read fails fast (e.g. ioredis knows the node is gone).
    await waitFor(
      async () => {
        const started = performance.now();
        const value = await calls.get(reader.cache, dead[0]!);
        return value === undefined && performance.now() - started < FAIL_FAST_MS;
      },
      { timeoutMs: 10_000, intervalMs: 50, message: 'a dead-shard read to fail fast' },
    );

    // Writes of dead-shard keys: accepted at once, held and retried by the write-behind queue
    // through the hold below (long enough for their retries to back off).
    for (const key of deadWrites) await calls.set(writer.cache, key, valueDuring(key));
    const holdMs = FAULT_HOLD_MS - (performance.now() - killedAt);
    if (holdMs > 0) await delay(holdMs);

    // get(), one at a time: live-shard keys hit, dead-shard keys miss (their shard is down).
    const sample = liveRead.slice(0, GET_SAMPLE);
    const sampleValues: unknown[] = [];
    for (const key of sample) sampleValues.push(await calls.get(reader.cache, key));
    const deadReads: unknown[] = [];
    for (const key of deadWrites) deadReads.push(await calls.get(reader.cache, key));
    expect(deadReads.filter((value) => value !== undefined)).toEqual([]);

    // get() of live and dead keys started in one tick (the reads share an L2 batch).
    const together = [...liveRead.slice(-GET_SAMPLE / 2), ...deadWrites];
    const togetherValues = await Promise.all(together.map((key) => calls.get(reader.cache, key)));
    const togetherLive = together.filter((key) => !isDead(key));

    // One mget() of every key, dead- and live-shard mixed.
    const mixed = await calls.mget(reader.cache, keys);
    expect(keys.filter((key, i) => isDead(key) && mixed[i] !== undefined)).toEqual([]);
    const liveValues = keys.flatMap((key, i) => (isDead(key) ? [] : [mixed[i]]));

    // A live-shard write on the writer, polled on the reader until it reads the new value.
    const visibleMs: number[] = [];
    for (const key of visibilityKeys) {
      const started = performance.now();
      await calls.set(writer.cache, key, valueDuring(key));
      let seenAt = Number.POSITIVE_INFINITY;
      // Polled for a while past the bound, so that a miss still prints how late the write was.
      while (performance.now() - started < 4 * VISIBLE_BOUND_MS) {
        if (isDeepStrictEqual(await calls.get(reader.cache, key), valueDuring(key))) {
          seenAt = performance.now();
          break;
        }
      }
      visibleMs.push(seenAt - started);
    }

    await probe.stop();
    const faultMs = performance.now() - killedAt;
    const figures: DeadShardFigures = {
      scenario,
      holdsVersionKey: victim === versionKeyHolder,
      liveKeys: live.length,
      deadKeys: dead.length,
      faultMs: Math.round(faultMs),
      getHitRatio: hitRatio(sample, sampleValues),
      togetherHitRatio: hitRatio(
        togetherLive,
        togetherValues.filter((_, i) => !isDead(together[i]!)),
      ),
      mgetHitRatio: hitRatio(live, liveValues),
      probeHitRatio: probe.liveHits / probe.liveReads,
      probeReads: probe.liveReads + probe.deadReads,
      getP99Ms: round(percentile(calls.getMs, 0.99)),
      getMaxMs: round(maximum(calls.getMs)),
      setP99Ms: round(percentile(calls.setMs, 0.99)),
      setMaxMs: round(maximum(calls.setMs)),
      visibleMaxMs: round(maximum(visibleMs)),
      landedAfterRestartMs: Number.NaN,
    };
    reports.push(figures);

    expect(calls.thrown).toEqual([]);
    expect({
      writer: writer.cache.stats().breaker,
      reader: reader.cache.stats().breaker,
      opens: [writer.cache.stats().breakerOpens, reader.cache.stats().breakerOpens],
    }).toEqual({ writer: 'closed', reader: 'closed', opens: opensBefore });
    expect(figures.getHitRatio).toBeGreaterThanOrEqual(MIN_HIT_RATIO);
    expect(figures.togetherHitRatio).toBeGreaterThanOrEqual(MIN_HIT_RATIO);
    expect(figures.mgetHitRatio).toBeGreaterThanOrEqual(MIN_HIT_RATIO);
    expect(figures.probeHitRatio).toBeGreaterThanOrEqual(MIN_HIT_RATIO);
    expect({ deadReads: probe.deadReads > 50, deadValues: probe.deadValues }).toEqual({
      deadReads: true,
      deadValues: 0,
    });
    expect(
      togetherValues.filter((value, i) => isDead(together[i]!) && value !== undefined),
    ).toEqual([]);
    expect(visibleMs.map((ms) => ms <= VISIBLE_BOUND_MS)).toEqual(visibleMs.map(() => true));
    expect(figures.getMaxMs).toBeLessThan(LATENCY_BOUND_MS);
    expect(figures.setMaxMs).toBeLessThan(LATENCY_BOUND_MS);
    // The dead-shard writes are still held: the dead shard took none of them.
    expect(writer.cache.stats().pending).toBeGreaterThanOrEqual(DEAD_WRITES);

    // Restarted empty: the dead-shard writes land only if the write-behind queue re-sends them.
    await victim.restart();
    const restartedAt = performance.now();
    const fresh = await instance(topology.l2, { l1: false });
    await waitFor(
      async () => {
        const values = await fresh.cache.mget(deadWrites);
        return deadWrites.every((key, i) => isDeepStrictEqual(values[i], valueDuring(key)));
      },
      { timeoutMs: 15_000, intervalMs: 20, message: 'the dead-shard writes to land' },
    );
    figures.landedAfterRestartMs = round(performance.now() - restartedAt);
    const landedOn = await topology.holders(deadWrites.map(redisKey));
    expect(landedOn.get(victim)?.length).toBe(DEAD_WRITES);
  } finally {
    await probe.stop();
  }
}

function printFigures(): void {
  const header =
    '| scenario | killed holds ns version key | live / dead keys | fault ms | live hit: get | ' +
    'get same tick | mget mixed | probe (reads) | get p99/max ms | set p99/max ms | ' +
    'live write visible elsewhere max ms | dead writes landed after restart ms |';
  const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;
  const rows = reports.map(
    (r) =>
      `| ${r.scenario} | ${r.holdsVersionKey ? 'yes' : 'no'} | ${r.liveKeys} / ${r.deadKeys} | ` +
      `${r.faultMs} | ${percent(r.getHitRatio)} | ${percent(r.togetherHitRatio)} | ` +
      `${percent(r.mgetHitRatio)} | ` +
      `${percent(r.probeHitRatio)} (${r.probeReads}) | ${r.getP99Ms}/${r.getMaxMs} | ` +
      `${r.setP99Ms}/${r.setMaxMs} | ${r.visibleMaxMs} | ${r.landedAfterRestartMs} |`,
  );
  console.log(
    `Dead shard (l2TimeoutMs ${L2_TIMEOUT_MS}, flushIntervalMs ${FLUSH_INTERVAL_MS}, ` +
      `visibility bound ${VISIBLE_BOUND_MS} ms)\n${header}\n` +
      `|---|---|---|---|---|---|---|---|---|---|---|---|\n${rows.join('\n')}`,
  );
}

beforeAll(async () => {
  bus = await RedisServer.start();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  printFigures();
  await bus.stop();
});

describe('CacheService', () => {
  describe('on twemproxy with one of three shards killed (kill -9)', () => {
    it.each([1, 2, 3])(
      'returns hits for live-shard keys and lands dead-shard writes after restart when shard r%i is dead',
      async (shardNumber) => {
        const proxy = await Twemproxy.start({ shards: 3, autoEjectHosts: false });
        try {
          await deadShardScenario(
            `twemproxy: shard r${shardNumber} of 3 down`,
            {
              l2: { type: 'twemproxy', host: proxy.host, port: proxy.port },
              holders: (keys) => proxy.keysByShard(keys),
              faultSeen: () => Promise.resolve(),
            },
            () => proxy.shards[shardNumber - 1]!,
          );
        } finally {
          await Promise.all(apps.splice(0).map((app) => app.close()));
          await proxy.stop();
        }
      },
      30_000,
    );
  });

  describe('on Redis Cluster (cluster-require-full-coverage no) with one of three masters killed', () => {
    it.each([
      ['holding the namespace version key', true],
      ['not holding the namespace version key', false],
    ])(
      'returns hits for live-master keys and lands dead-master writes after restart when the master %s is dead',
      async (label, holdsVersionKey) => {
        const cluster = await RedisCluster.start({ requireFullCoverage: false });
        try {
          await deadShardScenario(
            `cluster: master ${label} down`,
            {
              l2: { type: 'cluster', nodes: cluster.seeds },
              holders: (keys) => cluster.keysByNode(keys),
              faultSeen: (victim) => clusterSeesFailed(cluster, victim),
            },
            (holder) => (holdsVersionKey ? holder : cluster.nodes.find((node) => node !== holder)!),
          );
        } finally {
          await Promise.all(apps.splice(0).map((app) => app.close()));
          await cluster.stop();
        }
      },
      40_000,
    );
  });
});

/** Resolves once every live node flags `victim` as `fail` (after cluster-node-timeout). */
async function clusterSeesFailed(cluster: RedisCluster, victim: RedisServer): Promise<void> {
  await waitFor(
    async () => {
      for (const node of cluster.nodes) {
        if (node === victim) continue;
        const line = (await node.cli('CLUSTER', 'NODES'))
          .split('\n')
          .find((entry) => entry.split(' ')[1]?.startsWith(`${victim.host}:${victim.port}@`));
        if (!line?.split(' ')[2]?.split(',').includes('fail')) return false;
      }
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 100, message: `the cluster to flag ${victim.port} as fail` },
  );
}
