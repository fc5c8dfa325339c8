import { Module } from '@nestjs/common';
import { ProductRepository } from './product.repository.js';
import { ProductsController } from './products.controller.js';
import { ProductsService } from './products.service.js';

@Module({
  controllers: [ProductsController],
  providers: [ProductRepository, ProductsService],
})
export class ProductsModule {}
