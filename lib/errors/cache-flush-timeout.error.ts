import { CacheError } from './cache.error.js';

/** `flush()` gave up: writes were still pending in the write-behind queue after its timeout. */
export class CacheFlushTimeoutError extends CacheError {
  constructor(
    readonly pending: number,
    readonly timeoutMs: number,
  ) {
    super(
      `flush() timed out after ${timeoutMs} ms with ${pending} write(s) still pending ` +
        `(L2 unreachable or slow; they stay queued and are retried)`,
    );
  }
}
