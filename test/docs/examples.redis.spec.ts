import 'reflect-metadata';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import request from 'supertest';
import { CacheService, DistributedCacheModule, getCacheToken } from 'nestjs-distributed-cache';
import { RedisServer } from '../support/redis-server.js';
import { asyncRegistration } from './snippets/async-options.js';
import * as decorators from './snippets/decorators.js';
import * as http from './snippets/http.js';
import { ProductRepository } from './snippets/support.js';
import { ProductsService } from './snippets/usage.js';

/** Runs the examples of README.md and docs/ (test/docs/snippets). */

const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };
let redis: RedisServer;
const apps: Array<TestingModule | INestApplication> = [];

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

/** An HTTP app of `module`, listening on no port (supertest drives it). */
async function serve(module: Type): Promise<Parameters<typeof request>[0]> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const app = moduleRef.createNestApplication({ logger: silent });
  apps.push(app);
  await app.init();
  return app.getHttpServer() as Parameters<typeof request>[0];
}

describe('README: Install and first cache', () => {
  it('serves the second GET from L1, evicts on PUT, reports stats, and writes to Redis', async () => {
    // Imported now: the module reads REDIS_URL when it is evaluated.
    const { AppModule } = await import('./snippets/first-cache.js');
    const server = await serve(AppModule);

    let started = performance.now();
    await request(server).get('/products/1').expect(200, { id: '1', name: 'Desk lamp' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    started = performance.now();
    await request(server).get('/products/1').expect(200, { id: '1', name: 'Desk lamp' });
    expect(performance.now() - started).toBeLessThan(90);

    await request(server).put('/products/1').send({ name: 'Lamp' }).expect(200);
    await request(server).get('/products/1').expect(200, { id: '1', name: 'Lamp' });

    const stats = (await request(server).get('/cache/stats').expect(200)).body as Record<
      string,
      unknown
    >;
    expect(stats).toMatchObject({ l1Hits: 1, misses: 2, deletes: 1, breaker: 'closed' });
    expect(stats['hitRatio']).toBeCloseTo(1 / 3);

    await Promise.all(apps.splice(0).map((app) => app.close())); // drains write-behind
    expect(await redis.cli('EXISTS', 'shop:product:1')).toBe('1');
  });
});

describe('README: Decorators', () => {
  it('@Cacheable, @CacheEvict and @CachePut on a service, @Cacheable on a controller', async () => {
    const app = await start(
      [DistributedCacheModule.forTest()],
      [decorators.ProductsService, ProductRepository],
    );
    const products = app.get(decorators.ProductsService);
    const repository = app.get(ProductRepository);
    await products.findOne('1');
    await products.findOne('1');
    expect(repository.reads).toBe(1);
    await products.findOne('draft'); // condition false: uncached
    await products.findOne('draft');
    expect(repository.reads).toBe(3);

    const created = await products.create({ name: 'Stool', priceCents: 4_900 });
    expect(await products.findOne(created.id)).toEqual(created);
    expect(repository.reads).toBe(3);

    await products.update('1', { name: 'Lamp', priceCents: 1_900 });
    expect((await products.findOne('1'))?.name).toBe('Lamp');
    expect(repository.reads).toBe(4);
  });
});

describe('docs/http.md', () => {
  it('caches a route behind @UseInterceptors(CacheInterceptor) and @CacheEvict({ tags }) drops it', async () => {
    const server = await serve(http.RouteModule);
    await request(server).get('/products/1').expect('X-Cache', 'MISS');
    await request(server).get('/products/1').expect('X-Cache', 'HIT');
    await request(server).get('/products').expect('X-Cache', 'MISS');
    await request(server).get('/products').expect('X-Cache', 'HIT');

    await request(server).put('/products/1').send({ name: 'Lamp', priceCents: 1_900 }).expect(200);
    const item = await request(server).get('/products/1').expect('X-Cache', 'MISS');
    expect(item.body).toMatchObject({ name: 'Lamp' });
    await request(server).get('/products').expect('X-Cache', 'MISS');
  });

  it('AppModule caches every GET route through APP_INTERCEPTOR', async () => {
    const server = await serve(http.AppModule);
    await request(server).get('/products/2').expect('X-Cache', 'MISS');
    const hit = await request(server).get('/products/2').expect('X-Cache', 'HIT');
    expect(hit.headers['vary']).toMatch(/accept-language/i);
  });
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
