import 'reflect-metadata';
import type { DynamicModule, Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { CacheService, DistributedCacheModule, getCacheToken } from 'nestjs-distributed-cache';
import { RedisServer } from '../support/redis-server.js';
import { ProductRepository } from './snippets/support.js';
import { asyncRegistration, ProductsService } from './snippets/usage.js';

/** Runs the README's usage and named-cache examples (test/docs/snippets). */

const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };
let redis: RedisServer;
const apps: TestingModule[] = [];

async function start(imports: Array<Type | DynamicModule>, providers: Type[] = []) {
  const moduleRef = await Test.createTestingModule({ imports, providers })
    .setLogger(silent)
    .compile();
  apps.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}

beforeAll(async () => {
  redis = await RedisServer.start();
  process.env['REDIS_URL'] = redis.url;
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await redis.cli('FLUSHALL');
});

afterAll(async () => {
  delete process.env['REDIS_URL'];
  await redis.stop();
});

describe('README: Usage', () => {
  it('ProductsService reads through the cache and writes it on update', async () => {
    const app = await start(
      [DistributedCacheModule.forTest()],
      [ProductsService, ProductRepository],
    );
    const products = app.get(ProductsService);
    const repository = app.get(ProductRepository);
    await Promise.all([products.findOne('1'), products.findOne('1')]);
    expect(repository.reads).toBe(1);
    const updated = await products.update('1', { name: 'Lamp', priceCents: 1_900 });
    expect(await products.findOne('1')).toEqual(updated);
    expect(repository.reads).toBe(1);
  });

  it('forRootAsync takes the Redis URL from ConfigService', async () => {
    const app = await start([asyncRegistration]);
    const cache = app.get(CacheService);
    await cache.set('k', 1);
    await cache.flush();
    expect(await redis.cli('EXISTS', 'cache:k')).toBe('1');
  });
});

describe('README: Named caches', () => {
  it('AppModule registers three caches; SessionStore and RatesService use theirs', async () => {
    // Imported now: the module reads REDIS_URL when it is defined.
    const { AppModule, RatesService, SessionStore } = await import('./snippets/named-caches.js');
    const app = await start([AppModule]);
    await app.get(SessionStore).save('s1', { userId: 'u1' });
    expect(await app.get(SessionStore).find('s1')).toEqual({ userId: 'u1' });
    expect(await app.get(RatesService).rate('EUR', 'USD')).toBe(1.1);
    const rates = app.get<CacheService>(getCacheToken('rates'));
    expect(await rates.get('rate:EUR:USD')).toBe(1.1);

    await app.get<CacheService>(getCacheToken('sessions')).flush();
    const ttl = Number(await redis.cli('PTTL', 'sessions:session:s1'));
    expect(ttl).toBeGreaterThan(29 * 60_000);
    // The rates cache is in memory: nothing of it in Redis.
    expect(await redis.cli('KEYS', 'rates:*')).toBe('');
  });
});
