import { Injectable } from '@nestjs/common';
import type { Product, ProductInput } from './product.js';

/**
 * Stands in for a slow database: every call takes `latencyMs` (50 ms by default). `reads` counts
 * the lookups that reached it, so tests can see what the cache saved.
 */
@Injectable()
export class ProductRepository {
  reads = 0;
  latencyMs = Number(process.env['REPOSITORY_LATENCY_MS'] ?? 50);
  private readonly rows = new Map<string, Product>();
  private nextId = 1;

  constructor() {
    for (const [name, priceCents] of [
      ['Desk lamp', 2_900],
      ['Office chair', 14_900],
      ['Standing desk', 39_900],
    ] as const) {
      const id = String(this.nextId++);
      this.rows.set(id, { id, name, priceCents, updatedAt: new Date() });
    }
  }

  async findOne(id: string): Promise<Product | null> {
    this.reads++;
    await this.pause();
    const row = this.rows.get(id);
    return row ? { ...row } : null;
  }

  async create(input: ProductInput): Promise<Product> {
    await this.pause();
    const product = { id: String(this.nextId++), ...input, updatedAt: new Date() };
    this.rows.set(product.id, product);
    return { ...product };
  }

  async update(id: string, input: ProductInput): Promise<Product | null> {
    await this.pause();
    if (!this.rows.has(id)) return null;
    const product = { id, ...input, updatedAt: new Date() };
    this.rows.set(id, product);
    return { ...product };
  }

  async remove(id: string): Promise<boolean> {
    await this.pause();
    return this.rows.delete(id);
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }
}
