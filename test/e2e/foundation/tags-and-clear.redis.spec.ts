import { Redis } from 'ioredis';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { RedisServer } from '../../support/redis-server.js';

let redis: RedisServer;
let client: Redis;
const apps: CacheApp[] = [];

async function start(namespace: string, l1 = true): Promise<CacheApp> {
  const app = await startCacheApp({
    l2: { type: 'redis', url: redis.url },
    namespace,
    ...(l1 ? {} : { l1: false }),
  });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  redis = await RedisServer.start();
  client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  await client.connect();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await client.flushall();
});

afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe('tags and clear() on a real Redis', () => {
  it('invalidates tagged entries for every instance reading L2, with one version key per tag', async () => {
    const { cache: a } = await start('shop');
    const { cache: b } = await start('shop', false);
    await a.set('product:1', { id: 1 }, { tags: ['product:1', 'catalogue'] });
    await a.set('product:2', { id: 2 }, { tags: ['product:2', 'catalogue'] });
    await a.flush();
    expect(await b.mget(['product:1', 'product:2'])).toEqual([{ id: 1 }, { id: 2 }]);

    await a.invalidateTags(['product:1']);
    expect(await b.get('product:1')).toBeUndefined();
    expect(await b.get('product:2')).toEqual({ id: 2 });
    // One SET of a version key, with a TTL, and no scan: the entry itself is still in Redis.
    expect(await client.exists('shop:product:1')).toBe(1);
    expect(await client.pttl('shop|t:product:1')).toBeGreaterThan(0);

    await a.invalidateTags(['catalogue']);
    expect(await b.mget(['product:1', 'product:2'])).toEqual([undefined, undefined]);
  });

  it('clears one namespace for every instance and leaves another namespace on the same Redis alone', async () => {
    const { cache: shop } = await start('shop');
    const { cache: shopReader } = await start('shop', false);
    const { cache: blog } = await start('blog', false);
    await shop.mset([
      { key: 'a', value: 1 },
      { key: 'b', value: 2, tags: ['t'] },
    ]);
    await blog.set('a', 'blog entry');
    await Promise.all([shop.flush(), blog.flush()]);
    await client.config('RESETSTAT');

    await shop.clear();
    expect(await shopReader.mget(['a', 'b'])).toEqual([undefined, undefined]);
    expect(await blog.get('a')).toBe('blog entry');
    const commands = await client.info('commandstats');
    expect(commands).not.toMatch(/cmdstat_(keys|scan|flushdb|flushall):/);

    await shop.set('a', 'after clear');
    await shop.flush();
    expect(await shopReader.get('a')).toBe('after clear');
  });

  it('a new instance started after a clear() sees the cleared state', async () => {
    const { cache: a } = await start('shop');
    await a.set('k', 'before');
    await a.flush();
    await a.clear();
    const { cache: late } = await start('shop');
    expect(await late.get('k')).toBeUndefined();
    await late.set('k', 'written by the late instance');
    await late.flush();
    const { cache: reader } = await start('shop', false);
    expect(await reader.get('k')).toBe('written by the late instance');
  });
});
