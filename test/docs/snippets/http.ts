// #region http
import { Body, Controller, Get, Param, Put, UseInterceptors } from '@nestjs/common';
import { CacheEvict } from 'nestjs-distributed-cache';
import { CacheInterceptor, CacheRoute } from 'nestjs-distributed-cache/http';
// #endregion http
// #region http-module
import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import { DistributedCacheHttpModule } from 'nestjs-distributed-cache/http';
// #endregion http-module
import { type Product, type ProductInput, ProductRepository } from './support.js';
// #region http

@Controller('products')
export class ProductsController {
  constructor(private readonly repo: ProductRepository) {}

  @Get(':id')
  @UseInterceptors(CacheInterceptor) // this route only: no other module or option needed
  @CacheRoute({ ttl: '1m', tags: ({ path }) => [path] }) // tagged '/products/1'
  findOne(@Param('id') id: string): Promise<Product | undefined> {
    return this.repo.findOne(id);
  }

  @Get()
  @UseInterceptors(CacheInterceptor)
  @CacheRoute({ ttl: '30s', tags: ['product-list'] })
  findAll(): Promise<Product[]> {
    return this.repo.findAll();
  }

  @Put(':id')
  @CacheEvict({ tags: (id: string) => [`/products/${id}`, 'product-list'] }) // both pages, every variant
  update(@Param('id') id: string, @Body() input: ProductInput): Promise<Product> {
    return this.repo.update(id, input);
  }
}
// #endregion http

/** The first example on its own: a global cache and the controller. */
@Module({
  imports: [DistributedCacheModule.forRoot({ isGlobal: true })],
  controllers: [ProductsController],
  providers: [ProductRepository],
})
export class RouteModule {}

// #region http-module

@Module({
  imports: [
    DistributedCacheModule.forRoot({ isGlobal: true }),
    // Optional: defaults for every cached route (without it: the cache's ttl, no vary, 'http:').
    DistributedCacheHttpModule.forRoot({ isGlobal: true, ttl: '30s', vary: ['accept-language'] }),
  ],
  controllers: [ProductsController],
  // Every GET route of the app; @CacheRoute(false) opts one out.
  providers: [{ provide: APP_INTERCEPTOR, useClass: CacheInterceptor }, ProductRepository],
})
export class AppModule {}
// #endregion http-module
