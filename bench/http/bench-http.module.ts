import { CacheInterceptor, CacheModule, CacheTTL } from '@nestjs/cache-manager';
import { Controller, Get, Module, NotFoundException, Param, UseInterceptors } from '@nestjs/common';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import { cacheOptionsFromEnv } from '../../sample-app/src/cache-options.js';
import type { Product } from '../../sample-app/src/products/product.js';
import { ProductRepository } from '../../sample-app/src/products/product.repository.js';
import { ProductsModule } from '../../sample-app/src/products/products.module.js';

/**
 * Routes the HTTP scenario compares with the sample app's own cached `GET /products/:id`: the same
 * lookup without a cache, the same lookup behind @nestjs/cache-manager's CacheInterceptor, and a
 * constant body (what Nest + Express cost with no work at all).
 */
@Controller()
class BenchHttpController {
  constructor(private readonly repository: ProductRepository) {}

  @Get('bench/constant')
  constant(): Product {
    return { id: '1', name: 'Desk lamp', priceCents: 2_900, updatedAt: new Date(0) };
  }

  @Get('uncached/products/:id')
  async uncached(@Param('id') id: string): Promise<Product> {
    const product = await this.repository.findOne(id);
    if (!product) throw new NotFoundException(`product ${id} not found`);
    return product;
  }

  @Get('cache-manager/products/:id')
  @UseInterceptors(CacheInterceptor)
  @CacheTTL(60_000)
  async cacheManager(@Param('id') id: string): Promise<Product> {
    return this.uncached(id);
  }
}

/**
 * The sample app's catalogue (its ProductsModule and its cache settings from the environment, as
 * its AppModule wires them; the observability routes are left out) plus the bench routes.
 */
@Module({
  imports: [
    DistributedCacheModule.forRoot({ isGlobal: true, ...cacheOptionsFromEnv(process.env) }),
    ProductsModule,
    CacheModule.register({ ttl: 60_000 }),
  ],
  controllers: [BenchHttpController],
  providers: [ProductRepository],
})
export class BenchHttpModule {}
