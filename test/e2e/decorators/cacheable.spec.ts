import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Cacheable } from '../../../lib/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { waitFor } from '../../support/poll.js';
import { type CacheApp, sleep, startCacheApp } from './support/cache-app.js';

interface Product {
  id: string;
  name: string;
}

/** Counts how many times each method body ran. */
@Injectable()
class ProductService {
  readonly runs = new Map<string, number>();
  delayMs = 0;
  failure: Error | undefined;

  @Cacheable({ key: 'product:{0}', ttl: '1m' })
  async findOne(id: string): Promise<Product> {
    return this.body('findOne', { id, name: `Product ${id}` });
  }

  @Cacheable()
  async search(query: Record<string, unknown>, page?: number): Promise<string[]> {
    return this.body('search', [`${JSON.stringify(query)}#${page ?? 1}`]);
  }

  @Cacheable({ key: 'short:{0}', ttl: 150 })
  async short(id: string): Promise<string> {
    return this.body('short', id);
  }

  @Cacheable({ key: 'cond:{0}', condition: (id: string) => id !== 'live' })
  async conditional(id: string): Promise<string> {
    return this.body('conditional', id);
  }

  @Cacheable({ key: 'maybe:{0}', unless: (result: string | null) => result === null })
  async maybe(id: string): Promise<string | null> {
    return this.body('maybe', id === 'none' ? null : id);
  }

  @Cacheable({ namespace: 'catalogue', key: 'product:{0.id}' })
  async namespaced(ref: { id: string }): Promise<string> {
    return this.body('namespaced', ref.id);
  }

  count(method: string): number {
    return this.runs.get(method) ?? 0;
  }

  private async body<T>(method: string, value: T): Promise<T> {
    this.runs.set(method, this.count(method) + 1);
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.failure) throw this.failure;
    return value;
  }
}

/** Same method name as ProductService.search: default keys must not collide. */
@Injectable()
class OrderService {
  runs = 0;

  @Cacheable()
  async search(query: Record<string, unknown>, page?: number): Promise<string[]> {
    this.runs++;
    return [`orders ${JSON.stringify(query)}#${page ?? 1}`];
  }
}

let redis: RedisServer;
const apps: CacheApp[] = [];

async function start(namespace = 'decorators'): Promise<CacheApp & { products: ProductService }> {
  const app = await startCacheApp(redis, {
    namespace,
    fixture: { providers: [ProductService, OrderService] },
  });
  apps.push(app);
  return { ...app, products: app.get(ProductService) };
}

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  if (!redis.isRunning()) await redis.restart();
  await redis.resume();
  await Promise.all(apps.splice(0).map(({ app }) => app.close()));
  await redis.cli('FLUSHALL');
});

afterAll(async () => {
  await redis.stop();
});

