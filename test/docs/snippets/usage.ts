// #region usage
import { Injectable } from '@nestjs/common';
import { CacheService } from 'nestjs-distributed-cache';
// #endregion usage
import { type Product, type ProductInput, ProductRepository } from './support.js';
// #region usage

@Injectable()
export class ProductsService {
  constructor(
    private readonly cache: CacheService,
    private readonly repo: ProductRepository,
  ) {}

  findOne(id: string): Promise<Product | undefined> {
    // Concurrent misses of one key run the loader once (single-flight).
    return this.cache.getOrSet(`product:${id}`, () => this.repo.findOne(id), { ttl: '1m' });
  }

  async update(id: string, input: ProductInput): Promise<Product> {
    const product = await this.repo.update(id, input);
    await this.cache.set(`product:${id}`, product); // L1 now, Redis within flushIntervalMs
    return product;
  }
}
// #endregion usage
