import { CacheError } from './cache.error.js';

/**
 * The write-behind queue holds `writeBehind.maxPending` writes and `overflow` is `'reject'`:
 * the write was refused and neither L1 nor L2 changed.
 */
export class CacheOverflowError extends CacheError {
  constructor(
    readonly key: string,
    readonly maxPending: number,
  ) {
    super(
      `Write-behind queue is full (${maxPending} pending writes, writeBehind.overflow = 'reject'): ` +
        `set of key "${key}" was rejected. L2 is probably down or too slow; raise ` +
        `writeBehind.maxPending or use overflow: 'drop-oldest'.`,
    );
  }
}
