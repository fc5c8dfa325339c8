/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe() and it() return
   promises that the runner itself awaits, as its documentation's examples do. */
/*
 * docs/testing.md, node:test: tests the README's first cache (first-cache.ts) with Node's own
 * runner, after `tsc`. Type-checked here; test/compat/run.sh copies it with first-cache.ts into
 * the Nest 12 ESM compat app, compiles both against the packed tarball and runs
 * `node --test dist/*.node-test.js`.
 */
// #region node-test
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
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

    assert.equal((await products.findOne('1'))?.name, 'Desk lamp');
    const entry = await inspector.entry('product:1'); // flushes write-behind first
    assert.ok(entry && entry.freshUntil - Date.now() > 50_000);

    await products.rename('1', 'Lamp');
    assert.deepEqual(await inspector.keys(), []);
    assert.equal((await products.findOne('1'))?.name, 'Lamp');
  });
});
// #endregion node-test
