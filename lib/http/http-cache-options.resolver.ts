import { CacheOptionsError } from '../errors/cache-options.error.js';
import { parseDuration } from '../options/duration.js';
import { normaliseHeaderNames } from './http-cache-key.js';
import type { HttpCacheOptions, ResolvedHttpCacheOptions } from './http-cache-options.interface.js';

/**
 * Validates `DistributedCacheHttpModule` options and applies the defaults. Internal.
 * @throws CacheOptionsError naming the option.
 */
export function resolveHttpCacheOptions(options: HttpCacheOptions = {}): ResolvedHttpCacheOptions {
  if (options.ttl !== undefined) parseDuration(options.ttl, 'http.ttl');
  const vary = options.vary ?? [];
  if (
    !Array.isArray(vary) ||
    !vary.every((name) => typeof name === 'string' && name.trim() !== '')
  ) {
    throw new CacheOptionsError('http.vary', `http.vary must be an array of header names`);
  }
  const keyPrefix = options.keyPrefix ?? 'http:';
  if (typeof keyPrefix !== 'string') {
    throw new CacheOptionsError('http.keyPrefix', `http.keyPrefix must be a string`);
  }
  if (options.allowAuthorized !== undefined && typeof options.allowAuthorized !== 'boolean') {
    throw new CacheOptionsError('http.allowAuthorized', `http.allowAuthorized must be a boolean`);
  }
  return {
    ttl: options.ttl,
    vary: normaliseHeaderNames(vary),
    allowAuthorized: options.allowAuthorized ?? false,
    keyPrefix,
  };
}
