import { Logger, type Provider } from '@nestjs/common';
import { LOGGER_CONTEXT } from './cache.constants.js';
import { cacheMessages } from './cache.messages.js';
import type { CacheTokens } from './cache.tokens.js';
import { CacheOptionsError } from './errors/cache.errors.js';
import { createBusConnections } from './invalidation/bus-connections.factory.js';
import { InvalidationBus } from './invalidation/invalidation-bus.js';
import type { L2Store } from './contracts/l2-store.interface.js';
import { createL2Store } from './l2/l2-store.factory.js';
import { resolveCacheOptions } from './options/options.validator.js';
import type { ResolvedCacheOptions } from './options/resolved-options.js';
import { TieredCache } from './tiering/tiered-cache.js';

/**
 * The factory providers of one cache registration (resolved options, L2 store, tiered cache,
 * invalidation bus), under that registration's tokens: the default cache's, or a named cache's
 * `distributed-cache:<name>:*`. Options are validated here, so a bad option fails application
 * start-up, naming the option.
 */
export function createCacheProviders(tokens: CacheTokens): Provider[] {
  return [
    {
      provide: tokens.options,
      useFactory: (raw: unknown) => resolveCacheOptions(withoutName(raw, tokens.name)),
      inject: [tokens.rawOptions],
    },
    {
      provide: tokens.store,
      useFactory: (options: ResolvedCacheOptions) =>
        createL2Store(options.l2, new Logger(LOGGER_CONTEXT), {
          writeConnection: options.writeBehind.replicas > 0,
        }),
      inject: [tokens.options],
    },
    {
      provide: tokens.tieredCache,
      useFactory: (options: ResolvedCacheOptions, store: L2Store) =>
        new TieredCache(options, store, new Logger(LOGGER_CONTEXT)),
      inject: [tokens.options, tokens.store],
    },
    {
      provide: tokens.bus,
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
      inject: [tokens.options, tokens.tieredCache],
    },
  ];
}

/**
 * The options without `name`, which names the registration and is no cache option. A name that
 * an async factory returned must be the registration's own: the tokens were chosen before the
 * factory ran, so the factory cannot rename the cache.
 *
 * @throws CacheOptionsError when the options name another cache
 */
function withoutName(raw: unknown, registered: string | undefined): unknown {
  if (typeof raw !== 'object' || raw === null || !('name' in raw)) return raw;
  const { name, ...rest } = raw as { name?: unknown };
  if (name !== undefined && name !== registered) {
    throw new CacheOptionsError('name', cacheMessages.nameFromFactory(registered, name));
  }
  return rest;
}
