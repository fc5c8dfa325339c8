/*
 * docs/testing.md, Jest: tests the README's first cache (first-cache.ts). Run here by the
 * repository's Jest; test/compat/run.sh copies it with first-cache.ts into the Nest 12 ESM compat
 * app, whose jest.config.js is the one docs/testing.md shows, and runs it there against the
 * packed tarball.
 */
// #region jest-test
import { Test, type TestingModule } from '@nestjs/testing';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import { CacheInspector } from 'nestjs-distributed-cache/testing';
import { ProductsService } from './first-cache.js';

describe('ProductsService', () => {
  let moduleRef: TestingModule;

  beforeEach(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [DistributedCacheModule.forTest()], // memory L2, no Redis
      providers: [ProductsService],
    }).compile();
    await moduleRef.init();
  });

  afterEach(() => moduleRef.close());

  it('caches findOne() for a minute and evicts it on rename()', async () => {
    const products = moduleRef.get(ProductsService);
    const inspector = moduleRef.get(CacheInspector);

    expect((await products.findOne('1'))?.name).toBe('Desk lamp');
    const entry = await inspector.entry('product:1'); // flushes write-behind first
    expect(entry!.freshUntil - Date.now()).toBeGreaterThan(50_000);

    await products.rename('1', 'Lamp');
    expect(await inspector.keys()).toEqual([]);
    expect((await products.findOne('1'))?.name).toBe('Lamp');
  });
});
// #endregion jest-test
