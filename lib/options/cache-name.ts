import { CacheOptionsError } from '../errors/cache.errors.js';

/**
 * Names a cache may not take: `'default'` would read as the unnamed cache in logs, metrics and
 * error messages while being a different one.
 */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['default']);

/**
 * Checks the `name` of a named cache registration (`forRoot({ name })`, `forRootAsync({ name })`,
 * `forTest({ name })`): a non-empty string without whitespace or `:` (it becomes part of
 * injection tokens `distributed-cache:<name>:<role>`), and not `'default'`.
 * `undefined` is the default (unnamed) cache and passes.
 *
 * @throws CacheOptionsError naming `name` and the bad value
 * @example assertCacheName('sessions') // ok
 * @internal
 */
export function assertCacheName(name: unknown): asserts name is string | undefined {
  if (name === undefined) return;
  if (typeof name !== 'string' || !/^[^\s:]+$/.test(name)) {
    throw new CacheOptionsError(
      'name',
      `name must be a non-empty string without whitespace or ':', got ${
        typeof name === 'string' ? JSON.stringify(name) : typeof name
      }`,
    );
  }
  if (RESERVED_NAMES.has(name)) {
    throw new CacheOptionsError(
      'name',
      `name '${name}' is reserved for the unnamed cache: omit name to register the default ` +
        `cache (CacheService), or choose another name`,
    );
  }
}
