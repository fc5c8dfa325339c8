import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CacheLifecycle } from './cache.lifecycle.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
} from './cache.module-definition.js';
import { cacheProviders } from './cache.providers.js';
import { CacheService } from './cache.service.js';
import { CacheExplorer } from './instrumentation/cache.explorer.js';
import { CacheMetadataAccessor } from './instrumentation/cache-metadata.accessor.js';

/**
 * Registers the two-tier cache. `forRoot(options)` or `forRootAsync({ useFactory, inject,
 * imports } | { useClass } | { useExisting })`; `isGlobal: true` makes `CacheService` injectable
 * everywhere.
 */
@Module({
  // DiscoveryModule: the explorer binds @Cacheable/@CacheEvict/@CachePut methods at init.
  imports: [DiscoveryModule],
  // NOTE: CacheExplorer before CacheLifecycle: a bad decorator fails start-up before L2 connects.
  providers: [
    ...cacheProviders,
    CacheService,
    CacheMetadataAccessor,
    CacheExplorer,
    CacheLifecycle,
  ],
  exports: [CacheService],
})
export class DistributedCacheModule extends ConfigurableModuleClass {
  // NOTE: re-applied here rather than trusting the builder's extras alone: its async path
  // dropped `global` in several Nest releases.
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return { ...super.forRoot(options), global: options.isGlobal ?? false };
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return { ...super.forRootAsync(options), global: options.isGlobal ?? false };
  }
}
