import 'reflect-metadata';
import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import { CacheService } from 'nestjs-distributed-cache';
import { RedisServer } from '../support/redis-server.js';
import * as after from './snippets/migration-after.js';
import * as before from './snippets/migration-before.js';
import { ProductRepository } from './snippets/support.js';

/**
 * The README's migration guide, run: the @nestjs/cache-manager app and its translation answer
 * the same requests with the same caching.
 */

let redis: RedisServer;
const apps: INestApplication[] = [];

async function start(module: Type): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
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

describe.each([
  ['@nestjs/cache-manager (before)', before],
  ['nestjs-distributed-cache (after)', after],
])('README migration guide: %s', (_label, example) => {
  it('caches the list under its fixed key and the item by URL, and update() evicts the list', async () => {
    const app = await start(example.AppModule);
    const server = app.getHttpServer() as Parameters<typeof request>[0];
    const repository = app.get(ProductRepository);

    const list = await request(server).get('/products').expect(200);
    await request(server).get('/products').expect(200, list.body);
    expect(repository.listReads).toBe(1);

    const item = await request(server).get('/products/1').expect(200);
    await request(server).get('/products/1').expect(200, item.body);
    expect(repository.reads).toBe(1);

    await app.get(example.ProductsService).update('2', { name: 'Stool', priceCents: 4_900 });
    const fresh = await request(server).get('/products').expect(200);
    expect(repository.listReads).toBe(2);
    expect(fresh.body).toContainEqual({ id: '2', name: 'Stool', priceCents: 4_900 });
  });
});

describe('README migration guide: Redis', () => {
  it('before: CacheModule.registerAsync with a Keyv Redis store', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [before.redisRegistration],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
    const cache = app.get<Cache>(CACHE_MANAGER);
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    expect(Number(await redis.cli('DBSIZE'))).toBeGreaterThan(0);
  });

  it('after: forRootAsync with l2 redis', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [after.redisRegistration],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
    const cache = app.get(CacheService);
    await cache.set('k', 'v');
    await cache.flush();
    expect(await redis.cli('EXISTS', 'cache:k')).toBe('1');
  });
});
