import { CacheBatchError } from '../errors/cache-batch.error.js';
import { CacheCircuitOpenError } from '../errors/cache-circuit-open.error.js';
import { CacheL2Error, CacheL2TimeoutError } from '../errors/cache-l2.error.js';
import type { L2Store, L2Write } from '../l2/l2-store.interface.js';
import type { CircuitBreaker } from './circuit-breaker.js';

/**
 * Policy around the dumb L2 store: every call is settled within `timeoutMs`, whatever the
 * client does (ioredis alone can wait 10-15 s on an unreachable server, and can leave in-flight
 * commands unsettled after a drop). A late answer is ignored. Errors are wrapped in
 * `CacheL2Error`; callers decide whether a failure is a miss, a retry or an error.
 *
 * Calls pass the circuit breaker first. Timeouts and connection failures count against it; an
 * error *reply* (Redis answered, e.g. NOPERM or a partial batch failure) does not: L2 is up.
 */
/** Shortest timeout of a write batch, in milliseconds. */
const WRITE_TIMEOUT_FLOOR_MS = 1_000;

export class RemoteTier {
  constructor(
    readonly store: L2Store,
    private readonly timeoutMs: number,
    readonly breaker: CircuitBreaker,
  ) {}

  get(key: string): Promise<Buffer | undefined> {
    return this.settle('get', () => this.store.get(key));
  }

  /** Like a write batch, a large read gets the timeout once per 1,000 keys. */
  mget(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    const scale = Math.max(1, Math.ceil(keys.length / 1000));
    return this.settle(`mget of ${keys.length}`, () => this.store.mget(keys), scale);
  }

  /**
   * A write batch gets at least 1 s (or `l2TimeoutMs` when larger) per 1,000 writes: it is off
   * the request path, a large pipeline takes longer on the wire, and a batch that times out only
   * because the event loop was busy would be retried and written twice.
   */
  write(writes: readonly L2Write[]): Promise<void> {
    const scale =
      Math.max(1, Math.ceil(writes.length / 1000)) *
      Math.max(1, WRITE_TIMEOUT_FLOOR_MS / this.timeoutMs);
    return this.settle(`write batch of ${writes.length}`, () => this.store.write(writes), scale);
  }

  private settle<T>(operation: string, call: () => Promise<T>, scale = 1): Promise<T> {
    const timeoutMs = this.timeoutMs * scale;
    const admission = this.breaker.admit();
    if (admission === 'reject') return Promise.reject(new CacheCircuitOpenError(operation));
    let settled = false;
    const outcome = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      this.breaker.record(admission, ok);
    };
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        outcome(false);
        reject(new CacheL2TimeoutError(operation, timeoutMs));
      }, timeoutMs);
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error: unknown) {
        pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          outcome(true);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          outcome(isReply(error));
          const failure: Error =
            error instanceof CacheL2Error || error instanceof CacheBatchError
              ? error
              : new CacheL2Error(operation, `L2 ${operation} failed: ${message(error)}`, {
                  cause: error,
                });
          reject(failure);
        },
      );
    });
  }
}

/** Redis answered (an error reply or a partial batch failure): the server is reachable. */
function isReply(error: unknown): boolean {
  if (error instanceof CacheBatchError) return true;
  return error instanceof Error && error.name === 'ReplyError';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
