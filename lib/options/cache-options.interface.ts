import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { L2Store } from '../contracts/l2-store.interface.js';
import type { CacheSerializer } from '../serialization/serializer.interface.js';
import type { Duration } from './duration.js';

/** The in-process tier: a bounded LRU. */
export interface L1Options {
  /** Most entries held. @default 10_000 */
  max?: number;
  /**
   * Approximate bytes held, measured as the size of each entry's serialized form.
   * @default 67_108_864 (64 MiB)
   */
  maxBytes?: number;
  /**
   * Longest time an entry stays in L1, capped by the entry's own TTL. Short by default so that
   * an instance that missed an invalidation message serves a stale copy for at most this long.
   * @default '30s'
   */
  ttl?: Duration;
}

/** One Redis server (or proxy) address. */
export interface RedisNode {
  host: string;
  port: number;
}

/** A single Redis server. Give `url` or `host` (and `port`). */
export interface RedisL2Options {
  type: 'redis';
  /** @example 'redis://:password@127.0.0.1:6379/0', 'rediss://...' for TLS */
  url?: string;
  host?: string;
  /** @default 6379 */
  port?: number;
  /** ioredis options passed through (tls, password, username, db, ...). */
  redis?: RedisOptions;
}

/**
 * twemproxy (nutcracker) in front of several Redis shards. Give `host` (and `port`) for one proxy,
 * or `proxies` for several proxies of the same pool: calls go to the first one that is connected,
 * the next ones take over while it is down (for availability; one proxy at a time keeps this
 * instance's writes to a key in order).
 */
export interface TwemproxyL2Options {
  type: 'twemproxy';
  host?: string;
  /** @default 22121 */
  port?: number;
  /** Several proxies of the same pool, in order of preference. Not together with `host`/`port`. */
  proxies?: RedisNode[];
  /**
   * ioredis options passed through. Options that cannot work through a proxy (`db`,
   * `connectionName`, `enableReadyCheck: true`, `protocol: 3`, `readOnly`, ...) fail at start-up.
   */
  redis?: RedisOptions;
}

/** A Redis Cluster; `nodes` are the seed nodes. */
export interface ClusterL2Options {
  type: 'cluster';
  nodes: RedisNode[];
  /** ioredis Cluster options passed through. */
  cluster?: ClusterOptions;
}

/** Redis behind Sentinel; `name` is the monitored master's name. */
export interface SentinelL2Options {
  type: 'sentinel';
  sentinels: RedisNode[];
  name: string;
  /** ioredis options passed through. */
  redis?: RedisOptions;
}

/** In-process L2 (the default): for a single instance, tests and the sample app. */
export interface MemoryL2Options {
  type: 'memory';
}

/** Your own {@link L2Store} implementation. */
export interface CustomL2Options {
  type: 'custom';
  store: L2Store;
}

/** Where the shared tier lives. */
export type L2Options =
  | RedisL2Options
  | TwemproxyL2Options
  | ClusterL2Options
  | SentinelL2Options
  | MemoryL2Options
  | CustomL2Options;

/** How `set()` reaches L2. */
export interface WriteBehindOptions {
  /** `false` makes `set()` write-through: it resolves once L2 has the value. @default true */
  enabled?: boolean;
  /** Milliseconds a write may wait for others to share its batch. @default 20 */
  flushIntervalMs?: number;
  /** Most writes sent in one pipeline. @default 1000 */
  maxBatchSize?: number;
  /**
   * Most writes held (queued, waiting out a per-key retry, or in flight) while L2 is slow or down.
   * @default 100_000
   */
  maxPending?: number;
  /**
   * What a write does when `maxPending` writes are held: `'drop-oldest'` drops the oldest write by
   * call order, queued or in flight (counted in `stats().dropped`, reported as a `drop` event; a
   * dropped in-flight write is followed by a delete of its key, since it may land anyway), so the
   * newest `maxPending` writes are kept; `'reject'` rejects the new `set()` with
   * `CacheOverflowError`. @default 'drop-oldest'
   */
  overflow?: 'drop-oldest' | 'reject';
  /**
   * Milliseconds `app.close()` (and `flush()`) waits for the queue to drain before giving up.
   * @default 10_000
   */
  shutdownTimeoutMs?: number;
  /** First retry delay after a failed batch, in milliseconds; doubles per attempt, with jitter. @default 50 */
  retryBaseDelayMs?: number;
  /** Longest retry delay, in milliseconds. @default 2_000 */
  retryMaxDelayMs?: number;
  /**
   * Replicas that must hold a batch before it counts as written: after each batch the cache sends
   * `WAIT replicas replicaTimeoutMs` on the connection that carried it. Until confirmed, its writes
   * stay pending (read-your-writes, counted against `maxPending`, not announced on the invalidation
   * bus); unconfirmed ones are sent again, after a failover to the new master. Applies to every L2
   * write: `set()` (write-behind or write-through), `del()`, `clear()`, `invalidateTags()`.
   * `0` acknowledges a batch when the master has it (a failover can then lose the last writes and
   * bring back older values). Redis, Sentinel and Cluster only: not through twemproxy (no WAIT),
   * nor with the memory L2 (no replicas). @default 0
   */
  replicas?: number;
  /**
   * Milliseconds one batch waits for its replicas (WAIT's timeout) before it is retried. Also the
   * longest a lagging or stopped replica holds the write connection per batch. @default 500
   */
  replicaTimeoutMs?: number;
}

