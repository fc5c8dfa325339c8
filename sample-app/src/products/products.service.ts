import { Injectable } from '@nestjs/common';
import { CacheService } from 'nestjs-distributed-cache';
import type { Product, ProductInput } from './product.js';
import { ProductRepository } from './product.repository.js';

const productKey = (id: string): string => `product:${id}`;

/** Catalogue reads go through the cache; writes update the repository, then the cache. */
@Injectable()
export class ProductsService {
  constructor(
    private readonly repository: ProductRepository,
    private readonly cache: CacheService,
  ) {}

  /** Read-through: concurrent misses of one product make one repository call. */
  findOne(id: string): Promise<Product | null> {
    return this.cache.getOrSet(productKey(id), () => this.repository.findOne(id), { ttl: '1m' });
  }

  async create(input: ProductInput): Promise<Product> {
    const product = await this.repository.create(input);
    await this.cache.set(productKey(product.id), product, { ttl: '1m' });
    return product;
  }

  async update(id: string, input: ProductInput): Promise<Product | null> {
    const product = await this.repository.update(id, input);
    if (product) await this.cache.set(productKey(id), product, { ttl: '1m' });
    return product;
  }

  async remove(id: string): Promise<boolean> {
    const removed = await this.repository.remove(id);
    await this.cache.del(productKey(id));
    return removed;
  }
}
