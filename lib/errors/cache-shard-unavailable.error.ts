import { CacheL2Error } from './cache-l2.error.js';

/**
 * A proxy in front of several Redis shards (twemproxy) answered that the shard holding a key is
 * unreachable ("ERR Connection refused", "ERR Connection timed out", ...). The reply comes from
 * the proxy, not from Redis: the command never ran, and retrying it once the shard is back can
 * succeed, unlike a Redis error reply (WRONGTYPE, NOPERM, ERR syntax). The proxy's reply is kept
 * as `cause`.
 */
export class CacheShardUnavailableError extends CacheL2Error {
  constructor(
    operation: string,
    /** The proxy's error text, e.g. `ERR Connection refused`. */
    readonly reply: string,
    options?: { cause?: unknown },
  ) {
    super(operation, `the shard behind the proxy is unavailable (${reply})`, options);
  }
}
