import { type DynamicModule, Module } from '@nestjs/common';
import { DistributedCacheHealthIndicator } from './cache-health.indicator.js';
import {
  CACHE_HEALTH_OPTIONS,
  type CacheHealthModuleOptions,
  resolveHealthOptions,
} from './health-options.interface.js';

/**
 * Provides `DistributedCacheHealthIndicator` for a `@nestjs/terminus` health check. Import it next
 * to `DistributedCacheModule` (and `TerminusModule`) in the same application.
 *
 * @example
 * @Module({
 *   imports: [
 *     DistributedCacheModule.forRoot({ isGlobal: true, l2: { type: 'redis', url } }),
 *     DistributedCacheHealthModule.forRoot({ downAfterMs: 10_000 }),
 *     TerminusModule,
 *   ],
 *   controllers: [HealthController],
 * })
 * export class AppModule {}
 */
@Module({})
export class DistributedCacheHealthModule {
  /** @throws CacheOptionsError when an option is invalid (at once, naming the option). */
  static forRoot(options: CacheHealthModuleOptions = {}): DynamicModule {
    return {
      module: DistributedCacheHealthModule,
      global: options.isGlobal ?? false,
      providers: [
        { provide: CACHE_HEALTH_OPTIONS, useValue: resolveHealthOptions(options) },
        DistributedCacheHealthIndicator,
      ],
      exports: [DistributedCacheHealthIndicator],
    };
  }
}
