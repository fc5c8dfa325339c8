// #region usage
import { Injectable, Module } from '@nestjs/common';
import { CacheService, DistributedCacheModule } from 'nestjs-distributed-cache';
// #endregion usage
import { ConfigModule, ConfigService, type ProductInput, ProductRepository } from './support.js';
// #region usage

@Module({
  imports: [
    DistributedCacheModule.forRoot({
      isGlobal: true,
      namespace: 'shop',
      ttl: '5m',
      l1: { max: 10_000, maxBytes: 64 * 1024 * 1024, ttl: '30s' },
      l2: { type: 'redis', url: 'redis://127.0.0.1:6379' },
    }),
  ],
})
export class AppModule {}

@Injectable()
export class ProductsService {
  constructor(
    private readonly cache: CacheService,
    private readonly repo: ProductRepository,
  ) {}

  findOne(id: string) {
    // Concurrent misses of one key run the loader once (single-flight).
    return this.cache.getOrSet(`product:${id}`, () => this.repo.findOne(id), { ttl: '1m' });
  }

  async update(id: string, dto: ProductInput) {
    const product = await this.repo.update(id, dto);
    await this.cache.set(`product:${id}`, product); // L1 now, Redis within flushIntervalMs
    return product;
  }
}
// #endregion usage

export const asyncRegistration =
  // #region async
  DistributedCacheModule.forRootAsync({
    isGlobal: true,
    imports: [ConfigModule],
    inject: [ConfigService],
    useFactory: (config: ConfigService) => ({
      l2: { type: 'redis', url: config.get('REDIS_URL') },
    }),
  });
// #endregion async
