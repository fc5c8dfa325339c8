import { Cluster, type ClusterOptions } from 'ioredis';
import type { ClusterL2Options, RedisNode } from '../../options/cache-options.interface.js';
import { REDIS_CLIENT_DEFAULTS, reconnectDelayMs } from '../redis/redis-client.factory.js';

/**
 * Builds the ioredis `Cluster` client of the Redis Cluster topology, with the single-Redis
 * fail-fast settings on every node connection (see redis-client.factory.ts).
 */

/**
 * Defaults for options the user may override under `l2.cluster`:
 *
 * - `retryDelayOnFailover: 0` and `retryDelayOnClusterDown: 0` (ioredis: 100): a command that
 *   meets a closed connection or CLUSTERDOWN fails at once instead of being re-sent by ioredis up
 *   to `maxRedirections` times. The write-behind queue retries with backoff, and it knows when a
 *   newer write of the key supersedes this one; a late re-send by ioredis would not.
 * - `retryDelayOnTryAgain: 20` (ioredis: 100): TRYAGAIN (a multi-key command during a slot
 *   migration) is always retried by ioredis; keep those retries short.
 * - `slotsRefreshTimeout: 1_000`.
 *
 * MOVED and ASK are still followed at once: that is how a resharding is absorbed.
 * `clusterRetryStrategy` defaults to {@link reconnectDelayMs} (never gives up).
 */
const CLUSTER_CLIENT_DEFAULTS: Readonly<ClusterOptions> = Object.freeze({
  retryDelayOnFailover: 0,
  retryDelayOnClusterDown: 0,
  retryDelayOnTryAgain: 20,
  slotsRefreshTimeout: 1_000,
});

/**
 * Cluster options always applied:
 *
 * - `lazyConnect: true`: connections open in `connect()`.
 * - `enableOfflineQueue: false`: a command issued while the cluster is not ready fails at once.
 * - `enableAutoPipelining: false`: the store sends its own bursts per master; an automatic
 *   pipeline mixing slots would turn one redirected command into an error instead of following it.
 *
 * Every node connection also gets the single-Redis fail-fast settings (`REDIS_CLIENT_DEFAULTS`
 * under the user's `redisOptions`, then `maxRetriesPerRequest: 0`,
 * `autoResendUnfulfilledCommands: false`, `protocol: 2`).
 */
const CLUSTER_CLIENT_FORCED: Readonly<ClusterOptions> = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: false,
  enableAutoPipelining: false,
});

/**
 * The full ioredis Cluster options for `options`, in increasing precedence:
 * {@link CLUSTER_CLIENT_DEFAULTS} < `options.cluster` < {@link CLUSTER_CLIENT_FORCED}; see there for
 * the node options. A user `clusterRetryStrategy` that returns something other than a number (which
 * would stop reconnecting for good) falls back to the default delay. Pure: opens nothing.
 */
export function buildClusterOptions(options: ClusterL2Options): ClusterOptions {
  const user = options.cluster ?? {};
  const customRetry = user.clusterRetryStrategy;
  return {
    ...CLUSTER_CLIENT_DEFAULTS,
    ...user,
    redisOptions: {
      ...REDIS_CLIENT_DEFAULTS,
      ...user.redisOptions,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      protocol: 2,
    },
    ...CLUSTER_CLIENT_FORCED,
    clusterRetryStrategy: (times: number, reason?: Error) => {
      const delay = typeof customRetry === 'function' ? customRetry(times, reason) : undefined;
      return typeof delay === 'number' && Number.isFinite(delay) && delay >= 0
        ? delay
        : reconnectDelayMs(times);
    },
  };
}

/** A new, not yet connected ioredis Cluster client for `options` (see {@link buildClusterOptions}). */
export function createClusterClient(options: ClusterL2Options): Cluster {
  return new Cluster(
    options.nodes.map((node) => ({ host: node.host, port: node.port })),
    buildClusterOptions(options),
  );
}

/** `cluster 127.0.0.1:7000, 127.0.0.1:7001` (the seed nodes); never contains a password. */
export function describeCluster(nodes: readonly RedisNode[]): string {
  return `cluster ${nodes.map((node) => `${node.host}:${node.port}`).join(', ')}`;
}
