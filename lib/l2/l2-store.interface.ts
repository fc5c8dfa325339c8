/**
 * One write of a batch. `ttlMs` is the remaining lifetime, a whole number of milliseconds >= 1
 * (the caller turns already-expired entries into deletes).
 */
export type L2Write =
  | { readonly kind: 'set'; readonly key: string; readonly value: Buffer; readonly ttlMs: number }
  | { readonly kind: 'del'; readonly key: string };

/**
 * The contract between the cache and its shared tier. Implementations are dumb storage:
 * keys arrive fully namespaced, values are opaque bytes, and policy (timeouts, retries, error
 * counting) lives above them. A topology's limits (no MULTI/SCAN through twemproxy, cross-slot
 * keys on Cluster) are handled inside the store, never by callers.
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

  /** The values of `keys`, in order, `undefined` for each miss. One round trip per shard. */
  mget(keys: readonly string[]): Promise<Array<Buffer | undefined>>;

  /**
   * Applies the writes as one pipeline (per shard), in order per key. Resolves when every write
   * is applied; rejects with `CacheBatchError` naming the failed positions when only some were,
   * or with any other error when none is known to have been applied.
   */
  write(writes: readonly L2Write[]): Promise<void>;

  /** Deletes the keys (missing keys are fine). */
  del(keys: readonly string[]): Promise<void>;

  /**
   * Proves the store can serve real keys now: resolves after a write, read-back and delete of a
   * short-lived key (TTL 10 s) succeeded, rejects otherwise. Optional; for readiness probes.
   *
   * NOTE: never a PING: twemproxy answers PING itself, PONG even with every shard down. The
   * Redis stores round-trip one random key (so, through twemproxy, one shard); the Cluster store
   * one key on every master.
   */
  healthCheck?(): Promise<void>;

  /** Closes connections. Pending calls may reject. */
  close(): Promise<void>;
}
