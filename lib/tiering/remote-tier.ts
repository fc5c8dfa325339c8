import { CacheBatchError } from '../errors/l2.errors.js';
import { CacheCircuitOpenError } from '../errors/l2.errors.js';
import { CacheL2Error, CacheL2TimeoutError } from '../errors/l2.errors.js';
import { CacheShardUnavailableError } from '../errors/l2.errors.js';
import type {
  L2Durability,
  L2Ensured,
  L2EnsureRequest,
  L2Read,
  L2Store,
  L2Write,
} from '../contracts/l2-store.interface.js';
import { CallDeadlines } from './call-deadlines.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { ReplicaConfirmations } from './replica-confirmations.js';

/** Shortest timeout of a write batch, in milliseconds. */
const WRITE_TIMEOUT_FLOOR_MS = 1_000;

/**
 * Policy around the dumb L2 store: every call is settled within `timeoutMs`, whatever the
 * client does (ioredis alone can wait 10-15 s on an unreachable server, and can leave in-flight
 * commands unsettled after a drop). A late answer is ignored. Errors are wrapped in
 * `CacheL2Error`; callers decide whether a failure is a miss, a retry or an error.
 *
 * Calls pass the circuit breaker first. Only failures of L2 itself count against it: a call that
 * timed out as a whole, or a connection that failed. An answer that carries per-key failures (a
 * dead twemproxy shard, a Cluster slot without a master) or an error reply (NOPERM, a partial
 * batch) shows that L2 answers: it counts as a success, so one dead shard never opens the breaker
 * for the keys of the live ones.
 */
export class RemoteTier {
  /** Every call's timeout, watched by one timer. */
  private readonly deadlines = new CallDeadlines();

  /**
   * @param replicas With `writeBehind.replicas` > 0: the confirmation every write batch asks the
   *   store for, and where outcomes are counted.
   */
  constructor(
    readonly store: L2Store,
    private readonly timeoutMs: number,
    readonly breaker: CircuitBreaker,
    private readonly replicas?: {
      readonly durability: L2Durability;
      readonly confirmations: ReplicaConfirmations;
    },
  ) {}

  /** Like a write batch, a large read gets the timeout once per 1,000 keys. */
  mget(keys: readonly string[]): Promise<L2Read[]> {
    const scale = Math.max(1, Math.ceil(keys.length / 1000));
    return this.settle(`mget of ${keys.length}`, () => this.store.mget(keys), scale);
  }

  /**
   * Applies a write batch and, in the same call (one pass of the circuit breaker, one timeout),
   * makes sure of the version keys it depends on (`ensure`, see `L2Store.ensure`). Resolves with
   * the ensure answers, or `undefined` when that part failed while the writes went through; rejects
   * as `L2Store.write` does.
   *
   * A write batch gets at least 1 s (or `l2TimeoutMs` when larger) per 1,000 writes: it is off
   * the request path, a large pipeline takes longer on the wire, and a batch that times out only
   * because the event loop was busy would be retried and written twice. Callers that wait for a
   * write (a delete, write-through) are answered within `l2TimeoutMs` by the write-behind queue.
   * A batch that waits for replicas gets `replicaTimeoutMs` more: the WAIT after it ends by then,
   * and a replica shortfall is an answer (writes retried), not a failure of L2.
   */
  write(
    writes: readonly L2Write[],
    ensure?: readonly L2EnsureRequest[],
  ): Promise<L2Ensured[] | undefined> {
    const scale =
      Math.max(1, Math.ceil(writes.length / 1000)) *
      Math.max(1, WRITE_TIMEOUT_FLOOR_MS / this.timeoutMs);
    const replicas = this.replicas;
    return this.settle(
      `write batch of ${writes.length}`,
      async () => {
        const ensuring =
          ensure === undefined || ensure.length === 0
            ? undefined
            : this.ensureOn(ensure).catch(() => undefined);
        if (replicas === undefined) await this.store.write(writes);
        else {
          try {
            replicas.confirmations.confirmed(await this.store.write(writes, replicas.durability));
          } catch (error: unknown) {
            replicas.confirmations.failed(error);
            throw error;
          }
        }
        return ensuring;
      },
      scale,
      replicas?.durability.timeoutMs,
    );
  }

  /** Any other store call (the single-flight locks), under the same timeout and breaker. */
  call<T>(operation: string, body: () => Promise<T>): Promise<T> {
    return this.settle(operation, body);
  }

  /** `L2Store.ensure` on its own (see {@link write} for the usual way, beside a batch). */
  ensure(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]> {
    return this.settle(`ensure of ${requests.length}`, () => this.ensureOn(requests));
  }

  /**
   * `L2Store.ensure`, or, for a custom store without it, a read and a write of the absent keys
   * (not atomic: two instances may race; the one that loses learns the winner's token later).
   */
  private async ensureOn(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]> {
    const store = this.store;
    if (store.ensure !== undefined) return store.ensure(requests);
    const held = await store.mget(requests.map((request) => request.key));
    const absent = requests.filter((_, i) => held[i] === undefined);
    if (absent.length > 0) {
      await store.write(
        absent.map(({ key, candidate, expiresAt }) => ({
          kind: 'set' as const,
          key,
          value: Buffer.from(candidate),
          expiresAt,
        })),
      );
    }
    return requests.map((request, i): L2Ensured => {
      const value = held[i];
      if (value instanceof Error) return value;
      return value === undefined ? request.candidate : value.toString('utf8');
    });
  }

  private settle<T>(operation: string, call: () => Promise<T>, scale = 1, extraMs = 0): Promise<T> {
    const timeoutMs = this.timeoutMs * scale + extraMs;
    const admission = this.breaker.admit();
    if (admission === 'reject') return Promise.reject(new CacheCircuitOpenError(operation));
    let settled = false;
    const outcome = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      this.breaker.record(admission, ok);
    };
    return new Promise<T>((resolve, reject) => {
      const deadline = this.deadlines.add(timeoutMs, () => {
        outcome(false);
        reject(new CacheL2TimeoutError(operation, timeoutMs));
      });
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error: unknown) {
        pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      pending.then(
        (value) => {
          this.deadlines.settle(deadline);
          outcome(true);
          resolve(value);
        },
        (error: unknown) => {
          this.deadlines.settle(deadline);
          outcome(l2Answered(error));
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

/**
 * L2 answered, so it is up: an error reply, a partial batch failure, or a shard or node of it
 * reported unavailable by the part that answered.
 */
function l2Answered(error: unknown): boolean {
  if (error instanceof CacheBatchError || error instanceof CacheShardUnavailableError) return true;
  return error instanceof Error && error.name === 'ReplyError';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
