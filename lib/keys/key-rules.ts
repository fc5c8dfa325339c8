import { CacheKeyError } from '../errors/cache-key.error.js';

/** Throws `CacheKeyError` unless `key` is a non-empty string. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new CacheKeyError(
      key,
      `Cache key must be a non-empty string, got ${typeof key === 'string' ? 'an empty string' : typeof key}`,
    );
  }
}
