import { CacheUnsendableWriteError } from '../errors/cache-unsendable-write.error.js';

/**
 * Redis error replies that will fail again however often the write is retried: the ACL forbids
 * the key (NOPERM), the key holds another type (WRONGTYPE), or the command itself is refused
 * (ERR ...). Everything else (OOM, READONLY during a failover, LOADING, BUSY, CLUSTERDOWN,
 * TRYAGAIN, MISCONF, a lost connection, a timeout) may pass later and is retried.
 */
const PERMANENT_REPLIES = /^(NOPERM|WRONGTYPE|ERR|EXECABORT)\b/;

/** Whether a failed write should be dropped (reported) rather than retried. */
export function isPermanentWriteFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return PERMANENT_REPLIES.test(error.message);
  return error instanceof CacheUnsendableWriteError;
}
