import 'reflect-metadata';
import {
  Controller,
  Get,
  Header,
  type INestApplication,
  NotFoundException,
  Param,
  Post,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  CacheService,
  DistributedCacheModule,
  type DistributedCacheModuleOptions,
} from '../../../lib/index.js';
import {
  CacheInterceptor,
  CacheRoute,
  DistributedCacheHttpModule,
} from '../../../lib/http/index.js';
import { RedisServer } from '../../support/redis-server.js';

type Platform = 'express' | 'fastify';

@Controller('items')
@UseInterceptors(CacheInterceptor)
class ItemsController {
  runs = 0;

  @Get('plain/:id')
  plain(@Param('id') id: string, @Query() query: Record<string, string>): object {
    return { id, query, run: ++this.runs };
  }

  @Get('shared')
  @CacheRoute({ allowAuthorized: true })
  shared(): object {
    return { run: ++this.runs };
  }

  @Get('localised')
  @CacheRoute({ vary: ['Accept-Language'] })
  localised(): object {
    return { run: ++this.runs };
  }

  @Get('never')
  @CacheRoute(false)
  never(): object {
    return { run: ++this.runs };
  }

  @Get('no-store')
  @Header('Cache-Control', 'no-store')
  noStore(): object {
    return { run: ++this.runs };
  }

  @Get('missing')
  missing(): object {
    this.runs++;
    throw new NotFoundException('no such item');
  }

  @Get('tagged/:id')
  @CacheRoute({ ttl: '1m', tags: ({ path }) => [`page:${path}`] })
  tagged(@Param('id') id: string): object {
    return { id, run: ++this.runs };
  }

  @Post('plain/:id')
  create(@Param('id') id: string): object {
    return { id, run: ++this.runs };
  }
}

const apps: INestApplication[] = [];

async function startApp(platform: Platform, cache: DistributedCacheModuleOptions = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DistributedCacheModule.forRoot({ isGlobal: true, namespace: 'http-e2e', ...cache }),
      DistributedCacheHttpModule.forRoot({ isGlobal: true, ttl: '30s' }),
    ],
    controllers: [ItemsController],
  }).compile();
  let app: INestApplication;
  if (platform === 'fastify') {
    const fastify = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
      logger: false,
    });
    await fastify.init();
    await fastify.getHttpAdapter().getInstance().ready();
    app = fastify;
  } else {
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  }
  apps.push(app);
  return {
    app,
    http: () => request(app.getHttpServer()),
    controller: app.get(ItemsController),
    cache: app.get(CacheService),
  };
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe.each<Platform>(['express', 'fastify'])('CacheInterceptor on %s', (platform) => {
  it('answers the second GET from the cache with X-Cache: HIT', async () => {
    const { http, controller } = await startApp(platform);
    const first = await http().get('/items/plain/1').expect(200);
    const second = await http().get('/items/plain/1').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect(second.headers['content-type']).toMatch(/application\/json/);
    expect(controller.runs).toBe(1);
  });

  it('keys by the normalised URL: query parameters in any order share one entry', async () => {
    const { http, controller, cache } = await startApp(platform);
    const first = await http().get('/items/plain/7?b=2&a=1').expect(200);
    const second = await http().get('/items/plain/7?a=1&b=2').expect(200);
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(controller.runs).toBe(1);
    expect(await cache.get('http:GET:/items/plain/7?a=1&b=2')).toEqual(first.body);
    await http().get('/items/plain/7?a=1&b=3').expect(200).expect('x-cache', 'MISS');
  });

  it('never caches nor serves a cached response to a request with Authorization or Cookie', async () => {
    const { http, controller, cache } = await startApp(platform);
    for (let i = 0; i < 2; i++) {
      const res = await http()
        .get('/items/plain/2')
        .set('Authorization', 'Bearer alice')
        .expect(200);
      expect(res.headers['x-cache']).toBe('MISS');
    }
    expect(await cache.get('http:GET:/items/plain/2')).toBeUndefined();
    // An entry cached for anonymous callers is not served to a caller with credentials either.
    await http().get('/items/plain/2').expect('x-cache', 'MISS');
    await http().get('/items/plain/2').set('Cookie', 'session=bob').expect('x-cache', 'MISS');
    expect(controller.runs).toBe(4);
    await http().get('/items/plain/2').expect('x-cache', 'HIT');
  });

  it('caches requests with Authorization on a route that opts in', async () => {
    const { http, controller } = await startApp(platform);
    await http().get('/items/shared').set('Authorization', 'Bearer a').expect('x-cache', 'MISS');
    await http().get('/items/shared').set('Authorization', 'Bearer b').expect('x-cache', 'HIT');
    expect(controller.runs).toBe(1);
  });

  it('keeps one entry per value of a vary header and lists it in Vary', async () => {
    const { http, controller } = await startApp(platform);
    const en1 = await http().get('/items/localised').set('Accept-Language', 'en').expect(200);
    const en2 = await http().get('/items/localised').set('Accept-Language', 'en').expect(200);
    const fr = await http().get('/items/localised').set('Accept-Language', 'fr').expect(200);
    const none = await http().get('/items/localised').expect(200);
    expect([en1, en2, fr, none].map((r) => r.headers['x-cache'])).toEqual([
      'MISS',
      'HIT',
      'MISS',
      'MISS',
    ]);
    expect(en2.body).toEqual(en1.body);
    expect(fr.body).not.toEqual(en1.body);
    expect(en1.headers['vary']).toMatch(/accept-language/i);
    expect(controller.runs).toBe(3);
  });

  it('leaves a route with @CacheRoute(false) and non-GET requests alone', async () => {
    const { http, controller } = await startApp(platform);
    const never = await http().get('/items/never').expect(200);
    await http().get('/items/never').expect(200);
    const post = await http().post('/items/plain/3').expect(201);
    await http().post('/items/plain/3').expect(201);
    expect(never.headers['x-cache']).toBeUndefined();
    expect(post.headers['x-cache']).toBeUndefined();
    expect(controller.runs).toBe(4);
  });

  it('does not store a Cache-Control: no-store response nor an error', async () => {
    const { http, controller } = await startApp(platform);
    await http().get('/items/no-store').expect(200).expect('x-cache', 'MISS');
    await http().get('/items/no-store').expect(200).expect('x-cache', 'MISS');
    await http().get('/items/missing').expect(404);
    await http().get('/items/missing').expect(404);
    expect(controller.runs).toBe(4);
  });

  it('tags entries so invalidateTags() drops them', async () => {
    const { http, controller, cache } = await startApp(platform);
    await http().get('/items/tagged/9').expect('x-cache', 'MISS');
    await http().get('/items/tagged/9').expect('x-cache', 'HIT');
    await cache.invalidateTags(['page:/items/tagged/9']);
    await http().get('/items/tagged/9').expect('x-cache', 'MISS');
    expect(controller.runs).toBe(2);
  });
});

describe('CacheInterceptor on a shared Redis', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('serves a response cached by an Express instance from a Fastify instance', async () => {
    const l2 = { type: 'redis', url: redis.url } as const;
    const a = await startApp('express', { l2 });
    const b = await startApp('fastify', { l2 });
    const first = await a.http().get('/items/plain/5?x=1').expect('x-cache', 'MISS');
    await a.cache.flush();
    const fromB = await b.http().get('/items/plain/5?x=1').expect('x-cache', 'HIT');
    expect(fromB.body).toEqual(first.body);
    expect(b.controller.runs).toBe(0);
    expect(await redis.cli('EXISTS', 'http-e2e:http:GET:/items/plain/5?x=1')).toBe('1');
  });
});
