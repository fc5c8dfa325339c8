import { CacheError } from './cache.error.js';

/**
 * Part of an L2 write batch failed. `failedIndexes` are positions in the batch given to
 * `L2Store.write`; every other write of the batch was applied.
 */
export class CacheBatchError extends CacheError {
  constructor(
    readonly failedIndexes: readonly number[],
    options?: { cause?: unknown },
  ) {
    super(`${failedIndexes.length} write(s) of the L2 batch failed`, options);
  }
}
