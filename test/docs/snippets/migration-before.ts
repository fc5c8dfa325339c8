// #region before
import {
  CACHE_MANAGER,
  CacheInterceptor,
  CacheKey,
  CacheModule,
  CacheTTL,
} from '@nestjs/cache-manager';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  UseInterceptors,
} from '@nestjs/common';
import type { Cache } from 'cache-manager';
// #endregion before
import KeyvRedis from '@keyv/redis';
import { type Product, type ProductInput, ProductRepository } from './support.js';
// #region before

@Injectable()
export class ProductsService {
  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly repo: ProductRepository,
  ) {}

  findOne(id: string): Promise<Product | undefined> {
    return this.cache.wrap(`product:${id}`, () => this.repo.findOne(id), 60_000);
  }

  async update(id: string, input: ProductInput): Promise<Product> {
    const product = await this.repo.update(id, input);
    await this.cache.del(`product:${id}`);
    await this.cache.del('products'); // the list route's @CacheKey
    return product;
  }
}

@Controller('products')
@UseInterceptors(CacheInterceptor) // GET responses, keyed by URL
export class ProductsController {
  constructor(
    private readonly products: ProductsService,
    private readonly repo: ProductRepository,
  ) {}

  @Get()
  @CacheKey('products') // a fixed key, so that update() can evict the list
  @CacheTTL(30_000)
  findAll(): Promise<Product[]> {
    return this.repo.findAll();
  }

  @Get(':id')
  findOne(@Param('id') id: string): Promise<Product | undefined> {
    return this.products.findOne(id);
  }
}

@Module({
  imports: [CacheModule.register({ isGlobal: true, ttl: 5_000 })],
  controllers: [ProductsController],
  providers: [ProductsService, ProductRepository],
})
export class AppModule {}
// #endregion before

/** The same cache on Redis: cache-manager 6+ takes Keyv stores. */
export const redisRegistration =
  // #region before-redis
  CacheModule.registerAsync({
    isGlobal: true,
    useFactory: () => ({ ttl: 5_000, stores: [new KeyvRedis(process.env.REDIS_URL)] }),
  });
// #endregion before-redis
