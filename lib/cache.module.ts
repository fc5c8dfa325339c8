import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
} from './cache.module-definition.js';
import {
  asyncOptionsProviders,
  cacheModuleOf,
  testingOptionsProviders,
} from './cache.registration.js';
import { cacheTokens } from './cache.tokens.js';
import type { DistributedCacheTestingOptions } from './testing/testing-options.interface.js';

/**
 * Registers the two-tier cache. `forRoot(options)` or `forRootAsync({ useFactory, inject,
 * imports } | { useClass } | { useExisting })`; `isGlobal: true` makes the cache injectable
 * everywhere. With `name`, a named cache next to the default one (`@InjectCache(name)`);
 * `forTest()` for tests, on the in-process memory L2 with a `CacheInspector`.
 */
@Module({
  // DiscoveryModule: the explorer binds @Cacheable/@CacheEvict/@CachePut methods at init.
  imports: [DiscoveryModule],
})
export class DistributedCacheModule extends ConfigurableModuleClass {
  /**
   * Registers the default cache (`CacheService`), or with `name` a named one.
   * @throws CacheOptionsError at once when `name` is invalid; every other option is validated at
   *   application start-up
   * @example
   * DistributedCacheModule.forRoot({ isGlobal: true, namespace: 'shop', l2: { type: 'redis', url } })
   * @example
   * DistributedCacheModule.forRoot({ name: 'sessions', namespace: 'sessions', ttl: '30m' })
   */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    const { name, isGlobal = false } = options;
    if (name === undefined) {
      // The builder's definition provides the options; the providers are the default cache's.
      // NOTE: `global` is re-applied rather than trusting the builder's extras alone: its async
      // path dropped it in several Nest releases.
      const definition = super.forRoot(options);
      return cacheModuleOf(this, {
        name,
        isGlobal,
        optionsProviders: definition.providers ?? [],
        testing: false,
      });
    }
    const tokens = cacheTokens(name);
    return cacheModuleOf(this, {
      name,
      isGlobal,
      optionsProviders: [{ provide: tokens.rawOptions, useValue: withoutExtras(options) }],
      testing: false,
    });
  }

  /**
   * `forRoot` with options from a factory (`useFactory` + `inject` + `imports`), a class
   * (`useClass`) or an existing provider (`useExisting`) implementing `createCacheOptions()`.
   * `isGlobal` and `name` sit beside them.
   * @example
   * DistributedCacheModule.forRootAsync({
   *   name: 'sessions',
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ l2: { type: 'redis', url: config.get('REDIS_URL') } }),
   * })
   */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    const { name, isGlobal = false } = options;
    if (name === undefined) {
      const definition = super.forRootAsync(options);
      return cacheModuleOf(this, {
        name,
        isGlobal,
        imports: definition.imports,
        optionsProviders: definition.providers ?? [],
        testing: false,
      });
    }
    return cacheModuleOf(this, {
      name,
      isGlobal,
      imports: options.imports,
      optionsProviders: asyncOptionsProviders(cacheTokens(name), options),
      testing: false,
    });
  }

  /**
   * A cache for tests: the same cache (L1, write-behind, tags, decorators) on the in-process
   * memory L2, global unless `isGlobal: false`, plus a `CacheInspector` that shows what L2
   * holds. Call `CacheService.flush()` (or any inspector method, which flushes first) instead of
   * sleeping for write-behind. With `name`, a named test cache (`getCacheInspectorToken(name)`).
   *
   * @throws CacheOptionsError at once when the options set `l2` or `invalidation`, or `name` is
   *   invalid
   * @example
   * const moduleRef = await Test.createTestingModule({
   *   imports: [DistributedCacheModule.forTest(), ProductsModule],
   * }).compile();
   * await moduleRef.init();
   * const inspector = moduleRef.get(CacheInspector);
   */
  static forTest(options: DistributedCacheTestingOptions = {}): DynamicModule {
    const tokens = cacheTokens(options.name);
    return cacheModuleOf(this, {
      name: options.name,
      isGlobal: options.isGlobal ?? true,
      optionsProviders: testingOptionsProviders(tokens, options),
      testing: true,
    });
  }
}

/** The cache options of a named `forRoot`: without the registration's own `name` and `isGlobal`. */
function withoutExtras(options: typeof OPTIONS_TYPE): Record<string, unknown> {
  const cacheOptions: Record<string, unknown> = { ...options };
  delete cacheOptions['name'];
  delete cacheOptions['isGlobal'];
  return cacheOptions;
}
