import { Injectable } from '@nestjs/common';
import { Cacheable, CacheEvict, CachePut } from 'nestjs-distributed-cache';
import type { Product, ProductInput } from './product.js';
import { ProductRepository } from './product.repository.js';

/**
 * Catalogue reads go through the cache; writes update the repository, then the cache. The
 * decorators are bound to the app's CacheService when the app starts; every entry lives under
 * `product:<id>` for a minute.
 */
@Injectable()
export class ProductsService {
  constructor(private readonly repository: ProductRepository) {}

  /** Read-through: concurrent misses of one product make one repository call. */
  @Cacheable({ key: 'product:{0}', ttl: '1m' })
  findOne(id: string): Promise<Product | null> {
    return this.repository.findOne(id);
  }

  /** The new product is cached at once, under the id the repository gave it. */
  @CachePut({ key: 'product:{result.id}', ttl: '1m' })
  create(input: ProductInput): Promise<Product> {
    return this.repository.create(input);
  }

  /**
   * Evicts first, so an update that fails half-way leaves no stale entry behind, then caches
   * the new version (which another instance sharing the Redis reads once this one flushed).
   */
  @CacheEvict({ key: 'product:{0}', beforeInvocation: true })
  @CachePut({
    key: 'product:{0}',
    ttl: '1m',
    unless: (product: Product | null) => product === null,
  })
  update(id: string, input: ProductInput): Promise<Product | null> {
    return this.repository.update(id, input);
  }

  @CacheEvict({ key: 'product:{0}' })
  remove(id: string): Promise<boolean> {
    return this.repository.remove(id);
  }
}
