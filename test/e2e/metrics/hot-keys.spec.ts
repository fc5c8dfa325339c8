import { startCacheApp, type CacheApp } from '../../support/cache-app.js';

describe('stats().hotKeys(n)', () => {
  const apps: CacheApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('answers the most read keys, L1 hits and misses alike, most read first', async () => {
    const app = await startCacheApp({
      namespace: 'hot',
      hotKeys: { capacity: 50, sampleEvery: 1 },
    });
    apps.push(app);
    const { cache } = app;
    await cache.set('product:1', 1);
    for (let i = 0; i < 300; i++) await cache.get('product:1'); // L1 hits
    for (let i = 0; i < 120; i++) await cache.get('product:missing'); // misses
    await cache.mget(['product:2', 'product:3']);
    for (let i = 0; i < 50; i++) await cache.getOrSet('report', () => 'r');
    const top = cache.stats().hotKeys(3);
    expect(top.map((entry) => entry.key)).toEqual(['product:1', 'product:missing', 'report']);
    expect(top[0]).toEqual({ key: 'product:1', reads: 300, error: 0 });
    // Numbers only when the snapshot is logged.
    expect(JSON.parse(JSON.stringify(cache.stats()))).not.toHaveProperty('hotKeys');
  });

  it('counts nothing when off', async () => {
    const app = await startCacheApp({ namespace: 'cold' });
    apps.push(app);
    await app.cache.get('k');
    expect(app.cache.stats().hotKeys(10)).toEqual([]);
  });
});
