import { type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { CacheLifecycle } from './cache.lifecycle.js';
import type { ASYNC_OPTIONS_TYPE } from './cache.module-definition.js';
import { createCacheProviders } from './cache.providers.js';
import { CacheService } from './cache.service.js';
import { type CacheTokens, cacheTokens, namedCacheToken } from './cache.tokens.js';
import { CacheOptionsError } from './errors/cache.errors.js';
import { CacheExplorer } from './instrumentation/cache.explorer.js';
import { CacheMetadataAccessor } from './instrumentation/cache-metadata.accessor.js';
import type { InvalidationBus } from './invalidation/invalidation-bus.js';
import type { L2Store } from './contracts/l2-store.interface.js';
import type { DistributedCacheModuleOptions } from './options/cache-options.interface.js';
import type { ResolvedCacheOptions } from './options/resolved-options.js';
import { CacheInspector } from './testing/cache-inspector.js';
import { getCacheInspectorToken } from './testing/inspector-token.js';
import type { DistributedCacheTestingOptions } from './testing/testing-options.interface.js';
import { TestingMemoryStore } from './testing/testing-memory.store.js';
import type { TieredCache } from './tiering/tiered-cache.js';

/*
 * How a cache is registered (the design):
 *
 * Every registration, the default cache and each named one, gets the same factory providers
 * (raw options, resolved options, L2 store, tiered cache, bus, CacheService, explorer, lifecycle)
 * under its own tokens (cache.tokens.ts); only the default cache's options provider comes from
 * Nest's ConfigurableModuleBuilder. Only the CacheService token is exported; the metrics and
 * health integrations find the rest with `strict: false` lookups of the same tokens, because they
 * must also work beside a cache module that is neither global nor imported into theirs.
 *
 * Each named registration also provides a random id, so two `forRoot({ name })` calls stay two
 * modules even when their options are identical (Nest merges dynamic modules whose metadata hash
 * alike); the explorer then refuses the duplicate name at start-up instead of the app silently
 * sharing one cache.
 */

/** A registration as the module's static methods describe it. Internal. */
export interface CacheRegistration {
  readonly name: string | undefined;
  readonly isGlobal: boolean;
  readonly imports?: DynamicModule['imports'];
  /** Provide `tokens.rawOptions`. */
  readonly optionsProviders: Provider[];
  /** `forTest()`: also provide and export a `CacheInspector`. */
  readonly testing: boolean;
}

/** The dynamic module of a registration of `module` (always `DistributedCacheModule`). Internal. */
export function cacheModuleOf(module: Type, registration: CacheRegistration): DynamicModule {
  const tokens = cacheTokens(registration.name);
  const providers = [
    ...registration.optionsProviders,
    ...(tokens.name === undefined
      ? []
      : [{ provide: namedCacheToken(tokens.name, 'registration'), useValue: randomUUID() }]),
    ...registrationProviders(tokens),
    ...(registration.testing ? [inspectorProvider(tokens)] : []),
  ];
  return {
    module,
    global: registration.isGlobal,
    imports: registration.imports ?? [],
    providers,
    exports: registration.testing
      ? [tokens.service, getCacheInspectorToken(tokens.name)]
      : [tokens.service],
  };
}

/** The providers of one registration after its options provider, under its tokens. */
function registrationProviders(tokens: CacheTokens): Provider[] {
  return [
    ...createCacheProviders(tokens),
    {
      provide: tokens.service,
      useFactory: (cache: TieredCache) => new CacheService(cache),
      inject: [tokens.tieredCache],
    },
    CacheMetadataAccessor,
    // NOTE: explorer before lifecycle: a bad decorator fails start-up before L2 connects.
    {
      provide: tokens.explorer,
      useFactory: (
        discovery: DiscoveryService,
        scanner: MetadataScanner,
        accessor: CacheMetadataAccessor,
        service: CacheService,
      ) => new CacheExplorer(discovery, scanner, accessor, service, tokens.name),
      inject: [DiscoveryService, MetadataScanner, CacheMetadataAccessor, tokens.service],
    },
    {
      provide: tokens.lifecycle,
      useFactory: (
        options: ResolvedCacheOptions,
        store: L2Store,
        cache: TieredCache,
        bus: InvalidationBus | null,
      ) => new CacheLifecycle(options, store, cache, bus, tokens.name),
      inject: [tokens.options, tokens.store, tokens.tieredCache, tokens.bus],
    },
  ];
}

/** `forRootAsync`'s options provider, under the registration's own token. Internal. */
export function asyncOptionsProviders(
  tokens: CacheTokens,
  options: typeof ASYNC_OPTIONS_TYPE,
): Provider[] {
  const { useFactory, useClass, useExisting, inject } = options;
  if (useFactory) {
    return [{ provide: tokens.rawOptions, useFactory, inject: inject ?? [] }];
  }
  const factoryClass = useExisting ?? useClass;
  if (!factoryClass) {
    throw new CacheOptionsError(
      'forRootAsync',
      'DistributedCacheModule.forRootAsync() needs useFactory, useClass or useExisting',
    );
  }
  const provider: Provider = {
    provide: tokens.rawOptions,
    useFactory: (factory: { createCacheOptions(): unknown }) => factory.createCacheOptions(),
    inject: [factoryClass],
  };
  return useExisting ? [provider] : [provider, { provide: factoryClass, useClass: factoryClass }];
}

/**
 * `forTest()`'s options provider: the options with a fresh {@link TestingMemoryStore} as L2, made
 * when the application is created, so a `forTest()` module reused by several test applications
 * gives each its own store. Internal.
 *
 * @throws CacheOptionsError at once when the options set `l2` or `invalidation`
 */
export function testingOptionsProviders(
  tokens: CacheTokens,
  options: DistributedCacheTestingOptions,
): Provider[] {
  for (const option of ['l2', 'invalidation'] as const) {
    if (option in options) {
      throw new CacheOptionsError(
        option,
        `DistributedCacheModule.forTest() does not take '${option}': it always runs on the ` +
          'in-process memory L2, with no invalidation bus; use forRoot() to test another L2',
      );
    }
  }
  const cacheOptions: DistributedCacheModuleOptions = { ...options };
  delete (cacheOptions as { isGlobal?: unknown }).isGlobal;
  delete cacheOptions.name;
  return [
    {
      provide: tokens.rawOptions,
      useFactory: (): DistributedCacheModuleOptions => ({
        ...cacheOptions,
        l2: { type: 'custom', store: new TestingMemoryStore() },
      }),
    },
  ];
}

function inspectorProvider(tokens: CacheTokens): Provider {
  return {
    provide: getCacheInspectorToken(tokens.name),
    useFactory: (service: CacheService, options: ResolvedCacheOptions, store: L2Store) =>
      new CacheInspector(service, options, store),
    inject: [tokens.service, tokens.options, tokens.store],
  };
}
