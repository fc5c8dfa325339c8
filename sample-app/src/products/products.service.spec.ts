import 'reflect-metadata';
import { Test, type TestingModule } from '@nestjs/testing';
import { CacheService, DistributedCacheModule } from 'nestjs-distributed-cache';
import { CacheInspector } from 'nestjs-distributed-cache/testing';
import type { Product } from './product.js';
import { ProductRepository } from './product.repository.js';
import { ProductsModule } from './products.module.js';
import { ProductsService } from './products.service.js';

/**
 * Unit tests of the catalogue's caching, on DistributedCacheModule.forTest(): the real cache on
 * the in-process memory L2 (no Redis), with CacheInspector to see what is stored.
 */
describe(ProductsService, () => {
  let moduleRef: TestingModule;
  let products: ProductsService;
  let repository: ProductRepository;
  let inspector: CacheInspector;

  beforeEach(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [DistributedCacheModule.forTest(), ProductsModule],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    products = moduleRef.get(ProductsService);
    repository = moduleRef.get(ProductRepository);
    repository.latencyMs = 0;
    inspector = moduleRef.get(CacheInspector);
  });

  afterEach(async () => {
    await moduleRef.close();
  });

  describe('findOne()', () => {
    it('reads the repository once, then serves the cached product', async () => {
      const first = await products.findOne('1');
      const second = await products.findOne('1');
      expect(second).toEqual(first);
      expect(repository.reads).toBe(1);
      expect(await inspector.peek<Product>('product:1')).toEqual(first);
    });

    it('makes one repository call for concurrent misses of one product', async () => {
      const all = await Promise.all(Array.from({ length: 5 }, () => products.findOne('2')));
      expect(new Set(all.map((product) => product?.name))).toEqual(new Set(['Office chair']));
      expect(repository.reads).toBe(1);
    });

    it('stores the product for a minute, Date included', async () => {
      const product = await products.findOne('3');
      const entry = await inspector.entry<Product>('product:3');
      expect(entry?.value.updatedAt).toBeInstanceOf(Date);
      expect(entry?.value).toEqual(product);
      expect(entry!.freshUntil - Date.now()).toBeGreaterThan(55_000);
      expect(entry!.freshUntil - Date.now()).toBeLessThanOrEqual(60_000);
    });
  });

  describe('create()', () => {
    it('caches the new product under the id the repository gave it', async () => {
      const created = await products.create({ name: 'Monitor arm', priceCents: 8_900 });
      expect(await inspector.peek('product:' + created.id)).toEqual(created);
      expect(await products.findOne(created.id)).toEqual(created);
      expect(repository.reads).toBe(0);
    });
  });

  describe('update()', () => {
    it('replaces the cached product', async () => {
      await products.findOne('1');
      const updated = await products.update('1', { name: 'Desk lamp XL', priceCents: 3_900 });
      expect(await inspector.peek('product:1')).toEqual(updated);
      expect(await products.findOne('1')).toEqual(updated);
      expect(repository.reads).toBe(1);
    });

    it('evicts and stores nothing when the product does not exist', async () => {
      await moduleRef.get(CacheService).set('product:404', { stale: true });
      expect(await products.update('404', { name: 'x', priceCents: 1 })).toBeNull();
      expect(await inspector.has('product:404')).toBe(false);
    });
  });

  describe('remove()', () => {
    it('evicts the cached product', async () => {
      await products.findOne('2');
      expect(await inspector.keys()).toEqual(['product:2']);
      await products.remove('2');
      expect(await inspector.keys()).toEqual([]);
      expect(await products.findOne('2')).toBeNull();
    });
  });
});
