import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CacheOptionsError } from '../errors/cache.errors.js';
import { buildClusterOptions } from '../l2/cluster/cluster-client.factory.js';
import { createRedisClient, describeRedisTarget } from '../l2/redis/redis-client.factory.js';
import { buildSentinelClientOptions, describeSentinel } from '../l2/sentinel/sentinel.store.js';
import type { ResolvedCacheOptions } from '../options/resolved-options.js';

/** The two connections of the bus: pub/sub needs a connection of its own to subscribe. */
export interface BusConnections {
  readonly publisher: Redis | Cluster;
  readonly subscriber: Redis | Cluster;
  /** Where the bus connects, for logs (no password). */
  readonly description: string;
}

/**
 * NOTE: the subscriber re-subscribes itself on every `ready` (see InvalidationBus), so ioredis's
 * own auto-resubscribe is off: the bus must know when a subscription is back, to drop L1 then.
 */
const SUBSCRIBER: RedisOptions = { autoResubscribe: false };

/**
 * Opens nothing; builds the bus clients for the configured topology:
 * - `invalidation.url` / `invalidation.redis` given: a direct Redis connection (required with
 *   twemproxy, which has no pub/sub);
 * - `redis`: the same server as L2;
 * - `sentinel`: the current master, followed across failovers;
 * - `cluster`: plain PUBLISH/SUBSCRIBE, which Redis Cluster broadcasts to every node, so a
 *   subscriber on any node hears every instance.
 */
export function createBusConnections(options: ResolvedCacheOptions): BusConnections {
  const { invalidation, l2 } = options;
  if (invalidation.url !== undefined || invalidation.redis !== undefined) {
    const target = {
      ...(invalidation.url !== undefined ? { url: invalidation.url } : {}),
      ...(invalidation.redis !== undefined ? { redis: invalidation.redis } : {}),
    };
    return {
      publisher: createRedisClient(target),
      subscriber: createRedisClient(target, SUBSCRIBER),
      description: describeRedisTarget(target),
    };
  }
  switch (l2.type) {
    case 'redis':
      return {
        publisher: createRedisClient(l2),
        subscriber: createRedisClient(l2, SUBSCRIBER),
        description: describeRedisTarget(l2),
      };
    case 'sentinel': {
      // The same settings as the Sentinel store: follows the master across failovers.
      const sentinel = buildSentinelClientOptions(l2);
      return {
        publisher: new Redis(sentinel),
        subscriber: new Redis({ ...sentinel, ...SUBSCRIBER }),
        description: describeSentinel(l2.name, l2.sentinels),
      };
    }
    case 'cluster': {
      const cluster = (): Cluster => new Cluster(l2.nodes, buildClusterOptions(l2));
      return { publisher: cluster(), subscriber: cluster(), description: 'redis cluster' };
    }
    default:
      throw new CacheOptionsError(
        'invalidation.url',
        `invalidation.url (or invalidation.redis) is required when invalidation is enabled and l2.type is '${l2.type}'` +
          (l2.type === 'twemproxy'
            ? ': twemproxy has no pub/sub, so the bus needs a direct Redis connection'
            : ''),
      );
  }
}
