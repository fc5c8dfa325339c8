import { Module } from '@nestjs/common';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import { cacheOptionsFromEnv } from './cache-options.js';
import { healthOptionsFromEnv, ObservabilityModule } from './observability/observability.module.js';
import { ProductsModule } from './products/products.module.js';

@Module({
  imports: [
    DistributedCacheModule.forRoot({ isGlobal: true, ...cacheOptionsFromEnv(process.env) }),
    ProductsModule,
    // GET /metrics (Prometheus) and GET /health (terminus).
    ObservabilityModule.forRoot({ health: healthOptionsFromEnv(process.env) }),
  ],
})
export class AppModule {}
