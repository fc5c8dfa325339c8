import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Controller, Get, Injectable, Module, Param, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import {
  Cacheable,
  CacheService,
  DistributedCacheModule,
  type DistributedCacheModuleOptions,
} from '../../../lib/index.js';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { RedisServer } from '../../support/redis-server.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const tracer = trace.getTracer('test');

@Injectable()
class Catalogue {
  @Cacheable({ key: 'product:{0}', ttl: '1m' })
  findOne(id: string): Promise<{ id: string }> {
    // The origin's own span: it must nest under the cache's get_or_set span.
    return tracer.startActiveSpan('db.query', async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      span.end();
      return { id };
    });
  }
}

@Controller('products')
class ProductsController {
  constructor(private readonly catalogue: Catalogue) {}

  @Get(':id')
  findOne(@Param('id') id: string): Promise<{ id: string }> {
    return this.catalogue.findOne(id);
  }
}

/** An HTTP app whose requests each run in a server span, as HTTP instrumentation would make. */
async function startHttpApp(options: DistributedCacheModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [DistributedCacheModule.forRoot(options)],
    controllers: [ProductsController],
    providers: [Catalogue],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  app.use((req: { method: string; url: string }, res: NodeJS.EventEmitter, next: () => void) => {
    const span = tracer.startSpan(`${req.method} ${req.url}`, { kind: SpanKind.SERVER });
    res.on('finish', () => span.end());
    context.with(trace.setSpan(context.active(), span), next);
  });
  await app.init();
  return app;
}

