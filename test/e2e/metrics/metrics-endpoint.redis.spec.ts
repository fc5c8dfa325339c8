import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import request from 'supertest';
import { CacheService } from 'nestjs-distributed-cache';
import { ObservabilityModule } from '../../../sample-app/src/observability/observability.module.js';
import { sampleAppSuite } from '../../support/sample-app.js';

const suite = sampleAppSuite();

/** One sample-app instance (catalogue + /metrics + /health) on the test Redis, with its own registry. */
function startInstance(): Promise<INestApplication> {
  return suite.start('metrics-e2e', [
    ObservabilityModule.forRoot({ metrics: { registry: new Registry() } }),
  ]);
}

/** Scrapes /metrics and returns `name{labels}` → value. */
async function scrape(app: INestApplication): Promise<Map<string, number>> {
  const res = await request(app.getHttpServer()).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const ns = 'namespace="metrics-e2e"';

describe('sample app GET /metrics (prom-client)', () => {
  it('shows the cache counters moving after traffic', async () => {
    const app = await startInstance();
    const server = app.getHttpServer();
    const before = await scrape(app);
    expect(before.get(`distributed_cache_hits_total{${ns},tier="l1"}`)).toBe(0);
    expect(before.get(`distributed_cache_misses_total{${ns}}`)).toBe(0);
    expect(before.get(`distributed_cache_breaker_state{${ns},state="closed"}`)).toBe(1);

    // The route is @Cacheable (product-view:1) over a @Cacheable service method (product:1).
    await request(server).get('/products/1').expect(200); // two misses, two sets
    await request(server).get('/products/1').expect(200); // one L1 hit (the route)
    await request(server).put('/products/2').send({ name: 'Desk', priceCents: 1 }).expect(200);
    await app.get(CacheService).flush();

    const after = await scrape(app);
    expect(after.get(`distributed_cache_hits_total{${ns},tier="l1"}`)).toBe(1);
    expect(after.get(`distributed_cache_misses_total{${ns}}`)).toBe(2);
    // Two from the first GET, one from PUT's @CachePut of product:2.
    expect(after.get(`distributed_cache_sets_total{${ns}}`)).toBe(3);
    expect(after.get(`distributed_cache_hit_ratio{${ns}}`)).toBeCloseTo(1 / 3, 10);
    expect(after.get(`distributed_cache_write_behind_flushed_total{${ns}}`)).toBeGreaterThanOrEqual(
      2,
    );
    expect(after.get(`distributed_cache_write_behind_batches_total{${ns}}`)).toBeGreaterThanOrEqual(
      1,
    );
    expect(after.get(`distributed_cache_write_behind_pending{${ns}}`)).toBe(0);
    expect(after.get(`distributed_cache_l1_entries{${ns}}`)).toBe(3);
    expect(after.get(`distributed_cache_invalidation_bus_connected{${ns}}`)).toBe(1);
    expect(
      after.get(`distributed_cache_invalidation_messages_total{${ns},direction="published"}`),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts L2 hits on an instance that reads what another one wrote', async () => {
    const writer = await startInstance();
    const reader = await startInstance();
    await request(writer.getHttpServer())
      .put('/products/3')
      .send({ name: 'Lamp', priceCents: 2 })
      .expect(200);
    await writer.get(CacheService).flush();
    await request(reader.getHttpServer()).get('/products/3').expect(200);
    const samples = await scrape(reader);
    // The route's entry was evicted by PUT (a miss); the service's entry comes from L2.
    expect(samples.get(`distributed_cache_hits_total{${ns},tier="l2"}`)).toBe(1);
    expect(samples.get(`distributed_cache_misses_total{${ns}}`)).toBe(1);
  });
});
