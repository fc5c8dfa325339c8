import 'reflect-metadata';
import { NotFoundException } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import { CacheInspector } from 'nestjs-distributed-cache/testing';
import { ProductRepository } from './product.repository.js';
import { ProductsController } from './products.controller.js';
import { ProductsModule } from './products.module.js';

/**
 * The controller's cached route, called as a method: the cache decorators are bound on
 * controllers as on providers. DistributedCacheModule.forTest() needs no Redis.
 */
describe(ProductsController, () => {
  let moduleRef: TestingModule;
  let controller: ProductsController;
  let repository: ProductRepository;
  let inspector: CacheInspector;

  beforeEach(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [DistributedCacheModule.forTest({ namespace: 'catalogue' }), ProductsModule],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    controller = moduleRef.get(ProductsController);
    repository = moduleRef.get(ProductRepository);
    repository.latencyMs = 0;
    inspector = moduleRef.get(CacheInspector);
  });

  afterEach(async () => {
    await moduleRef.close();
  });

  describe('findOne()', () => {
    it('caches the product view for a hit without calling the service', async () => {
      const view = await controller.findOne('1');
      expect(await controller.findOne('1')).toEqual(view);
      expect(repository.reads).toBe(1);
      // Both the view (controller) and the product (service) are stored.
      expect(await inspector.keys()).toEqual(['product-view:1', 'product:1']);
    });

    it('never caches a 404', async () => {
      await expect(controller.findOne('404')).rejects.toThrow(NotFoundException);
      expect(await inspector.has('product-view:404')).toBe(false);
    });
  });

  describe('update() and remove()', () => {
    it('evict the cached view', async () => {
      await controller.findOne('1');
      await controller.update('1', { name: 'Desk lamp XL', priceCents: 3_900 });
      expect(await inspector.has('product-view:1')).toBe(false);
      expect(await controller.findOne('1')).toMatchObject({ name: 'Desk lamp XL' });

      await controller.remove('1');
      expect(await inspector.has('product-view:1')).toBe(false);
    });
  });

  describe('stats()', () => {
    it('reports the counters of the test cache', async () => {
      await controller.findOne('2');
      await controller.findOne('2');
      expect(controller.stats()).toMatchObject({ l1Hits: 1 });
    });
  });
});