describe('OpenTelemetry spans (tracing: true)', () => {
  const exporter = new InMemorySpanExporter();
  let redis: RedisServer;
  let first: INestApplication;
  let second: INestApplication;
  const others: CacheApp[] = [];

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    redis = await RedisServer.start();
    const options = {
      namespace: 'otel',
      l2: { type: 'redis' as const, url: redis.url },
      tracing: true,
    };
    first = await startHttpApp(options);
    second = await startHttpApp(options);
  });

  afterAll(async () => {
    await Promise.all(others.map((app) => app.close()));
    await first.close();
    await second.close();
    await redis.stop();
    trace.disable();
    context.disable();
  });

  beforeEach(() => exporter.reset());

  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const named = (name: string): ReadableSpan[] => spans().filter((span) => span.name === name);
  const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

  it('puts the cache span under the request span, and the factory span under the cache span', async () => {
    await request(first.getHttpServer()).get('/products/1').expect(200, { id: '1' });
    const [server] = named('GET /products/1');
    const [cacheSpan] = named('cache.get_or_set');
    const [query] = named('db.query');
    expect(server && cacheSpan && query).toBeDefined();
    expect(parentOf(cacheSpan!)).toBe(server!.spanContext().spanId);
    expect(parentOf(query!)).toBe(cacheSpan!.spanContext().spanId);
    expect(cacheSpan!.attributes).toMatchObject({
      'cache.namespace': 'otel',
      'cache.hit': false,
      'cache.tier': 'miss',
      'cache.loaded': true,
    });
    expect(cacheSpan!.attributes).not.toHaveProperty('cache.key');
  });

  it('marks an L1 hit, and an L2 hit on a second instance', async () => {
    await request(first.getHttpServer()).get('/products/1').expect(200);
    expect(named('cache.get_or_set').at(-1)!.attributes).toMatchObject({
      'cache.hit': true,
      'cache.tier': 'l1',
    });
    expect(named('db.query')).toHaveLength(0);
    await first.get(CacheService).flush();
    await request(second.getHttpServer()).get('/products/1').expect(200, { id: '1' });
    const l2Hit = named('cache.get_or_set').at(-1)!;
    expect(l2Hit.attributes).toMatchObject({ 'cache.hit': true, 'cache.tier': 'l2' });
    // The Redis call under it, as the OpenTelemetry database conventions name it.
    const read = named('cache.l2_read').find(
      (span) => parentOf(span) === l2Hit.spanContext().spanId,
    );
    expect(read).toBeDefined();
    expect(read!.kind).toBe(SpanKind.CLIENT);
    expect(read!.attributes).toMatchObject({
      'db.system.name': 'redis',
      'db.operation.name': 'MGET',
      'cache.namespace': 'otel',
    });
    expect(named('db.query')).toHaveLength(0);
  });

  it('gives each write-behind batch a client span that links to the set() that queued its value', async () => {
    const cache = first.get(CacheService);
    await tracer.startActiveSpan('job', async (job) => {
      await cache.set('p2', { id: '2' });
      job.end();
    });
    await cache.flush();
    const [put] = named('cache.put');
    expect(put!.attributes).toMatchObject({ 'cache.namespace': 'otel', 'cache.ttl': 300_000 });
    expect(put!.attributes['cache.item_size']).toBeGreaterThan(0);
    const batch = named('cache.write_batch').find((span) =>
      span.links.some((link) => link.context.spanId === put!.spanContext().spanId),
    );
    expect(batch).toBeDefined();
    expect(batch!.kind).toBe(SpanKind.CLIENT);
    expect(batch!.attributes).toMatchObject({
      'db.system.name': 'redis',
      'db.operation.name': 'BATCH',
    });
    expect(batch!.attributes['db.operation.batch.size']).toBeGreaterThanOrEqual(1);
  });

  it('says which instance ran the loader under the distributed lock and which waited for it', async () => {
    const slowFactory = async (): Promise<string> => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return 'built';
    };
    const [one, two] = await Promise.all([
      first.get(CacheService).getOrSet('locked', slowFactory, { lock: true }),
      second.get(CacheService).getOrSet('locked', slowFactory, { lock: true }),
    ]);
    expect([one, two]).toEqual(['built', 'built']);
    const outcomes = named('cache.get_or_set')
      .map((span) => [span.attributes['cache.lock'], span.attributes['cache.loaded']])
      .sort();
    expect(outcomes).toEqual([
      ['acquired', true],
      ['waited', false],
    ]);
  });

  it('records an L2 failure the call answered without on its span', async () => {
    await redis.pause();
    try {
      expect(await first.get(CacheService).get('while-hung')).toBeUndefined();
    } finally {
      await redis.resume();
    }
    const span = named('cache.get').at(-1)!;
    expect(span.attributes).toMatchObject({ 'cache.tier': 'miss', 'cache.l2_error': true });
    expect(span.events.map((event) => event.name)).toContain('cache.l2_error');
  });

  it('records keys only with recordKeys, records errors, and traces nothing without the option', async () => {
    const withKeys = await startCacheApp({ namespace: 'otel-keys', tracing: { recordKeys: true } });
    const plain = await startCacheApp({ namespace: 'otel-off' });
    others.push(withKeys, plain);
    await withKeys.cache.get('user:42');
    expect(named('cache.get').at(-1)!.attributes).toMatchObject({
      'cache.key': 'user:42',
      'cache.namespace': 'otel-keys',
      'cache.tier': 'miss',
    });
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    await expect(withKeys.cache.set('bad', circular)).rejects.toThrow();
    const failed = named('cache.put').at(-1)!;
    expect(failed.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(failed.events.map((event) => event.name)).toContain('exception');

    exporter.reset();
    await plain.cache.set('k', 1);
    await plain.cache.get('k');
    expect(spans().filter((span) => span.attributes['cache.namespace'] === 'otel-off')).toEqual([]);
  });

  it('never loads @opentelemetry/api without the option, and fails start-up naming it when it is missing', () => {
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        join(ROOT, 'bench', 'register.js'),
        '--import',
        join(ROOT, 'test', 'support', 'hide-package.register.mjs'),
        join(ROOT, 'test', 'support', 'tracing-probe.main.ts'),
      ],
      {
        cwd: ROOT,
        env: { ...process.env, HIDE_PACKAGES: '@opentelemetry/api' },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(child.stderr).not.toContain('Error');
    const report = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
      value: unknown;
      failure?: { code?: string; message?: string };
    };
    expect(report.value).toBe(1);
    expect(report.failure).toMatchObject({ code: 'CACHE_OPTIONAL_DEPENDENCY' });
    expect(report.failure!.message).toContain("'@opentelemetry/api'");
    expect(report.failure!.message).toContain('npm install @opentelemetry/api');
  });
});
