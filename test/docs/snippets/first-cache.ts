/*
 * README "Install and first cache": a complete app module, imports included. Self-contained on
 * purpose (it imports nothing of this repository): test/compat/run.sh copies this very file into
 * the Nest 12 ESM compat app, which compiles it against the packed tarball and runs it on a real
 * Redis; test/docs/examples.redis.spec.ts runs it here.
 */
// #region first-cache
import { Body, Controller, Get, Injectable, Module, Param, Put } from '@nestjs/common';
import {
  Cacheable,
  CacheEvict,
  CacheService,
  type CacheStatsSnapshot,
  DistributedCacheModule,
} from 'nestjs-distributed-cache';

export interface Product {
  id: string;
  name: string;
}

@Injectable()
export class ProductsService {
  // Stands in for your database: 100 ms per read.
  private readonly rows = new Map([['1', { id: '1', name: 'Desk lamp' }]]);

  @Cacheable({ key: 'product:{0}', ttl: '1m' }) // a hit returns without running the method
  async findOne(id: string): Promise<Product | undefined> {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return this.rows.get(id);
  }

  @CacheEvict({ key: 'product:{0}' }) // once the method succeeds, on every instance
  rename(id: string, name: string): Promise<Product> {
    const product = { id, name };
    this.rows.set(id, product);
    return Promise.resolve(product);
  }
}

@Controller()
export class ProductsController {
  constructor(
    private readonly products: ProductsService,
    private readonly cache: CacheService,
  ) {}

  @Get('products/:id')
  findOne(@Param('id') id: string): Promise<Product | undefined> {
    return this.products.findOne(id);
  }

  @Put('products/:id')
  rename(@Param('id') id: string, @Body('name') name: string): Promise<Product> {
    return this.products.rename(id, name);
  }

  @Get('cache/stats')
  stats(): CacheStatsSnapshot {
    return this.cache.stats(); // l1Hits, l2Hits, misses, hitRatio, pending, ...
  }
}

@Module({
  imports: [
    DistributedCacheModule.forRoot({
      isGlobal: true, // CacheService injectable in every module
      namespace: 'shop', // Redis keys are `shop:${key}`
      ttl: '5m', // default lifetime of an entry
      l2: { type: 'redis', url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    }),
  ],
  controllers: [ProductsController],
  providers: [ProductsService],
})
export class AppModule {}
// #endregion first-cache
