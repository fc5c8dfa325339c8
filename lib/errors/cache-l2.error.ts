import { CacheError } from './cache.error.js';

/** An L2 (Redis) call failed or took longer than `l2TimeoutMs`. */
export class CacheL2Error extends CacheError {
  constructor(
    /** What was attempted, e.g. `get`, `write batch of 12`. */
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The L2 call did not settle within `l2TimeoutMs`. */
export class CacheL2TimeoutError extends CacheL2Error {
  constructor(operation: string, timeoutMs: number) {
    super(operation, `L2 ${operation} did not answer within ${timeoutMs} ms (l2TimeoutMs)`);
  }
}
