import { Logger, type Provider } from '@nestjs/common';
import {
  INVALIDATION_BUS,
  L2_STORE,
  LOGGER_CONTEXT,
  RESOLVED_CACHE_OPTIONS,
  TIERED_CACHE,
} from './cache.constants.js';
import { createBusConnections } from './invalidation/bus-connections.factory.js';
import { InvalidationBus } from './invalidation/invalidation-bus.js';
import { DISTRIBUTED_CACHE_MODULE_OPTIONS } from './cache.module-definition.js';
import type { L2Store } from './l2/l2-store.interface.js';
import { createL2Store } from './l2/l2-store.factory.js';
import { resolveCacheOptions } from './options/options.validator.js';
import type { ResolvedCacheOptions } from './options/resolved-options.js';
import { TieredCache } from './tiering/tiered-cache.js';

/** Options are validated here, so a bad option fails application start-up, naming the option. */
export const cacheProviders: Provider[] = [
  {
    provide: RESOLVED_CACHE_OPTIONS,
    useFactory: (raw: unknown) => resolveCacheOptions(raw),
    inject: [DISTRIBUTED_CACHE_MODULE_OPTIONS],
  },
  {
    provide: L2_STORE,
    useFactory: (options: ResolvedCacheOptions) => createL2Store(options.l2),
    inject: [RESOLVED_CACHE_OPTIONS],
  },
  {
    provide: TIERED_CACHE,
    useFactory: (options: ResolvedCacheOptions, store: L2Store) =>
      new TieredCache(options, store, new Logger(LOGGER_CONTEXT)),
    inject: [RESOLVED_CACHE_OPTIONS, L2_STORE],
  },
  {
    provide: INVALIDATION_BUS,
    useFactory: (options: ResolvedCacheOptions, cache: TieredCache) =>
      options.invalidation.enabled
        ? new InvalidationBus(
            createBusConnections(options),
            cache,
            options.namespace,
            options.invalidation.channel,
            new Logger(LOGGER_CONTEXT),
          )
        : null,
    inject: [RESOLVED_CACHE_OPTIONS, TIERED_CACHE],
  },
];
