import { CacheError } from './cache.error.js';

/**
 * Part of an L2 write batch failed. `failedIndexes` are positions in the batch given to
 * `L2Store.write`; every other write of the batch was applied. `errors[i]`, when given, is why
 * the write at `failedIndexes[i]` failed.
 */
export class CacheBatchError extends CacheError {
  readonly errors: readonly unknown[];

  constructor(
    readonly failedIndexes: readonly number[],
    options?: { cause?: unknown; errors?: readonly unknown[] },
  ) {
    super(`${failedIndexes.length} write(s) of the L2 batch failed`, options);
    this.errors = options?.errors ?? failedIndexes.map(() => options?.cause);
  }
}
