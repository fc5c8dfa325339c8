import type { ModuleRef } from '@nestjs/core';
import type { CacheService } from '../cache.service.js';
import { cacheTokens } from '../cache.tokens.js';
import { CacheModuleMissingError } from '../errors/cache.errors.js';
import type { InvalidationBus } from '../invalidation/invalidation-bus.js';
import type { L2Store } from '../contracts/l2-store.interface.js';
import type { ResolvedCacheOptions } from '../options/resolved-options.js';

/** The parts of a running cache that the metrics and health integrations read. Internal. */
export interface CacheInternals {
  readonly service: CacheService;
  readonly options: ResolvedCacheOptions;
  readonly store: L2Store;
  /** `null` when invalidation is off. */
  readonly bus: InvalidationBus | null;
}

/**
 * Finds the providers of one of the application's caches from an integration module: the default
 * cache, or with `cacheName` the cache registered with `forRoot({ name: cacheName })`.
 *
 * NOTE: looked up with `strict: false` rather than injected: `DistributedCacheModule` exports only
 * `CacheService`, and the integrations must also work when it is not global. Call it from
 * `onModuleInit` or later, when every provider of the application exists.
 *
 * @throws CacheModuleMissingError when the application has no such `DistributedCacheModule`.
 */
export function resolveCacheInternals(
  moduleRef: ModuleRef,
  feature: string,
  cacheName?: string,
): CacheInternals {
  const tokens = cacheTokens(cacheName);
  try {
    return {
      service: moduleRef.get<CacheService>(tokens.service, { strict: false }),
      options: moduleRef.get<ResolvedCacheOptions>(tokens.options, { strict: false }),
      store: moduleRef.get<L2Store>(tokens.store, { strict: false }),
      bus: moduleRef.get<InvalidationBus | null>(tokens.bus, { strict: false }) ?? null,
    };
  } catch (error: unknown) {
    throw new CacheModuleMissingError(feature, { cause: error, cacheName });
  }
}
