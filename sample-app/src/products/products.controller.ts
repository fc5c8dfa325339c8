import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Put,
  BadRequestException,
} from '@nestjs/common';
import { Cacheable, CacheEvict, CacheService } from 'nestjs-distributed-cache';
import type { Product, ProductInput } from './product.js';
import { ProductsService } from './products.service.js';

function parseInput(body: unknown): ProductInput {
  const input = body as Partial<ProductInput> | undefined;
  if (typeof input?.name !== 'string' || !Number.isInteger(input.priceCents)) {
    throw new BadRequestException('body must be { name: string, priceCents: integer }');
  }
  return { name: input.name, priceCents: input.priceCents as number };
}

@Controller()
export class ProductsController {
  constructor(
    private readonly products: ProductsService,
    private readonly cache: CacheService,
  ) {}

  /**
   * A cached route: a hit answers without calling the service at all. A 404 throws, so it is
   * never cached. PUT and DELETE evict it.
   */
  @Get('products/:id')
  @Cacheable({ key: 'product-view:{0}', ttl: '1m' })
  async findOne(@Param('id') id: string): Promise<Product> {
    const product = await this.products.findOne(id);
    if (!product) throw new NotFoundException(`product ${id} not found`);
    return product;
  }

  @Post('products')
  create(@Body() body: unknown): Promise<Product> {
    return this.products.create(parseInput(body));
  }

  @Put('products/:id')
  @CacheEvict({ key: 'product-view:{0}' })
  async update(@Param('id') id: string, @Body() body: unknown): Promise<Product> {
    const product = await this.products.update(id, parseInput(body));
    if (!product) throw new NotFoundException(`product ${id} not found`);
    return product;
  }

  @Delete('products/:id')
  @HttpCode(204)
  @CacheEvict({ key: 'product-view:{0}' })
  async remove(@Param('id') id: string): Promise<void> {
    if (!(await this.products.remove(id))) throw new NotFoundException(`product ${id} not found`);
  }

  /** The cache's counters, to watch hits and write-behind at work. */
  @Get('cache/stats')
  stats(): ReturnType<CacheService['stats']> {
    return this.cache.stats();
  }
}
