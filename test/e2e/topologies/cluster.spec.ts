import { CLUSTER_SLOTS, clusterKeySlot } from '../../../lib/l2/cluster/cluster-slots.js';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { RedisCluster } from '../../support/redis-cluster.js';

/**
 * The full cache (Nest module, write-behind, invalidation bus) on a 3-master Redis Cluster: batched
 * reads, writes and deletes whose keys cover every slot reach callers without a single CROSSSLOT
 * or other L2 error.
 */
const NAMESPACE = 'cl';

let cluster: RedisCluster;
const apps: CacheApp[] = [];

async function instance(options: Parameters<typeof startCacheApp>[0] = {}): Promise<CacheApp> {
  const app = await startCacheApp({
    namespace: NAMESPACE,
    l2: { type: 'cluster', nodes: cluster.seeds },
    // NOTE: one mget of 16,384 keys is one call, and only writes get a timeout scaled by size:
    // on 2 busy cores it can take over a second.
    l2TimeoutMs: 5_000,
    ...options,
  });
  apps.push(app);
  return app;
}

/** User keys whose namespaced keys (`cl:<key>`) cover all 16384 slots. */
function keysCoveringEverySlot(): string[] {
  const keys = new Array<string | undefined>(CLUSTER_SLOTS);
  let found = 0;
  for (let i = 0; found < CLUSTER_SLOTS; i++) {
    const key = `k${i}`;
    const slot = clusterKeySlot(`${NAMESPACE}:${key}`);
    if (keys[slot] === undefined) {
      keys[slot] = key;
      found++;
    }
  }
  return keys as string[];
}

beforeAll(async () => {
  cluster = await RedisCluster.start();
}, 60_000);

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  await cluster.stop();
});

describe('CacheService on Redis Cluster', () => {
  it('sets, reads and deletes keys in every slot through one batch each, with no L2 error', async () => {
    const writer = await instance();
    const reader = await instance({ l1: false });
    const keys = keysCoveringEverySlot();

    await writer.cache.mset(keys.map((key, i) => ({ key, value: { i }, ttl: '1m' })));
    await writer.cache.flush(20_000);
    const values = await reader.cache.mget<{ i: number }>(keys);
    expect(values.findIndex((value, i) => value?.i !== i)).toBe(-1);

    const half = keys.filter((_, i) => i % 2 === 0);
    await writer.cache.del(half);
    const after = await reader.cache.mget<{ i: number }>(keys);
    expect(after.filter((value) => value === undefined)).toHaveLength(half.length);
    expect(after[1]).toEqual({ i: 1 });

    for (const { cache } of [writer, reader]) {
      expect(cache.stats()).toMatchObject({ l2Errors: 0, dropped: 0 });
    }
    let stored = 0;
    for (const node of cluster.nodes) stored += Number(await node.cli('DBSIZE'));
    expect(stored).toBeGreaterThanOrEqual(keys.length - half.length);
  });
});
