import { CacheOptionsError } from '../errors/cache-options.error.js';
import type { L2Options } from '../options/cache-options.interface.js';
import type { L2Store } from './l2-store.interface.js';
import { MemoryStore } from './memory.store.js';
import { ClusterStore } from './cluster.store.js';
import { RedisStore } from './redis.store.js';
import { SentinelStore } from './sentinel.store.js';
import { TwemproxyStore } from './twemproxy.store.js';

/**
 * Builds the store for the configured topology: memory, custom, a single Redis, twemproxy, Redis
 * Cluster or Sentinel. Connections open later, in `connect()`.
 * @throws CacheOptionsError when the options hold something the topology cannot work with.
 */
export function createL2Store(options: L2Options): L2Store {
  switch (options.type) {
    case 'memory':
      return new MemoryStore();
    case 'custom':
      return options.store;
    case 'redis':
      return RedisStore.fromOptions(options);
    case 'twemproxy':
      return TwemproxyStore.fromOptions(options);
    case 'cluster':
      return ClusterStore.fromOptions(options);
    case 'sentinel':
      return SentinelStore.fromOptions(options);
    default:
      // Unreachable with validated options; kept for callers that skip validation.
      throw new CacheOptionsError(
        'l2.type',
        `l2.type ${JSON.stringify((options as { type?: unknown }).type)} is not a known L2 type`,
      );
  }
}
