// #region after
import { Controller, Get, Injectable, Module, Param, UseInterceptors } from '@nestjs/common';
import { Cacheable, CacheService, DistributedCacheModule } from 'nestjs-distributed-cache';
import { CacheInterceptor, CacheRoute } from 'nestjs-distributed-cache/http';
// #endregion after
import { type Product, type ProductInput, ProductRepository } from './support.js';
// #region after

@Injectable()
export class ProductsService {
  constructor(
    private readonly cache: CacheService, // was @Inject(CACHE_MANAGER) cache: Cache
    private readonly repo: ProductRepository,
  ) {}

  findOne(id: string): Promise<Product | undefined> {
    // wrap(key, fn, ttl) -> getOrSet(key, fn, { ttl }): single-flight as well
    return this.cache.getOrSet(`product:${id}`, () => this.repo.findOne(id), { ttl: 60_000 });
  }

  async update(id: string, input: ProductInput): Promise<Product> {
    const product = await this.repo.update(id, input);
    await this.cache.del([`product:${id}`, 'products']); // one call for several keys
    return product;
  }
}

@Controller('products')
@UseInterceptors(CacheInterceptor) // this library's: GET responses, keyed by normalised URL
export class ProductsController {
  constructor(
    private readonly products: ProductsService,
    private readonly repo: ProductRepository,
  ) {}

  @Get()
  @CacheRoute(false) // not by URL: the method's result is cached under a fixed key instead
  @Cacheable({ key: 'products', ttl: 30_000 }) // was @CacheKey('products') @CacheTTL(30_000)
  findAll(): Promise<Product[]> {
    return this.repo.findAll();
  }

  @Get(':id')
  findOne(@Param('id') id: string): Promise<Product | undefined> {
    return this.products.findOne(id);
  }
}

@Module({
  imports: [DistributedCacheModule.forRoot({ isGlobal: true, ttl: 5_000 })], // ttl: milliseconds too
  controllers: [ProductsController],
  providers: [ProductsService, ProductRepository],
})
export class AppModule {}
// #endregion after

/** The same cache on Redis. */
export const redisRegistration =
  // #region after-redis
  DistributedCacheModule.forRootAsync({
    isGlobal: true,
    useFactory: () => ({ ttl: 5_000, l2: { type: 'redis', url: process.env.REDIS_URL } }),
  });
// #endregion after-redis
