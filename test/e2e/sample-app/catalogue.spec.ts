import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { CacheService } from 'nestjs-distributed-cache';
import { ProductRepository } from '../../../sample-app/src/products/product.repository.js';
import { sampleAppSuite } from '../../support/sample-app.js';

const suite = sampleAppSuite();

/** One sample-app instance on the shared test Redis, as `REDIS_URL=... npm start` runs it. */
async function startInstance(): Promise<{ app: INestApplication; repository: ProductRepository }> {
  const app = await suite.start('catalogue-e2e');
  const repository = app.get(ProductRepository);
  repository.latencyMs = 5;
  return { app, repository };
}

describe('sample app (catalogue) on Redis', () => {
  it('serves the second GET from the cache without reaching the repository', async () => {
    const { app, repository } = await startInstance();
    const first = await request(app.getHttpServer()).get('/products/1').expect(200);
    const second = await request(app.getHttpServer()).get('/products/1').expect(200);
    expect(second.body).toEqual(first.body);
    expect(repository.reads).toBe(1);
  });

  it('returns the new data after PUT and 404 after DELETE', async () => {
    const { app } = await startInstance();
    const server = app.getHttpServer();
    await request(server).get('/products/2').expect(200);
    await request(server)
      .put('/products/2')
      .send({ name: 'Better chair', priceCents: 19_900 })
      .expect(200);
    const updated = await request(server).get('/products/2').expect(200);
    expect(updated.body).toMatchObject({ id: '2', name: 'Better chair', priceCents: 19_900 });
    await request(server).delete('/products/2').expect(204);
    await request(server).get('/products/2').expect(404);
  });

  it('lets a second instance sharing the Redis read an update once the writer flushed', async () => {
    const a = await startInstance();
    const b = await startInstance();
    await request(a.app.getHttpServer())
      .put('/products/3')
      .send({ name: 'Tall desk', priceCents: 1 })
      .expect(200);
    await a.app.get(CacheService).flush();
    const fromB = await request(b.app.getHttpServer()).get('/products/3').expect(200);
    expect(fromB.body).toMatchObject({ name: 'Tall desk', priceCents: 1 });
    // B answered from the shared L2 entry A wrote, not from its own (stale) repository.
    expect(b.repository.reads).toBe(0);
    expect(await suite.redis.cli('EXISTS', 'catalogue-e2e:product:3')).toBe('1');
  });
});
