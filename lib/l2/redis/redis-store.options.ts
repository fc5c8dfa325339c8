/** Options of `RedisClientStore` and the stores built on it. */
export interface RedisStoreOptions {
  /**
   * Milliseconds `connect()` waits for the connection to become ready before resolving anyway
   * (the client keeps reconnecting in the background; calls fail fast until it is ready).
   * @default 2_000
   */
  connectWaitMs?: number;
  /**
   * Milliseconds `close()` waits for QUIT to be answered before dropping the connection.
   * @default 500
   */
  quitTimeoutMs?: number;
  /**
   * Called with every connection-level error the client emits (refused connection, reset, ...).
   * Failed calls reject anyway, so the default is to ignore them; without any listener ioredis
   * would print each reconnect failure to stderr.
   */
  onClientError?: (error: Error) => void;
  /**
   * Called with what an operator should know about the server, once per finding: it lacks PXAT
   * (Redis < 6.2), or its clock is more than 250 ms off this host's. The module logs them.
   */
  onWarning?: (message: string) => void;
  /**
   * Prefix of the short-lived keys `healthCheck()` writes (a random id follows; TTL 10 s).
   * @default 'ndc-health:'
   */
  healthKeyPrefix?: string;
  /**
   * Send write batches as Lua script calls (see write-script.ts) rather than pipelines. Only for
   * servers that hold every key (single Redis, Sentinel); falls back to pipelines for good when
   * Redis refuses scripts (e.g. an ACL without `+evalsha`).
   * @default false
   */
  scriptedWrites?: boolean;
  /**
   * Open a second connection for writes (`writeBehind.replicas` > 0): `WAIT` blocks the connection
   * it is sent on until replicas confirm, so reads must not queue behind it. Only for stores with
   * `confirmsReplicas`.
   * @default false
   */
  writeConnection?: boolean;
}