/** The cross-instance invalidation bus (Redis pub/sub). */
export interface InvalidationOptions {
  /** @default true when L2 is Redis, false when it is memory or custom */
  enabled?: boolean;
  /** A direct Redis connection for the bus; required when `l2.type` is `'twemproxy'`. */
  url?: string;
  /** ioredis options for the bus connection. */
  redis?: RedisOptions;
  /** Pub/sub channel. @default `${namespace}:invalidate` */
  channel?: string;
}

/**
 * The circuit breaker in front of L2: after `failureThreshold` consecutive failed or timed-out
 * calls, L2 is skipped (reads serve L1, then miss; writes stay queued) for `cooldownMs`, then one
 * probe call decides whether to close it.
 */
export interface CircuitBreakerOptions {
  /** Consecutive L2 failures or timeouts that open the breaker. @default 5 */
  failureThreshold?: number;
  /** Milliseconds the breaker stays open before one probe call. @default 1_000 */
  cooldownMs?: number;
}

/**
 * Distributed single-flight: the defaults of `getOrSet(key, factory, { lock: true })` and
 * `@Cacheable({ lock: true })`, which run the factory once across all instances sharing the L2.
 * Nothing takes a lock unless a call asks for one.
 */
export interface LockOptions {
  /**
   * How long a lock lasts unless its holder renews it (it does, every third of this, while its
   * factory runs). After a holder died, another instance takes over within this.
   * @default 30_000
   */
  leaseMs?: Duration;
  /**
   * Longest an instance waits for another's factory (polling L2, woken by the invalidation bus)
   * before it runs the factory itself. Per call: `{ lock: { waitMs } }`.
   * @default 10_000
   */
  waitMs?: Duration;
}

/** Options of `DistributedCacheModule.forRoot()`. */
export interface DistributedCacheModuleOptions {
  /**
   * Registers a named cache next to the default one: inject it with `@InjectCache(name)`, and
   * point decorators at it with `cache: name`. Each name may be registered once per application.
   * With `forRootAsync`, give it beside `useFactory`, not in the options the factory returns.
   * No whitespace or `:`; `'default'` is reserved.
   * @default undefined (the default cache, injected as `CacheService`)
   * @example 'sessions'
   */
  name?: string;
  /**
   * Prefix of every Redis key (`${namespace}:${key}`). Apps that share a Redis and use different
   * namespaces never see each other's entries. @default 'cache'
   */
  namespace?: string;
  /** Default TTL of an entry. @default '5m' */
  ttl?: Duration;
  /** The in-process LRU, or `false` to disable it. */
  l1?: L1Options | false;
  /** The shared tier. @default { type: 'memory' } */
  l2?: L2Options;
  writeBehind?: WriteBehindOptions;
  invalidation?: InvalidationOptions;
  /**
   * `'json'` (default) round-trips strings, numbers, booleans, null, arrays, plain objects,
   * Date, BigInt, Map, Set, Buffer and Uint8Array exactly. Or your own serializer.
   * @default 'json'
   */
  serializer?: 'json' | CacheSerializer;
  /** Milliseconds after which an L2 call counts as failed (a read becomes a miss). @default 250 */
  l2TimeoutMs?: number;
  /** The L2 circuit breaker, or `false` to disable it. @default { failureThreshold: 5, cooldownMs: 1_000 } */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Longest key, in UTF-16 code units. @default 1_024 */
  maxKeyLength?: number;
  /** Largest serialized value, in bytes; a larger one makes `set` reject. @default 8_388_608 (8 MiB) */
  maxValueBytes?: number;
  /** Defaults of distributed single-flight (`lock` in getOrSet and @Cacheable). @default { leaseMs: 30_000, waitMs: 10_000 } */
  lock?: LockOptions;
  /**
   * OpenTelemetry spans for cache operations, through `@opentelemetry/api` (an optional peer,
   * loaded only when this is on; start-up fails naming it when it is missing). `true`, or
   * `{ recordKeys: true }` to add `cache.key` (off by default: keys can hold personal data).
   * @default false
   */
  tracing?: boolean | TracingOptions;
  /**
   * Track the most read keys (`stats().hotKeys(n)`, and the Prometheus exporter's
   * `hot_key_reads` series) in constant memory, from a sample of the reads. `true`, or
   * `{ capacity, sampleEvery }`. @default false
   */
  hotKeys?: boolean | HotKeysOptions;
}

/** Options of `hotKeys`. */
export interface HotKeysOptions {
  /** Keys tracked (constant memory: one counter each); `hotKeys(n)` answers up to this many. @default 100 */
  capacity?: number;
  /** Count one read in this many (the estimates are scaled back up). @default 10 */
  sampleEvery?: number;
}

/** Options of `tracing`. */
export interface TracingOptions {
  /** Record the key as `cache.key` on spans (keys can hold personal data). @default false */
  recordKeys?: boolean;
}
