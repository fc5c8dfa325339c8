import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { printReports, SteadyLoad, type LoadReport } from '../../support/fault-load.js';
import { delay } from '../../support/poll.js';
import type { RedisServer } from '../../support/redis-server.js';
import { Twemproxy } from '../../support/twemproxy.js';

/**
 * The full cache (Nest module, write-behind, L1) on twemproxy over 3 shards, one shard killed
 * mid-load: the store errors for that shard's keys, callers see misses and never an error, and
 * everything comes back when the shard restarts.
 */
const NAMESPACE = 'tw';
const L2_TIMEOUT_MS = 200;
const ORIGIN_MS = 5;

let proxy: Twemproxy;
const apps: CacheApp[] = [];
const reports: LoadReport[] = [];

async function instance(options: Parameters<typeof startCacheApp>[0] = {}): Promise<CacheApp> {
  const app = await startCacheApp({
    namespace: NAMESPACE,
    l2: { type: 'twemproxy', host: proxy.host, port: proxy.port },
    // twemproxy has no pub/sub; this test is about the data path.
    invalidation: { enabled: false },
    l2TimeoutMs: L2_TIMEOUT_MS,
    l1: { max: 50 },
    writeBehind: { retryMaxDelayMs: 200 },
    ...options,
  });
  apps.push(app);
  return app;
}

/** The shard holding most of `keys` (asked from the backends), and the keys it holds. */
async function busiestShard(keys: readonly string[]): Promise<[RedisServer, string[]]> {
  const byShard = await proxy.keysByShard(keys);
  let best: [RedisServer, string[]] | undefined;
  for (const [shard, held] of byShard) {
    if (shard !== undefined && (best === undefined || held.length > best[1].length)) {
      best = [shard, held];
    }
  }
  if (best === undefined) throw new Error('no shard holds any of the keys');
  return best;
}

beforeAll(async () => {
  proxy = await Twemproxy.start({ shards: 3 });
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const shard of proxy.shards) if (!shard.isRunning()) await shard.restart();
});

afterAll(async () => {
  printReports('twemproxy, 3 shards (auto_eject_hosts: false)', reports);
  await proxy.stop();
});

describe('CacheService on twemproxy', () => {
  it('one of three shards killed mid-load: no caller sees an error (mget spanning it included), and it recovers on restart', async () => {
    const app = await instance();
    // Every key the load may write (w0..w199) exists first, so that asking the shards tells
    // where each one lives.
    const written = Array.from({ length: 200 }, (_, i) => `w${i}`);
    await app.cache.mset(written.map((key) => ({ key, value: -1 })));
    await app.cache.flush(5_000);
    const [victim, held] = await busiestShard(written.map((key) => `${NAMESPACE}:${key}`));
    const deadKeys = held.map((key) => key.slice(NAMESPACE.length + 1));
    const liveKeys = written.filter((key) => !deadKeys.includes(key));
    expect(deadKeys.length).toBeGreaterThan(0);
    const load = new SteadyLoad(app.cache, { originMs: ORIGIN_MS });
    load.start();
    await delay(700);
    const errorsBefore = app.cache.stats().l2Errors;

    // What each key held when the shard died: a value that only lived on that shard (no
    // persistence in these tests) and was never rewritten is lost with the crash, not by the cache.
    const atKill = new Map(load.truth);
    await victim.kill();
    // Another instance without L1 reads across every shard while one is dead: misses, no error.
    const reader = await instance({ l1: false });
    const spanning = [...deadKeys.slice(0, 5), ...liveKeys.slice(0, 5)];
    const values = await reader.cache.mget<number>(spanning);
    expect(values).toHaveLength(spanning.length);
    expect(values.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    await expect(reader.cache.get(deadKeys[0]!)).resolves.toBeUndefined();
    await delay(1_000);

    await victim.restart();
    await delay(1_500);
    await load.stop();
    // The store did fail (the dead shard's reads and writes), yet no caller saw it.
    expect(app.cache.stats().l2Errors).toBeGreaterThan(errorsBefore);
    await app.cache.flush(10_000);
    const report = { ...load.report('shard kill -9 + restart'), lost: 0 };
    const diedWithShard = (key: string): boolean =>
      deadKeys.includes(key) && atKill.get(key) === load.truth.get(key);
    const checked = [...load.truth.keys()].filter((key) => !diedWithShard(key));
    const stored = await reader.cache.mget<number>(checked);
    const lost = checked.filter(
      (key, i) => stored[i] !== load.truth.get(key) && !load.droppedKeys.has(key),
    );
    report.lost = lost.length;
    reports.push(report);
    expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    // The dead shard's "ERR Connection refused" replies were retried, not dropped as refusals.
    expect(report.dropped).toBe(0);
    expect(report.served).toBeGreaterThan(1_000);
    // Every write, those to the dead shard's keys included, reached L2 once the shard was back.
    expect(lost).toEqual([]);
    // The dead shard's keys written again after the kill read their new values from the shard.
    const rewritten = deadKeys.filter((key) => !diedWithShard(key));
    expect(rewritten.length).toBeGreaterThan(0);
    const after = await reader.cache.mget<number>(rewritten);
    expect(after).toEqual(rewritten.map((key) => load.truth.get(key)));
  });
});
