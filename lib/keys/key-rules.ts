import { CacheKeyError } from '../errors/cache.errors.js';

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Throws `CacheKeyError` unless `key` is a non-empty string of at most `maxLength` UTF-16 code
 * units without control characters.
 *
 * NOTE: control characters (newlines included) are refused rather than escaped: they are almost
 * always a bug in key building, and keys appear in logs and errors, where a newline could forge
 * a log line.
 */
export function assertKey(key: unknown, maxLength = Infinity): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new CacheKeyError(
      key,
      `Cache key must be a non-empty string, got ${typeof key === 'string' ? 'an empty string' : typeof key}`,
    );
  }
  if (key.length > maxLength) {
    throw new CacheKeyError(
      key,
      `Cache key "${key.slice(0, 64)}..." is ${key.length} characters long; maxKeyLength is ${maxLength}`,
    );
  }
  if (CONTROL_CHARACTERS.test(key)) {
    throw new CacheKeyError(
      key,
      `Cache key ${JSON.stringify(key.slice(0, 64))} contains a control character (code < 0x20 or 0x7f)`,
    );
  }
}
