import { CacheL2Error } from './cache-l2.error.js';

/**
 * A write was held back because Sentinel is failing the master over: between the promoted
 * replica leaving replication and the switch to it, the old master still answers OK to writes that
 * the failover then discards. Nothing was sent; retrying once the switch is done succeeds (the
 * write-behind queue does so with backoff).
 */
export class CacheFailoverInProgressError extends CacheL2Error {
  constructor(operation: string, masterName: string) {
    super(
      // NOTE: not `write`: the write-behind queue drops a CacheL2Error of operation `write` as
      // never sendable, and this one must be retried.
      `${operation} during failover`,
      `writes to Sentinel master '${masterName}' are paused while it fails over; nothing was sent`,
    );
  }
}
