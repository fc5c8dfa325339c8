// #region testing
import { Test, type TestingModule } from '@nestjs/testing';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import { CacheInspector } from 'nestjs-distributed-cache/testing';
// #endregion testing
import 'reflect-metadata';
import { ProductRepository, ProductsModule, ProductsService } from './support.js';
// #region testing

describe('ProductsService', () => {
  let moduleRef: TestingModule;

  beforeEach(async () => {
    moduleRef = await Test.createTestingModule({
      // The real cache on the in-process memory L2; global, like the app's registration.
      imports: [DistributedCacheModule.forTest(), ProductsModule],
    }).compile();
    await moduleRef.init();
  });

  afterEach(() => moduleRef.close());

  it('caches a product for a minute and evicts it on update', async () => {
    const products = moduleRef.get(ProductsService);
    const inspector = moduleRef.get(CacheInspector);

    await products.findOne('1');
    await products.findOne('1');
    expect(moduleRef.get(ProductRepository).reads).toBe(1);

    // The inspector flushes write-behind first: no sleeps.
    const entry = await inspector.entry('product:1');
    expect(entry?.value).toMatchObject({ name: 'Desk lamp' });
    expect(entry!.freshUntil - Date.now()).toBeGreaterThan(50_000);

    await products.update('1', { name: 'Lamp', priceCents: 1_900 });
    expect(await inspector.keys()).toEqual([]);
  });
});
// #endregion testing
