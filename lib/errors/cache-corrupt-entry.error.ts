import { CacheError } from './cache.error.js';

/** An L2 payload could not be decoded (corrupt, truncated, or written by another serializer). Read as a miss. */
export class CacheCorruptEntryError extends CacheError {
  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
