// #region decorators
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import { Cacheable, CacheEvict, CachePut } from 'nestjs-distributed-cache';
// #endregion decorators
import { type Product, type ProductInput, ProductRepository } from './support.js';
// #region decorators

@Injectable()
export class ProductsService {
  constructor(private readonly repo: ProductRepository) {}

  // The type arguments (the method's parameters, its result) type `tags`, `condition`, `unless`.
  @Cacheable<[id: string], Product | undefined>({
    key: 'product:{0}', // {0}: the first argument; {0.id}: a property of it
    ttl: '1m',
    tags: (id) => [`product:${id}`],
    condition: (id) => id !== 'draft', // false: run the method uncached
    unless: (result) => result === undefined, // true: return the result without storing it
  })
  findOne(id: string): Promise<Product | undefined> {
    return this.repo.findOne(id);
  }

  @CacheEvict({ key: 'product:{0}' }) // or { tags: [...] }, or { allEntries: true }
  update(id: string, input: ProductInput): Promise<Product> {
    return this.repo.update(id, input);
  }

  @CachePut({ key: 'product:{result.id}' }) // always runs, stores its result
  create(input: ProductInput): Promise<Product> {
    return this.repo.create(input);
  }
}

@Controller('products')
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Get(':id/label')
  @Cacheable({ key: 'product-label:{0}' }) // above or below @Get: both work
  async label(@Param('id') id: string): Promise<string> {
    const product = await this.products.findOne(id);
    return product ? `${product.name} (${(product.priceCents / 100).toFixed(2)})` : 'unknown';
  }
}
// #endregion decorators
