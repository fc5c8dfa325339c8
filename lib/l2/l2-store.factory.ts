import { CacheOptionsError } from '../errors/cache-options.error.js';
import type { L2Options } from '../options/cache-options.interface.js';
import type { L2Store } from './l2-store.interface.js';
import { MemoryStore } from './memory.store.js';
import { RedisStore } from './redis.store.js';

/** Builds the store for the configured topology. Connections open later, in `connect()`. */
export function createL2Store(options: L2Options): L2Store {
  switch (options.type) {
    case 'memory':
      return new MemoryStore();
    case 'custom':
      return options.store;
    case 'redis':
      return RedisStore.fromOptions(options);
    default:
      throw new CacheOptionsError(
        'l2.type',
        `l2.type '${options.type}' is not supported by this version yet; use 'redis', 'memory' or 'custom'`,
      );
  }
}
