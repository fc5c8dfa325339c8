import { Injectable, Module } from '@nestjs/common';
import { Cacheable, CacheEvict } from 'nestjs-distributed-cache';

/*
 * Stand-ins for an application's own classes, so that the README examples in this folder compile
 * and run as written. Not part of any example.
 */

/** Fields a client sends to create or update a product. */
export interface ProductInput {
  name: string;
  priceCents: number;
}

/** A catalogue entry. */
export interface Product extends ProductInput {
  id: string;
}

/** An in-memory "database" that counts the reads that reach it. */
@Injectable()
export class ProductRepository {
  reads = 0;
  listReads = 0;
  private readonly rows = new Map<string, Product>([
    ['1', { id: '1', name: 'Desk lamp', priceCents: 2_900 }],
    ['2', { id: '2', name: 'Office chair', priceCents: 14_900 }],
  ]);

  findOne(id: string): Promise<Product | undefined> {
    this.reads++;
    const row = this.rows.get(id);
    return Promise.resolve(row && { ...row });
  }

  findAll(): Promise<Product[]> {
    this.listReads++;
    return Promise.resolve([...this.rows.values()].map((row) => ({ ...row })));
  }

  update(id: string, input: ProductInput): Promise<Product> {
    const product = { id, ...input };
    this.rows.set(id, product);
    return Promise.resolve({ ...product });
  }

  create(input: ProductInput): Promise<Product> {
    return this.update(String(this.rows.size + 1), input);
  }
}

/** A decorated service, for the testing example. */
@Injectable()
export class ProductsService {
  constructor(private readonly repository: ProductRepository) {}

  @Cacheable({ key: 'product:{0}', ttl: '1m' })
  findOne(id: string): Promise<Product | undefined> {
    return this.repository.findOne(id);
  }

  @CacheEvict({ key: 'product:{0}' })
  update(id: string, input: ProductInput): Promise<Product> {
    return this.repository.update(id, input);
  }
}

/** A feature module with no cache import: it relies on a global cache registration. */
@Module({ providers: [ProductRepository, ProductsService], exports: [ProductsService] })
export class ProductsModule {}

/** A slow upstream, for the named-caches example. */
export function fetchRate(from: string, to: string): Promise<number> {
  return Promise.resolve(from === to ? 1 : 1.1);
}
