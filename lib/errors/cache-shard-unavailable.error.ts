import { CacheL2Error } from './cache-l2.error.js';

/**
 * The part of L2 holding a key is unavailable while L2 as a whole answers: twemproxy replied that
 * the key's shard is unreachable ("ERR Connection refused", "ERR Connection timed out", ...), or
 * the key's Cluster node failed or its slot has no master. The command did not run there (or its
 * fate is unknown); retrying it once that part is back can succeed, unlike a Redis error reply
 * about the key (WRONGTYPE, NOPERM, ERR syntax). The original error is kept as `cause`.
 */
export class CacheShardUnavailableError extends CacheL2Error {
  constructor(
    operation: string,
    /** What the proxy or node answered, e.g. `ERR Connection refused`. */
    readonly reply: string,
    options?: { cause?: unknown },
  ) {
    super(
      operation,
      `${operation}: the part of L2 holding the key is unavailable (${reply})`,
      options,
    );
  }
}
