/**
 * One write of a batch. `expiresAt` is the entry's absolute expiry in epoch milliseconds, a whole
 * number fixed when the value was set: stores send `SET key value PXAT expiresAt`, so a write that
 * waits (in the queue, or in the socket of a slow server) never lives longer, and one whose expiry
 * passed on the way deletes the key when the server runs it.
 */
export type L2Write =
  | {
      readonly kind: 'set';
      readonly key: string;
      readonly value: Buffer;
      readonly expiresAt: number;
      /**
       * The single-flight lock this set completes (see {@link L2Locks}): the store applies the
       * set only while `releases.token` still holds `releases.key`, and deletes that lock in the
       * same atomic step. Otherwise nothing changes and the write still counts as applied (the
       * lease lapsed: a newer holder's value must not be overwritten). Only sent to stores with
       * `locks`.
       */
      readonly releases?: L2LockRef;
    }
  | { readonly kind: 'del'; readonly key: string };

/**
 * Replica confirmation a write batch asks for (`writeBehind.replicas`): after the batch, the store
 * sends `WAIT replicas timeoutMs` on the connection that carried it, and fails every write the
 * answer does not cover with `CacheReplicaTimeoutError` (a `CacheBatchError` position), though
 * the master applied it.
 */
export interface L2Durability {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** What a store reports of a write batch that asked for {@link L2Durability}. */
export interface L2WriteReceipt {
  /** Milliseconds spent in `WAIT` (the longest, when the batch went to several masters). */
  readonly replicaWaitMs: number;
}

/** A single-flight lock as its holder knows it: the lock key and the holder's token. */
export interface L2LockRef {
  readonly key: string;
  readonly token: string;
}

/**
 * Distributed single-flight locks (`getOrSet(..., { lock: true })`, `@Cacheable({ lock: true })`).
 * A lock key always shares its value key's hash slot (a `{hash tag}`, see lib/keys/lock-keys.ts),
 * so that a set carrying `releases` can check and delete the lock in one script on one shard.
 *
 * Locks are for efficiency, not mutual exclusion: a lease can lapse (a paused holder, a failover
 * that lost the lock key) and two holders then run. Every method settles like any other call.
 */
export interface L2Locks {
  /** `SET key token NX PX leaseMs`: whether this call took the lock. */
  acquire(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Extends the lease to `leaseMs` if `token` still holds the lock; whether it did. */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Deletes the lock if `token` still holds it. */
  release(key: string, token: string): Promise<void>;
  /**
   * Whether a lock key lands where its value key does, which the cache checks once before the
   * first lock (twemproxy: only when the pool hashes by `hash_tag: "{}"`). Optional: yes.
   */
  colocated?(): Promise<boolean>;
}

/**
 * What `mget` answers for one key: its bytes, `undefined` when the key is missing, or an `Error`
 * when the key could not be read because the part of L2 holding it is unavailable (a dead
 * twemproxy shard, a Cluster slot without a reachable master). Such a key is a miss for that key
 * alone; the other keys of the call are answered.
 */
export type L2Read = Buffer | undefined | Error;

/**
 * What `ensure` answers for one key: the value the key holds afterwards (the one it had, or the
 * candidate when it had none), or an `Error` when its part of L2 is unavailable.
 */
export type L2Ensured = string | Error;

/** One key for `ensure`: set to `candidate` (expiring at `expiresAt`, epoch ms) if absent. */
export interface L2EnsureRequest {
  readonly key: string;
  readonly candidate: string;
  readonly expiresAt: number;
}

/**
 * The contract between the cache and its shared tier. Implementations are dumb storage:
 * keys arrive fully namespaced, values are opaque bytes, and policy (timeouts, retries, error
 * counting) lives above them. A topology's limits (no MULTI/SCAN through twemproxy, cross-slot
 * keys on Cluster) are handled inside the store, never by callers.
 *
 * Faults are reported per key where the topology allows it: a call rejects as a whole only when L2
 * itself cannot be reached (the connection, the proxy, every node); a key whose shard or slot is
 * unavailable fails alone (an `Error` in its place for reads, a `CacheBatchError` position for
 * writes).
 *
 * Implement it to plug your own backend in with `l2: { type: 'custom', store }`.
 */
export interface L2Store {
  /** Short description for logs, e.g. `redis 127.0.0.1:6379`. Never contains a password. */
  readonly description: string;

  /**
   * Opens connections. Resolves when the store is ready, or when it gave up waiting
   * (the store keeps reconnecting; calls fail until then). Optional.
   */
  connect?(): Promise<void>;

  /** The value stored under `key`, or `undefined` when there is none. */
  get(key: string): Promise<Buffer | undefined>;

  /** The values of `keys`, in order (see {@link L2Read}). One round trip per shard. */
  mget(keys: readonly string[]): Promise<L2Read[]>;

  /**
   * Applies the writes as one pipeline (per shard), in order per key. Resolves when every write
   * is applied; rejects with `CacheBatchError` naming the failed positions when only some were,
   * or with any other error when none is known to have been applied.
   *
   * With `durability` (only passed to stores with {@link confirmsReplicas}), a write counts as
   * applied only once `WAIT` confirmed it on the connection that carried it (see
   * {@link L2Durability}); the store then resolves with an {@link L2WriteReceipt}.
   */
  write(writes: readonly L2Write[], durability?: L2Durability): Promise<void | L2WriteReceipt>;

  /**
   * Whether {@link write} honours `durability` (Redis replication confirmed by `WAIT`). A store
   * without it cannot be used with `writeBehind.replicas` (start-up fails). Optional: no.
   */
  readonly confirmsReplicas?: boolean;

  /** Deletes the keys (missing keys are fine). */
  del(keys: readonly string[]): Promise<void>;

  /**
   * For each request, atomically: set the key to `candidate` unless it exists (`SET key candidate
   * NX PXAT expiresAt`), then read it. Answers, in order, the value each key holds afterwards.
   * The cache keeps its version keys (behind `clear()` and `invalidateTags()`) with it, so that a
   * version key lost to a restart or eviction is re-created by the first instance that notices.
   *
   * Optional: without it the cache reads the key and writes it when absent, which is not atomic
   * (two instances may race; the cache converges on its next check).
   */
  ensure?(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]>;

  /**
   * Proves the store can serve real keys now: resolves after a write, read-back and delete of a
   * short-lived key (TTL 10 s) succeeded, rejects otherwise. Optional; for readiness probes.
   *
   * NOTE: never a PING: twemproxy answers PING itself, PONG even with every shard down. The
   * Redis stores round-trip one random key (so, through twemproxy, one shard); the Cluster store
   * one key on every master.
   */
  healthCheck?(): Promise<void>;

  /**
   * Distributed single-flight locks. Optional: without them `lock` falls back to single-flight
   * within each instance (counted as `lockFallbacks`).
   */
  readonly locks?: L2Locks;

  /** Closes connections. Pending calls may reject. */
  close(): Promise<void>;
}
