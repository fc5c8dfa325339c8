import { CacheError } from './cache.errors.js';

/**
 * Why an L2 call failed (`CacheL2Error.reason`):
 * - `failed`: the call failed (a connection error, an error reply);
 * - `timeout`: it did not answer within `l2TimeoutMs`;
 * - `circuit-open`: it was not sent, the circuit breaker is open (L2 kept failing);
 * - `unavailable`: the part of L2 holding the key is down (a twemproxy shard, a Cluster master);
 * - `failover`: it was not sent, a Sentinel failover is under way;
 * - `unsendable`: the store refused the write before sending it (it can never succeed);
 * - `unsupported-command`: the topology cannot run the command (twemproxy); nothing was sent;
 * - `replica-timeout`: the master applied the write, but fewer replicas than `writeBehind.replicas`
 *   confirmed it within `replicaTimeoutMs` (the write stays pending and is sent again).
 */
export type L2FailureReason =
  | 'failed'
  | 'timeout'
  | 'circuit-open'
  | 'unavailable'
  | 'failover'
  | 'unsendable'
  | 'unsupported-command'
  | 'replica-timeout';

/**
 * An L2 (Redis) call failed or took longer than `l2TimeoutMs`. Reads never throw it (they miss);
 * write-through `set()` rejects with it. `reason` says why; `operation` what was attempted.
 */
export class CacheL2Error extends CacheError {
  override readonly code = 'CACHE_L2';
  readonly reason: L2FailureReason = 'failed';

  constructor(
    /** What was attempted, e.g. `get`, `write batch of 12`. */
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The L2 call did not settle within `l2TimeoutMs`. Internal: a `CacheL2Error`, reason `timeout`. */
export class CacheL2TimeoutError extends CacheL2Error {
  override readonly reason = 'timeout';

  constructor(operation: string, timeoutMs: number) {
    super(operation, `L2 ${operation} did not answer within ${timeoutMs} ms (l2TimeoutMs)`);
  }
}

/** The circuit breaker is open: L2 was failing, so the call was not sent. Reason `circuit-open`. */
export class CacheCircuitOpenError extends CacheL2Error {
  override readonly reason = 'circuit-open';

  constructor(operation: string) {
    super(operation, `L2 ${operation} skipped: the circuit breaker is open (L2 has been failing)`);
  }
}

/**
 * The part of L2 holding a key is unavailable while L2 as a whole answers: twemproxy replied that
 * the key's shard is unreachable ("ERR Connection refused", "ERR Connection timed out", ...), or
 * the key's Cluster node failed or its slot has no master. The command did not run there (or its
 * fate is unknown); retrying it once that part is back can succeed, unlike a Redis error reply
 * about the key (WRONGTYPE, NOPERM, ERR syntax). Reason `unavailable`.
 */
export class CacheShardUnavailableError extends CacheL2Error {
  override readonly reason = 'unavailable';

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

/**
 * A write was held back because Sentinel is failing the master over: between the promoted
 * replica leaving replication and the switch to it, the old master still answers OK to writes that
 * the failover then discards. Nothing was sent; retrying once the switch is done succeeds (the
 * write-behind queue does so with backoff). Reason `failover`.
 */
export class CacheFailoverInProgressError extends CacheL2Error {
  override readonly reason = 'failover';

  constructor(operation: string, masterName: string) {
    super(
      `${operation} during failover`,
      `writes to Sentinel master '${masterName}' are paused while it fails over; nothing was sent`,
    );
  }
}

/**
 * A write the store refused before sending it (e.g. an expiry Redis cannot express): sending it
 * again can never succeed, so the write-behind queue drops and reports it instead of retrying.
 * Reason `unsendable`.
 */
export class CacheUnsendableWriteError extends CacheL2Error {
  override readonly reason = 'unsendable';

  constructor(
    readonly key: string,
    problem: string,
  ) {
    super('write', `set of key ${JSON.stringify(key)} not sent: ${problem}`);
  }
}

/**
 * A Redis command was refused before it reached the socket because the topology cannot run it
 * safely: twemproxy closes the client connection on an unsupported command (killing everything
 * pipelined with it), and answers some multi-key commands silently wrong. Nothing was sent.
 * Reason `unsupported-command`.
 */
export class CacheUnsupportedCommandError extends CacheL2Error {
  override readonly reason = 'unsupported-command';

  constructor(
    /** The refused command, upper-case, e.g. `SCAN`, `EVAL`. */
    readonly command: string,
    /** Where it was refused, e.g. `twemproxy`. */
    readonly topology: string,
    /** Why it cannot be sent there. */
    readonly problem: string,
  ) {
    super(command, `${command} cannot be sent through ${topology}: ${problem} (nothing was sent)`);
  }
}

/**
 * The master applied a write, but `WAIT` reported fewer replicas holding it than
 * `writeBehind.replicas` asks for within `replicaTimeoutMs`: a failover now could lose it, so
 * the write-behind queue keeps it pending and sends it again (or a newer write of its key).
 * Reason `replica-timeout`.
 */
export class CacheReplicaTimeoutError extends CacheL2Error {
  override readonly reason = 'replica-timeout';

  constructor(
    /** The server that took the write, e.g. `127.0.0.1:7001`, or the store's description. */
    readonly server: string,
    /** Replicas asked for (`writeBehind.replicas`). */
    readonly required: number,
    /** Replicas that confirmed within the timeout (WAIT's answer). */
    readonly acknowledged: number,
    /** `writeBehind.replicaTimeoutMs`. */
    readonly timeoutMs: number,
  ) {
    super(
      'replica wait',
      `${server}: ${acknowledged} of ${required} replica(s) confirmed the write within ` +
        `${timeoutMs} ms (writeBehind.replicas); kept pending and sent again`,
    );
  }
}

/**
 * Part of an L2 write batch failed: what an `L2Store.write` rejects with when some writes failed
 * alone (implement it in a custom store too). `failedIndexes` are positions in the batch given to
 * `L2Store.write`; every other write of the batch was applied. `errors[i]`, when given, is why
 * the write at `failedIndexes[i]` failed.
 */
export class CacheBatchError extends CacheError {
  override readonly code = 'CACHE_L2_BATCH';
  readonly errors: readonly unknown[];

  constructor(
    readonly failedIndexes: readonly number[],
    options?: { cause?: unknown; errors?: readonly unknown[] },
  ) {
    super(`${failedIndexes.length} write(s) of the L2 batch failed`, options);
    this.errors = options?.errors ?? failedIndexes.map(() => options?.cause);
  }
}
