import type { InjectionToken } from '@nestjs/common';
import { namedCacheToken } from '../cache.tokens.js';
import { assertCacheName } from '../options/cache-name.js';
import { CacheInspector } from './cache-inspector.js';

/**
 * The injection token of the `CacheInspector` of a `DistributedCacheModule.forTest()`
 * registration: the `CacheInspector` class for the default cache, a string token for
 * `forTest({ name })`.
 *
 * @param name the `name` given to `forTest`; omit it for the default cache
 * @throws CacheOptionsError when `name` is not a valid cache name
 * @example
 * const inspector = moduleRef.get<CacheInspector>(getCacheInspectorToken('sessions'));
 */
export function getCacheInspectorToken(name?: string): InjectionToken {
  assertCacheName(name);
  return name === undefined ? CacheInspector : namedCacheToken(name, 'CacheInspector');
}
