import { parseDuration } from '../options/duration.js';
import { fail, flag } from '../options/option-checks.js';
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
    fail('http.vary', 'an array of header names', vary);
  }
  const keyPrefix = options.keyPrefix ?? 'http:';
  if (typeof keyPrefix !== 'string') fail('http.keyPrefix', 'a string', keyPrefix);
  return {
    ttl: options.ttl,
    vary: normaliseHeaderNames(vary),
    allowAuthorized: flag(options.allowAuthorized, 'http.allowAuthorized', false),
    keyPrefix,
  };
}
