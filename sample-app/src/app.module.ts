import { Module } from '@nestjs/common';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import { cacheOptionsFromEnv } from './cache-options.js';
import { ProductsModule } from './products/products.module.js';

@Module({
  imports: [
    DistributedCacheModule.forRoot({ isGlobal: true, ...cacheOptionsFromEnv(process.env) }),
    ProductsModule,
  ],
})
export class AppModule {}
