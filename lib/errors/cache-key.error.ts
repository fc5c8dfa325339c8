import { CacheError } from './cache.error.js';

/** A cache key is not a non-empty string (or breaks a key rule). */
export class CacheKeyError extends CacheError {
  constructor(
    readonly key: unknown,
    message: string,
  ) {
    super(message);
  }
}
