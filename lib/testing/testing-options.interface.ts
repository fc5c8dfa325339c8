import type { DistributedCacheModuleOptions } from '../options/cache-options.interface.js';

/**
 * Options of `DistributedCacheModule.forTest()`: every cache option except `l2` (always the
 * in-process memory store) and `invalidation` (one process has no other instance to tell).
 *
 * @example
 * DistributedCacheModule.forTest({ namespace: 'products', ttl: '1m' })
 */
export interface DistributedCacheTestingOptions extends Omit<
  DistributedCacheModuleOptions,
  'l2' | 'invalidation'
> {
  /**
   * Make the cache (and its `CacheInspector`) injectable in every module, as an application's
   * `isGlobal: true` registration would be: feature modules under test then find it without
   * importing it.
   * @default true
   */
  isGlobal?: boolean;
}
