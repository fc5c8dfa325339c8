import { CacheError } from './cache.error.js';

/**
 * A module option is missing, of the wrong type or out of range. Thrown at startup
 * (when the module's providers are created), never at request time.
 */
export class CacheOptionsError extends CacheError {
  constructor(
    /** Dotted path of the option, e.g. `writeBehind.maxBatchSize`. */
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}
