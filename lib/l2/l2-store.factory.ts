import type { LoggerService } from '@nestjs/common';
import { CacheOptionsError } from '../errors/cache.errors.js';
import type { L2Options } from '../options/cache-options.interface.js';
import type { L2Store } from '../contracts/l2-store.interface.js';
import { MemoryStore } from './memory/memory.store.js';
import { ClusterStore } from './cluster/cluster.store.js';
import { RedisStore } from './redis/redis.store.js';
import { SentinelStore } from './sentinel/sentinel.store.js';
import { TwemproxyStore } from './twemproxy/twemproxy.store.js';

/**
 * Builds the store for the configured topology: memory, custom, a single Redis, twemproxy, Redis
 * Cluster or Sentinel. Connections open later, in `connect()`. What the stores find out about the
 * server that an operator should know (no PXAT, a clock far off) goes to `logger` as a warning.
 * `writeConnection` (with `writeBehind.replicas`): the Redis stores open a connection for writes
 * apart from reads, since WAIT blocks the connection it is sent on.
 * @throws CacheOptionsError when the options hold something the topology cannot work with.
 */
export function createL2Store(
  options: L2Options,
  logger?: LoggerService,
  { writeConnection = false }: { writeConnection?: boolean } = {},
): L2Store {
  const storeOptions = {
    onWarning: (message: string): void => {
      logger?.warn(message);
    },
    writeConnection,
  };
  switch (options.type) {
    case 'memory':
      return new MemoryStore();
    case 'custom':
      return options.store;
    case 'redis':
      return RedisStore.fromOptions(options, storeOptions);
    case 'twemproxy':
      return TwemproxyStore.fromOptions(options, storeOptions);
    case 'cluster':
      return ClusterStore.fromOptions(options, storeOptions);
    case 'sentinel':
      return SentinelStore.fromOptions(options, storeOptions);
    default:
      // Unreachable with validated options; kept for callers that skip validation.
      throw new CacheOptionsError(
        'l2.type',
        `l2.type ${JSON.stringify((options as { type?: unknown }).type)} is not a known L2 type`,
      );
  }
}
