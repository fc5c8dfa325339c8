import type { ModuleRef } from '@nestjs/core';
import { INVALIDATION_BUS, L2_STORE, RESOLVED_CACHE_OPTIONS } from '../cache.constants.js';
import { CacheService } from '../cache.service.js';
import { CacheModuleMissingError } from '../errors/cache-module-missing.error.js';
import type { InvalidationBus } from '../invalidation/invalidation-bus.js';
import type { L2Store } from '../l2/l2-store.interface.js';
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
 * Finds the application's cache providers from an integration module.
 *
 * NOTE: looked up with `strict: false` rather than injected: `DistributedCacheModule` exports only
 * `CacheService`, and the integrations must also work when it is not global. Call it from
 * `onModuleInit` or later, when every provider of the application exists.
 *
 * @throws CacheModuleMissingError when the application has no `DistributedCacheModule`.
 */
export function resolveCacheInternals(moduleRef: ModuleRef, feature: string): CacheInternals {
  try {
    return {
      service: moduleRef.get(CacheService, { strict: false }),
      options: moduleRef.get<ResolvedCacheOptions>(RESOLVED_CACHE_OPTIONS, { strict: false }),
      store: moduleRef.get<L2Store>(L2_STORE, { strict: false }),
      bus: moduleRef.get<InvalidationBus | null>(INVALIDATION_BUS, { strict: false }) ?? null,
    };
  } catch (error: unknown) {
    throw new CacheModuleMissingError(feature, { cause: error });
  }
}
