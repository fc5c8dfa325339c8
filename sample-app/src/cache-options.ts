import type { DistributedCacheModuleOptions } from 'nestjs-distributed-cache';

/**
 * The sample's cache settings: the embedded memory L2 by default (zero setup), Redis when
 * `REDIS_URL` is set.
 */
export function cacheOptionsFromEnv(env: NodeJS.ProcessEnv): DistributedCacheModuleOptions {
  const url = env['REDIS_URL'];
  return {
    namespace: env['CACHE_NAMESPACE'] ?? 'catalogue',
    ttl: '5m',
    l1: { max: 10_000, ttl: '30s' },
    // The most read keys, for /metrics (hot_key_reads) and the Grafana dashboard's panel.
    hotKeys: true,
    ...(url ? { l2: { type: 'redis', url } } : {}),
  };
}