describe('@Cacheable on a Promise method (real Redis)', () => {
  it('runs the method once, then returns the cached value without running it', async () => {
    const { products, cache } = await start();
    const first = await products.findOne('1');
    const second = await products.findOne('1');
    expect(second).toEqual(first);
    expect(products.count('findOne')).toBe(1);
    await cache.flush();
    expect(await redis.cli('EXISTS', 'decorators:product:1')).toBe('1');
  });

  it('serves an entry another instance stored from Redis, without running the method', async () => {
    const a = await start();
    const b = await start();
    await a.products.findOne('7');
    await a.cache.flush();
    expect(await b.products.findOne('7')).toEqual({ id: '7', name: 'Product 7' });
    expect(a.products.count('findOne')).toBe(1);
    expect(b.products.count('findOne')).toBe(0);
  });

  it('runs the method once for concurrent misses of one key (single-flight)', async () => {
    const { products } = await start();
    products.delayMs = 50;
    const results = await Promise.all(Array.from({ length: 20 }, () => products.findOne('2')));
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    expect(products.count('findOne')).toBe(1);
  });

  it('caches nothing when the method throws, and gives every waiter the same error', async () => {
    const { products, cache } = await start();
    products.delayMs = 30;
    const failure = new Error('database down');
    products.failure = failure;
    const settled = await Promise.allSettled(
      Array.from({ length: 5 }, () => products.findOne('3')),
    );
    expect(settled.every((s) => s.status === 'rejected' && s.reason === failure)).toBe(true);
    expect(products.count('findOne')).toBe(1);
    await cache.flush();
    expect(await redis.cli('EXISTS', 'decorators:product:3')).toBe('0');

    products.failure = undefined;
    expect(await products.findOne('3')).toEqual({ id: '3', name: 'Product 3' });
    expect(products.count('findOne')).toBe(2);
  });

  it('keys by a stable hash of the arguments that ignores object key order', async () => {
    const { products, get } = await start();
    await products.search({ q: 'chair', sort: 'price' }, 2);
    await products.search({ sort: 'price', q: 'chair' }, 2);
    expect(products.count('search')).toBe(1);
    await products.search({ sort: 'price', q: 'chair' }, 3);
    expect(products.count('search')).toBe(2);

    // Another class with the same method name and arguments has its own entries.
    const orders = get(OrderService);
    expect(await orders.search({ q: 'chair', sort: 'price' }, 2)).toEqual([
      'orders {"q":"chair","sort":"price"}#2',
    ]);
    expect(orders.runs).toBe(1);
  });

  it('runs the method again once the decorator ttl expired', async () => {
    const { products } = await start();
    await products.short('s');
    await products.short('s');
    expect(products.count('short')).toBe(1);
    await waitFor(
      async () => {
        await products.short('s');
        return products.count('short') === 2;
      },
      { timeoutMs: 2_000, message: 'the 150 ms entry to expire' },
    );
  });

  it('runs uncached and stores nothing when condition returns false', async () => {
    const { products, cache } = await start();
    await products.conditional('live');
    await products.conditional('live');
    expect(products.count('conditional')).toBe(2);
    await products.conditional('cached');
    await products.conditional('cached');
    expect(products.count('conditional')).toBe(3);
    await cache.flush();
    expect(await redis.cli('EXISTS', 'decorators:cond:live')).toBe('0');
    expect(await redis.cli('EXISTS', 'decorators:cond:cached')).toBe('1');
  });

  it('returns but does not store a result that unless refuses, to every waiter', async () => {
    const { products, cache } = await start();
    products.delayMs = 30;
    const results = await Promise.all([products.maybe('none'), products.maybe('none')]);
    expect(results).toEqual([null, null]);
    expect(products.count('maybe')).toBe(1);
    expect(await products.maybe('none')).toBeNull();
    expect(products.count('maybe')).toBe(2);
    await products.maybe('x');
    await products.maybe('x');
    expect(products.count('maybe')).toBe(3);
    await cache.flush();
    expect(await redis.cli('EXISTS', 'decorators:maybe:none')).toBe('0');
  });

  it('stores under the decorator namespace inside the cache namespace', async () => {
    const { products, cache } = await start('shop');
    await products.namespaced({ id: 'n1' });
    await products.namespaced({ id: 'n1' });
    expect(products.count('namespaced')).toBe(1);
    await cache.flush();
    expect(await redis.cli('EXISTS', 'shop:catalogue:product:n1')).toBe('1');
    expect(await cache.get('catalogue:product:n1')).toBe('n1');
  });

  it('never fails a call while Redis is hung (SIGSTOP): the method runs and its value returns', async () => {
    const { products } = await start();
    await redis.pause();
    expect(await products.findOne('hung-1')).toEqual({ id: 'hung-1', name: 'Product hung-1' });
    expect(await products.findOne('hung-2')).toEqual({ id: 'hung-2', name: 'Product hung-2' });
    expect(products.count('findOne')).toBe(2);
    await redis.resume();
  });

  it('never fails a call while Redis is down (kill -9): the method runs and its value returns', async () => {
    const { products } = await start();
    await redis.kill();
    const results = await Promise.all([products.findOne('dead-1'), products.search({ q: 'x' })]);
    expect(results).toEqual([{ id: 'dead-1', name: 'Product dead-1' }, ['{"q":"x"}#1']]);
    expect(products.count('findOne')).toBe(1);
    expect(products.count('search')).toBe(1);
  });
});
