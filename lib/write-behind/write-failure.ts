import { CacheCircuitOpenError } from '../errors/l2.errors.js';
import { CacheFailoverInProgressError } from '../errors/l2.errors.js';
import { CacheL2Error } from '../errors/l2.errors.js';
import { CacheReplicaTimeoutError } from '../errors/l2.errors.js';
import { CacheShardUnavailableError } from '../errors/l2.errors.js';
import { CacheUnsendableWriteError } from '../errors/l2.errors.js';

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

/**
 * Whether a failed write may still be applied later: it may have been sent and be waiting in the
 * socket of a hung server (a timeout, a connection lost with replies outstanding), or in a proxy's
 * connection to a hung shard ("ERR Connection timed out" from twemproxy). False only when the
 * write is known not to have run: refused before sending (breaker open, failover pause, not
 * sendable), refused by Redis, or refused by the proxy because the shard's connection was refused;
 * or known to have run (applied by the master, not yet confirmed by its replicas).
 */
export function mayApplyLater(error: unknown): boolean {
  if (
    error instanceof CacheReplicaTimeoutError ||
    error instanceof CacheCircuitOpenError ||
    error instanceof CacheFailoverInProgressError ||
    error instanceof CacheUnsendableWriteError
  ) {
    return false;
  }
  if (error instanceof CacheShardUnavailableError) return !/refused/i.test(error.reply);
  if (error instanceof Error && error.name === 'ReplyError') return false;
  return !(error instanceof Error && /isn't writeable|ECONNREFUSED/.test(error.message));
}

/**
 * The error to answer a failed write with: the failure itself when it is an `Error` (the store's
 * own, a timeout), else a `CacheL2Error` with `message` that keeps it as `cause`.
 */
export function asWriteError(failure: unknown, message: string): Error {
  return failure instanceof Error
    ? failure
    : new CacheL2Error('write', message, { cause: failure });
}
