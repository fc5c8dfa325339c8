import { CacheError } from './cache.error.js';

/** A value could not be encoded for L2 (circular reference, function, symbol, ...). Nothing was stored. */
export class CacheSerializationError extends CacheError {
  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
