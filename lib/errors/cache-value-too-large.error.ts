import { CacheError } from './cache.error.js';

/** A value serialized to more than `maxValueBytes`: nothing was stored. */
export class CacheValueTooLargeError extends CacheError {
  constructor(
    readonly key: string,
    readonly bytes: number,
    readonly maxValueBytes: number,
  ) {
    super(
      `Value of "${key}" is ${bytes} bytes serialized; maxValueBytes is ${maxValueBytes}: not stored`,
    );
  }
}
