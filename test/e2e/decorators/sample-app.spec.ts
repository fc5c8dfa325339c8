import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { CacheService } from 'nestjs-distributed-cache';
import { ProductRepository } from '../../../sample-app/src/products/product.repository.js';
import { sampleAppSuite } from '../../support/sample-app.js';

/** The sample app's decorators (service: @Cacheable/@CachePut/@CacheEvict; one cached route). */
interface Instance {
  app: INestApplication;
  server: Parameters<typeof request>[0];
  cache: CacheService;
  repository: ProductRepository;
}

const NAMESPACE = 'sample-decorators';
const suite = sampleAppSuite();

async function startInstance(): Promise<Instance> {
  const app = await suite.start(NAMESPACE);
  const repository = app.get(ProductRepository);
  repository.latencyMs = 5;
  return {
    app,
    server: app.getHttpServer() as Parameters<typeof request>[0],
    cache: app.get(CacheService),
    repository,
  };
}

describe('sample app decorators (HTTP, real Redis)', () => {
  it('does not reach the repository on the second GET, nor for concurrent first GETs', async () => {
    const { server, repository } = await startInstance();
    const bodies = await Promise.all(
      Array.from(
        { length: 5 },
        async () => (await request(server).get('/products/1').expect(200)).body as unknown,
      ),
    );
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
    await request(server).get('/products/1').expect(200);
    expect(repository.reads).toBe(1);
  });

  it('answers a cached route without calling the service (@Cacheable on the controller)', async () => {
    const { server, repository, cache } = await startInstance();
    await request(server).get('/products/2').expect(200);
    // Drop the service's entry: only the route's own entry can answer now.
    await cache.del('product:2');
    const again = await request(server).get('/products/2').expect(200);
    expect(again.body).toMatchObject({ id: '2', name: 'Office chair' });
    expect(repository.reads).toBe(1);
  });

  it('caches a created product at once (@CachePut): its first GET does not reach the repository', async () => {
    const { server, repository } = await startInstance();
    const created = await request(server)
      .post('/products')
      .send({ name: 'Bookshelf', priceCents: 8_900 })
      .expect(201);
    const id = (created.body as { id: string }).id;
    const read = await request(server).get(`/products/${id}`).expect(200);
    expect(read.body).toEqual(created.body);
    expect(repository.reads).toBe(0);
  });

  it('returns the new data after PUT and 404 after DELETE (@CacheEvict)', async () => {
    const { server, repository } = await startInstance();
    await request(server).get('/products/3').expect(200);
    await request(server)
      .put('/products/3')
      .send({ name: 'Tall desk', priceCents: 42_000 })
      .expect(200);
    const updated = await request(server).get('/products/3').expect(200);
    expect(updated.body).toMatchObject({ id: '3', name: 'Tall desk', priceCents: 42_000 });
    await request(server).delete('/products/3').expect(204);
    await request(server).get('/products/3').expect(404);
    await request(server).get('/products/3').expect(404);
    // The first GET, then the one after DELETE (the 404's null is cached by the service).
    expect(repository.reads).toBe(2);
  });

  it('lets a second instance sharing the Redis see an update once the writer flushed', async () => {
    const a = await startInstance();
    const b = await startInstance();
    await request(a.server)
      .put('/products/1')
      .send({ name: 'Brass lamp', priceCents: 4_900 })
      .expect(200);
    await a.cache.flush();
    // The L2 value (B's L1 has never seen the key, so this reads Redis).
    expect(await b.cache.get('product:1')).toMatchObject({
      id: '1',
      name: 'Brass lamp',
      priceCents: 4_900,
    });
    const fromB = await request(b.server).get('/products/1').expect(200);
    expect(fromB.body).toMatchObject({ name: 'Brass lamp' });
    expect(b.repository.reads).toBe(0);
  });
});
