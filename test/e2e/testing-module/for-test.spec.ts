import 'reflect-metadata';
import { Injectable, Module, type ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  Cacheable,
  CacheEvict,
  CacheOptionsError,
  CacheService,
  DistributedCacheModule,
  getCacheToken,
  type GetOrSetOptions,
} from '../../../lib/index.js';
import { MemoryStore } from '../../../lib/stores/index.js';
import {
  CacheInspector,
  type DistributedCacheTestingOptions,
  getCacheInspectorToken,
} from '../../../lib/testing/index.js';
import { waitFor } from '../../support/poll.js';

const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };
const apps: TestingModule[] = [];

async function start(metadata: ModuleMetadata): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule(metadata).setLogger(silent).compile();
  apps.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}

/** `forTest(options)` alone, with its CacheService and CacheInspector. */
async function startCache(
  options?: DistributedCacheTestingOptions,
): Promise<{ cache: CacheService; inspector: CacheInspector }> {
  const app = await start({ imports: [DistributedCacheModule.forTest(options)] });
  return { cache: app.get(CacheService), inspector: app.get(CacheInspector) };
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('DistributedCacheModule.forTest()', () => {
  it('runs the cache on the memory L2, with write-behind, and needs no sleeps', async () => {
    // A long flush interval: without flush() nothing would reach L2 for 10 s.
    const { cache, inspector } = await startCache({ writeBehind: { flushIntervalMs: 10_000 } });
    await cache.set('product:1', { name: 'lamp', at: new Date(0) });
    expect(cache.stats().pending).toBe(1);
    expect(await inspector.peek('product:1')).toEqual({ name: 'lamp', at: new Date(0) });
    expect(cache.stats().pending).toBe(0);
    expect(cache.stats().flushed).toBe(1);
  });

  it('lists what L2 holds: keys, entries with expiry and tags, has and peek', async () => {
    const { cache, inspector } = await startCache({ namespace: 'shop', ttl: '1m' });
    const before = Date.now();
    await cache.set('b', 2, { tags: ['numbers'] });
    await cache.set('a', 1, { ttl: '10s' });
    expect(await inspector.keys()).toEqual(['a', 'b']);
    const [a, b] = await inspector.entries<number>();
    expect(a).toMatchObject({ key: 'a', value: 1, tags: [] });
    expect(b).toMatchObject({ key: 'b', value: 2, tags: ['numbers'] });
    expect(a?.freshUntil).toBeGreaterThanOrEqual(before + 10_000);
    expect(a?.freshUntil).toBeLessThanOrEqual(Date.now() + 10_000);
    expect(b?.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(await inspector.has('a')).toBe(true);
    expect(await inspector.has('c')).toBe(false);
    expect(await inspector.peek('c')).toBeUndefined();
    expect(inspector.namespace).toBe('shop');
    expect(inspector.cache).toBe(cache);
  });

  it('leaves out deleted, cleared, invalidated and expired entries', async () => {
    const { cache, inspector } = await startCache();
    await cache.mset([
      { key: 'gone', value: 1 },
      { key: 'tagged', value: 2, tags: ['t'] },
      { key: 'short', value: 3, ttl: 30 },
      { key: 'kept', value: 4 },
    ]);
    await cache.del('gone');
    await cache.invalidateTags(['t']);
    await waitFor(async () => !(await inspector.has('short')), { message: 'short to expire' });
    expect(await inspector.keys()).toEqual(['kept']);
    await cache.clear();
    expect(await inspector.keys()).toEqual([]);
    // Written after clear(): stamped with the new namespace version, so listed again.
    await cache.set('kept', 5);
    expect(await inspector.entries()).toMatchObject([{ key: 'kept', value: 5 }]);
  });

  it('shows entries kept past their TTL for staleWhileRevalidate only when asked', async () => {
    const { cache, inspector } = await startCache();
    // NOTE: CacheService.getOrSet is typed with SetOptions, so a literal with the stale options
    // would not type-check; a GetOrSetOptions object passes them on to the tiered cache.
    const options: GetOrSetOptions = { ttl: 30, staleWhileRevalidate: '1m' };
    await cache.getOrSet('stale', () => 'v', options);
    await waitFor(async () => !(await inspector.has('stale')), { message: 'the TTL to pass' });
    const [entry] = await inspector.entries({ includeStale: true });
    expect(entry).toMatchObject({ key: 'stale', value: 'v' });
    expect(entry!.expiresAt - entry!.freshUntil).toBe(60_000);
    expect(await inspector.entry('stale', { includeStale: true })).toMatchObject({ value: 'v' });
  });

  it('decodes with the cache serializer', async () => {
    const { cache, inspector } = await startCache({
      serializer: {
        serialize: (value) => Buffer.from(`x${JSON.stringify(value)}`),
        deserialize: (payload) => JSON.parse(payload.toString('utf8').slice(1)) as unknown,
      },
    });
    await cache.set('k', { v: 1 });
    expect(await inspector.peek('k')).toEqual({ v: 1 });
  });

  it('binds decorated methods, and is global by default', async () => {
    let reads = 0;
    @Injectable()
    class Products {
      @Cacheable({ key: 'product:{0}', ttl: '1m' })
      async findOne(id: string): Promise<{ id: string }> {
        reads++;
        return { id };
      }

      @CacheEvict({ key: 'product:{0}' })
      async remove(id: string): Promise<boolean> {
        return id.length > 0;
      }
    }
    @Module({ providers: [Products], exports: [Products] })
    class ProductsModule {}

    const app = await start({ imports: [DistributedCacheModule.forTest(), ProductsModule] });
    const products = app.get(Products);
    const inspector = app.get(CacheInspector);
    await products.findOne('1');
    await products.findOne('1');
    expect(reads).toBe(1);
    expect(await inspector.entries()).toMatchObject([{ key: 'product:1', value: { id: '1' } }]);
    await products.remove('1');
    expect(await inspector.keys()).toEqual([]);
  });

  it('can be private to its importers with isGlobal: false', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly cache: CacheService) {}
    }
    @Module({ providers: [Consumer] })
    class FeatureModule {}
    await expect(
      Test.createTestingModule({
        imports: [DistributedCacheModule.forTest({ isGlobal: false }), FeatureModule],
      })
        .setLogger(silent)
        .compile(),
    ).rejects.toThrow(/CacheService/);
  });

  it('gives each application its own store when one forTest() module is reused', async () => {
    const shared = DistributedCacheModule.forTest();
    const first = await start({ imports: [shared] });
    const second = await start({ imports: [shared] });
    await first.get(CacheService).set('k', 'first');
    expect(await second.get(CacheInspector).keys()).toEqual([]);
    await first.close();
    apps.splice(apps.indexOf(first), 1);
    await second.get(CacheService).set('k', 'second');
    expect(await second.get(CacheInspector).peek('k')).toBe('second');
  });

  it('registers a named test cache next to the default one', async () => {
    const app = await start({
      imports: [
        DistributedCacheModule.forTest(),
        DistributedCacheModule.forTest({ name: 'sessions' }),
      ],
    });
    const sessions = app.get<CacheService>(getCacheToken('sessions'));
    const sessionsInspector = app.get<CacheInspector>(getCacheInspectorToken('sessions'));
    await sessions.set('s', 1);
    await app.get(CacheService).set('d', 2);
    expect(await sessionsInspector.keys()).toEqual(['s']);
    expect(await app.get(CacheInspector).keys()).toEqual(['d']);
    expect(sessionsInspector.cache).toBe(sessions);
  });

  it.each([
    [{ l2: { type: 'memory' } }, 'l2'],
    [{ invalidation: { enabled: false } }, 'invalidation'],
  ])('refuses %j at once, naming the option', (options, option) => {
    expect(() => DistributedCacheModule.forTest(options as DistributedCacheTestingOptions)).toThrow(
      expect.objectContaining({ option }) as Error,
    );
    expect(() => DistributedCacheModule.forTest(options as DistributedCacheTestingOptions)).toThrow(
      CacheOptionsError,
    );
  });

  it('validates the other options at start-up, as forRoot does', async () => {
    await expect(start({ imports: [DistributedCacheModule.forTest({ ttl: -1 })] })).rejects.toThrow(
      expect.objectContaining({ option: 'ttl' }) as Error,
    );
  });
});

describe(CacheInspector, () => {
  it('refuses a store that is not the forTest() one', () => {
    const cache = {} as CacheService;
    expect(() => new CacheInspector(cache, { namespace: 'x' } as never, new MemoryStore())).toThrow(
      'CacheInspector works on the L2 of DistributedCacheModule.forTest() only',
    );
  });
});
