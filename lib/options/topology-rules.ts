import type { RedisOptions } from 'ioredis';
import { CacheOptionsError } from '../errors/cache.errors.js';

/**
 * What each topology cannot work with among the ioredis options a user passes under `l2.redis`:
 * checked when options are validated (start-up), and again by the stores that build clients from
 * them. Kept here, with the options, so that validation needs nothing from the stores.
 */

/**
 * ioredis options under `l2.redis` that cannot work through twemproxy, checked at start-up.
 * Each maps to the reason shown in the error.
 */
const PROXY_INCOMPATIBLE_OPTIONS: ReadonlyArray<{
  readonly option: keyof RedisOptions;
  readonly breaks: (value: unknown) => boolean;
  readonly reason: string;
}> = [
  {
    option: 'db',
    breaks: (value) => value !== undefined && value !== 0,
    reason: 'twemproxy serves database 0 only and closes the connection on SELECT',
  },
  {
    option: 'connectionName',
    breaks: (value) => value !== undefined && value !== null && value !== '',
    reason: 'naming the connection sends CLIENT SETNAME, which twemproxy does not support',
  },
  {
    option: 'enableReadyCheck',
    breaks: (value) => value === true,
    reason: 'the ready check sends INFO, which twemproxy does not support (the store disables it)',
  },
  {
    option: 'disableClientInfo',
    breaks: (value) => value === false,
    reason: 'client info is sent with CLIENT SETINFO, which twemproxy does not support',
  },
  {
    option: 'protocol',
    breaks: (value) => value !== undefined && value !== 2,
    reason: 'RESP3 starts with HELLO 3, which twemproxy cannot parse (the store uses RESP2)',
  },
  {
    option: 'readOnly',
    breaks: (value) => value === true,
    reason: 'read-only mode sends READONLY, which twemproxy does not support',
  },
  {
    option: 'sentinels',
    breaks: (value) => value !== undefined && value !== null,
    reason: "use l2.type 'sentinel' for Sentinel",
  },
];

/**
 * Checks the ioredis options given for a twemproxy L2.
 *
 * @param redis The user's `l2.redis` options.
 * @param path Dotted path of those options in the module options, for the error.
 * @throws CacheOptionsError naming the first option that cannot work through a proxy.
 */
export function assertProxyCompatibleOptions(
  redis: Readonly<RedisOptions> | undefined,
  path = 'l2.redis',
): void {
  if (redis === undefined) return;
  for (const { option, breaks, reason } of PROXY_INCOMPATIBLE_OPTIONS) {
    const value: unknown = redis[option];
    if (breaks(value)) {
      throw new CacheOptionsError(
        `${path}.${option}`,
        `${path}.${option} cannot be used with l2.type 'twemproxy': ${reason}; remove it`,
      );
    }
  }
}

/**
 * ioredis options under `l2.redis` that would defeat what the Sentinel store guarantees.
 * @throws CacheOptionsError naming the option.
 */
export function assertSentinelCompatibleOptions(
  redis: Readonly<RedisOptions> | undefined,
  path = 'l2.redis',
): void {
  if (redis?.failoverDetector === false) {
    throw new CacheOptionsError(
      `${path}.failoverDetector`,
      `${path}.failoverDetector cannot be false with l2.type 'sentinel': without it writes keep ` +
        'going to a demoted master for seconds after a failover, answered OK and then lost; remove it',
    );
  }
  if (redis?.enableReadyCheck === false) {
    throw new CacheOptionsError(
      `${path}.enableReadyCheck`,
      `${path}.enableReadyCheck cannot be false with l2.type 'sentinel': the ready check is what ` +
        'confirms the server is the master before anything is written to it; remove it',
    );
  }
  if (redis?.role !== undefined && redis.role !== 'master') {
    throw new CacheOptionsError(
      `${path}.role`,
      `${path}.role must be 'master' with l2.type 'sentinel' (the cache writes); remove it`,
    );
  }
}

/** Why an L2 type cannot confirm writes on replicas (`writeBehind.replicas`). */
const NO_REPLICA_CONFIRMATION: Readonly<Partial<Record<string, string>>> = {
  twemproxy:
    'twemproxy does not support WAIT (it closes the connection on it), so no batch could ever be ' +
    "confirmed; point l2 at the Redis servers directly (type 'redis', 'sentinel' or 'cluster'), " +
    'or set writeBehind.replicas to 0',
  memory:
    'the memory L2 has no replicas; use a Redis L2 with replicas, or set writeBehind.replicas to 0',
};

/**
 * Checks `writeBehind.replicas` against the L2 type (a custom store is checked when it is built:
 * it needs `confirmsReplicas`).
 * @throws CacheOptionsError naming `writeBehind.replicas` and why it cannot work there.
 */
export function assertReplicasReachable(replicas: number, l2Type: string): void {
  const reason = NO_REPLICA_CONFIRMATION[l2Type];
  if (replicas === 0 || reason === undefined) return;
  throw new CacheOptionsError(
    'writeBehind.replicas',
    `writeBehind.replicas (${replicas}) cannot be used with l2.type '${l2Type}': ${reason}`,
  );
}
