import type { DistributedCacheModuleOptions } from '../../../lib/options/cache-options.interface.js';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { RedisSentinelGroup, SENTINEL_MASTER_NAME } from '../../support/redis-sentinel.js';
import { RedisServer } from '../../support/redis-server.js';
import { Twemproxy } from '../../support/twemproxy.js';

/**
 * Distributed single-flight on every topology: 4 instances (separate Nest apps sharing one L2)
 * × 250 concurrent getOrSet of one missing key, with a 200 ms factory. The factory must run once
 * across all of them, every caller must get its value, and the last caller must resolve within
 * the factory time plus one poll step plus 50 ms.
 */
const INSTANCES = 4;
const CALLERS = 250;
const FACTORY_MS = 200;
/**
 * One poll step when the value lands, jitter included: waiters poll after 20, 40, 80, 160 ms
 * (±20%); a 200 ms factory lands during the 160 ms step. The bus usually wakes them sooner.
 */
const POLL_STEP_MS = 160 * 1.2;
const apps: CacheApp[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function stampede(options: DistributedCacheModuleOptions): Promise<void> {
  for (let i = 0; i < INSTANCES; i++) {
    apps.push(await startCacheApp({ namespace: 'sf', ...options }));
  }
  const key = `product:${Math.random().toString(36).slice(2)}`;
  let runs = 0;
  const factory = async (): Promise<{ id: string }> => {
    runs++;
    await new Promise((resolve) => setTimeout(resolve, FACTORY_MS));
    return { id: key };
  };
  const started = performance.now();
  const results = await Promise.all(
    apps.flatMap((app) =>
      Array.from({ length: CALLERS }, async () => {
        const value = await app.cache.getOrSet(key, factory, { lock: true });
        return { value, ms: performance.now() - started };
      }),
    ),
  );
  const last = Math.max(...results.map((result) => result.ms));
  const stats = apps.map((app) => app.cache.stats());
  process.stdout.write(
    `[single-flight] ${INSTANCES} x ${CALLERS}: factory runs ${runs}, last caller ${last.toFixed(0)} ms ` +
      `(factory ${FACTORY_MS} ms), waits ${stats.map((s) => s.lockWaits).join('/')}, ` +
      `wait ms ${stats.map((s) => s.lockWaitMsTotal).join('/')}\n`,
  );
  expect(runs).toBe(1);
  expect(results).toHaveLength(INSTANCES * CALLERS);
  for (const result of results) expect(result.value).toEqual({ id: key });
  expect(last).toBeLessThanOrEqual(FACTORY_MS + POLL_STEP_MS + 50);
  expect(stats.reduce((sum, s) => sum + s.lockAcquired, 0)).toBe(1);
  expect(stats.reduce((sum, s) => sum + s.lockWaits, 0)).toBe(INSTANCES - 1);
  expect(stats.reduce((sum, s) => sum + s.lockFallbacks, 0)).toBe(0);
}

describe('getOrSet({ lock: true }): one factory run across 4 instances', () => {
  it('on a single Redis', async () => {
    const redis = await RedisServer.start();
    try {
      await stampede({ l2: { type: 'redis', url: redis.url } });
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await redis.stop();
    }
  });

  it('on a single Redis without the invalidation bus (waiters poll)', async () => {
    const redis = await RedisServer.start();
    try {
      await stampede({ l2: { type: 'redis', url: redis.url }, invalidation: { enabled: false } });
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await redis.stop();
    }
  });

  it('through twemproxy over 3 shards (bus on a direct Redis)', async () => {
    const proxy = await Twemproxy.start({ shards: 3 });
    const busRedis = await RedisServer.start();
    try {
      await stampede({
        l2: { type: 'twemproxy', host: proxy.host, port: proxy.port },
        invalidation: { url: busRedis.url },
      });
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await proxy.stop();
      await busRedis.stop();
    }
  });

  it('on a Redis Cluster of 3 masters', async () => {
    const cluster = await RedisCluster.start();
    try {
      await stampede({ l2: { type: 'cluster', nodes: cluster.seeds }, l2TimeoutMs: 1_000 });
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await cluster.stop();
    }
  });

  it('on Sentinel (master, replica, sentinel)', async () => {
    const group = await RedisSentinelGroup.start();
    try {
      await stampede({
        l2: { type: 'sentinel', sentinels: group.sentinelNodes, name: SENTINEL_MASTER_NAME },
        l2TimeoutMs: 1_000,
      });
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await group.stop();
    }
  });
});
