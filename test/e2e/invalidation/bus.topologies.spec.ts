import type { DistributedCacheModuleOptions } from '../../../lib/options/cache-options.interface.js';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { waitForValue } from '../../support/poll.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import { RedisSentinelGroup, SENTINEL_MASTER_NAME } from '../../support/redis-sentinel.js';
import { RedisServer } from '../../support/redis-server.js';
import { Twemproxy } from '../../support/twemproxy.js';

/**
 * The bus on every topology: instance A changes a key (set, del, invalidateTags, clear), and
 * instance B, which holds the old value in its L1, reads the new state once A's write landed.
 */
const apps: CacheApp[] = [];

async function pair(options: DistributedCacheModuleOptions): Promise<[CacheApp, CacheApp]> {
  const a = await startCacheApp({ namespace: 'bus', ...options });
  const b = await startCacheApp({ namespace: 'bus', ...options });
  apps.push(a, b);
  return [a, b];
}

/** Runs the same script on any topology. */
async function propagates([a, b]: [CacheApp, CacheApp]): Promise<void> {
  await a.cache.set('k', 'v1', { tags: ['t'] });
  await a.cache.flush();
  await waitForValue(() => b.cache.get('k'), 'v1');
  // B now holds v1 in L1: only an invalidation can make it read anything else.
  expect(await b.cache.get('k')).toBe('v1');
  await a.cache.set('k', 'v2', { tags: ['t'] });
  await waitForValue(() => b.cache.get('k'), 'v2');
  await a.cache.del('k');
  await waitForValue(() => b.cache.get('k'), undefined);
  await a.cache.set('k', 'v3', { tags: ['t'] });
  await waitForValue(() => b.cache.get('k'), 'v3');
  await a.cache.invalidateTags(['t']);
  await waitForValue(() => b.cache.get('k'), undefined);
  await a.cache.set('k', 'v4');
  await waitForValue(() => b.cache.get('k'), 'v4');
  await a.cache.clear();
  await waitForValue(() => b.cache.get('k'), undefined);
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('InvalidationBus on every topology', () => {
  it('twemproxy over 3 shards, with the bus on a direct Redis connection', async () => {
    const proxy = await Twemproxy.start({ shards: 3 });
    const busRedis = await RedisServer.start();
    try {
      await propagates(
        await pair({
          l2: { type: 'twemproxy', host: proxy.host, port: proxy.port },
          invalidation: { url: busRedis.url },
        }),
      );
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await proxy.stop();
      await busRedis.stop();
    }
  });

  it('Redis Cluster (3 masters), plain pub/sub broadcast by the cluster', async () => {
    const cluster = await RedisCluster.start();
    try {
      await propagates(
        await pair({ l2: { type: 'cluster', nodes: cluster.seeds }, l2TimeoutMs: 1_000 }),
      );
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await cluster.stop();
    }
  });

  it('Sentinel (master, replica, sentinel)', async () => {
    const group = await RedisSentinelGroup.start();
    try {
      await propagates(
        await pair({
          l2: { type: 'sentinel', sentinels: group.sentinelNodes, name: SENTINEL_MASTER_NAME },
          l2TimeoutMs: 1_000,
        }),
      );
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await group.stop();
    }
  });
});
