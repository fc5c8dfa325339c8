import { Redis, type RedisOptions } from 'ioredis';
import { CacheFailoverInProgressError } from '../../errors/l2.errors.js';
import { assertSentinelCompatibleOptions } from '../../options/topology-rules.js';
import type { RedisNode, SentinelL2Options } from '../../options/cache-options.interface.js';
import type { L2Durability, L2Write, L2WriteReceipt } from '../../contracts/l2-store.interface.js';
import { buildRedisClientOptions, reconnectDelayMs } from '../redis/redis-client.factory.js';
import { RedisClientStore, type RedisStoreOptions } from '../redis/redis-client.store.js';
import { closeRedisClient } from '../redis/redis-connection.js';
import { SentinelFailoverWatch } from './sentinel-failover.watch.js';

/** Options of {@link SentinelStore}. */
export interface SentinelStoreOptions extends RedisStoreOptions {
  /**
   * Longest time writes stay paused for one failover, in milliseconds, should the Sentinels never
   * announce its end.
   * @default 5_000
   */
  failoverPauseMaxMs?: number;
}

/**
 * Defaults for Sentinel options the user may override under `l2.redis`:
 *
 * - `sentinelCommandTimeout` 1,000 ms (ioredis: none): a hung Sentinel cannot stall the lookup of
 *   the master; the next Sentinel is asked.
 * - `sentinelReconnectStrategy`: {@link reconnectDelayMs} (ioredis: 60 s). The failover
 *   detector's subscription to a Sentinel that restarted comes back within 2 s, not a minute.
 * - `reconnectOnError`: reconnect (without re-sending) on a `READONLY` reply, i.e. when the
 *   server we write to has been demoted to a replica; the reconnect asks the Sentinels for the
 *   master again. A second line of defence behind the failover detector.
 */
const SENTINEL_CLIENT_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  sentinelCommandTimeout: 1_000,
  sentinelReconnectStrategy: (times: number) => reconnectDelayMs(times),
  reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
});

/**
 * Options the Sentinel store always sets (over the user's, under the fail-fast options every
 * client gets):
 *
 * - `failoverDetector: true`: ioredis subscribes to `+switch-master` on the Sentinels and drops
 *   its connection the moment a failover completes. Without it ioredis kept writing to the demoted
 *   master for ~11 s, every write answered OK and then lost (shared/REDIS-FACTS.md).
 * - `role: 'master'` and `enableReadyCheck: true`: the ready check's INFO confirms the server is
 *   a master before any command goes to it, so a stale answer from a Sentinel is retried instead
 *   of used.
 */
const SENTINEL_CLIENT_FORCED: Readonly<RedisOptions> = Object.freeze({
  failoverDetector: true,
  role: 'master',
  enableReadyCheck: true,
});

/**
 * The full ioredis options of a Sentinel-managed client for `options`, in increasing precedence:
 * the single-Redis defaults and {@link SENTINEL_CLIENT_DEFAULTS} < `options.redis` < the Sentinels
 * and master name < {@link SENTINEL_CLIENT_FORCED} < the fail-fast options forced on every client
 * (see redis-client.factory.ts). Pure: opens nothing.
 * @throws CacheOptionsError when `options.redis` would defeat the failover handling.
 */
export function buildSentinelClientOptions(options: SentinelL2Options): RedisOptions {
  assertSentinelCompatibleOptions(options.redis);
  return buildRedisClientOptions(
    { redis: { ...SENTINEL_CLIENT_DEFAULTS, ...options.redis } },
    {
      sentinels: options.sentinels.map((node) => ({ host: node.host, port: node.port })),
      name: options.name,
      ...SENTINEL_CLIENT_FORCED,
    },
  );
}

/** A new, not yet connected ioredis client that follows the master named `options.name`. */
function createSentinelClient(options: SentinelL2Options): Redis {
  return new Redis(buildSentinelClientOptions(options));
}

/** `sentinel mymaster via 127.0.0.1:26379, ...`; never contains a password. */
export function describeSentinel(name: string, sentinels: readonly RedisNode[]): string {
  return `sentinel ${name} via ${sentinels.map((node) => `${node.host}:${node.port}`).join(', ')}`;
}

/**
 * The L2 store on a Redis master managed by Sentinel (`l2: { type: 'sentinel', sentinels, name }`):
 * the single-Redis store's commands, through a client that asks the Sentinels where the master
 * is, and follows a failover within about a second (see {@link SENTINEL_CLIENT_FORCED}).
 *
 * While a failover is under way writes are refused before they are sent (from the Sentinels'
 * `+try-failover` until the client is ready on the new master: in between the old master would
 * acknowledge writes that the failover then discards, see SentinelFailoverWatch), and calls fail
 * fast while the master is unreachable (no offline queue). Reads miss meanwhile; the write-behind
 * queue keeps its writes and retries them with backoff until the new master takes them.
 *
 * @example
 * const store = SentinelStore.fromOptions({
 *   type: 'sentinel',
 *   sentinels: [{ host: '127.0.0.1', port: 26379 }],
 *   name: 'mymaster',
 * });
 * await store.connect();
 */
export class SentinelStore extends RedisClientStore {
  /** WAIT goes to the master: batches can wait for its replicas. */
  override readonly confirmsReplicas = true;

  /**
   * @param client A client from {@link createSentinelClient}; the store owns it.
   * @param description For logs; must not contain a password.
   * @param watch Pauses writes during a failover; the store starts and stops it.
   */
  constructor(
    client: Redis,
    description: string,
    options: RedisStoreOptions = {},
    private readonly watch?: SentinelFailoverWatch,
    private readonly masterName = 'master',
  ) {
    // One master holds every key, so batches can go as script calls (see write-script.ts).
    super(client, description, { scriptedWrites: true, ...options });
  }

  /**
   * A store with its own client for `options` (not connected yet: call `connect()`).
   * @throws CacheOptionsError when `options.redis` would defeat the failover handling.
   */
  static fromOptions(
    options: SentinelL2Options,
    storeOptions: SentinelStoreOptions = {},
  ): SentinelStore {
    const client = createSentinelClient(options);
    const watch = new SentinelFailoverWatch(
      client,
      options,
      storeOptions.failoverPauseMaxMs,
      storeOptions.onClientError,
    );
    return new SentinelStore(
      client,
      describeSentinel(options.name, options.sentinels),
      storeOptions,
      watch,
      options.name,
    );
  }

  /** Subscribes to the Sentinels' failover events, and opens the connection to the master. */
  override async connect(): Promise<void> {
    if (this.closed) return;
    // Not awaited: a Sentinel that is down must not hold start-up; it is subscribed once it is up.
    void this.watch?.start();
    await super.connect();
  }

  /**
   * As the single-Redis store; while a failover is under way (see SentinelFailoverWatch), rejects
   * at once with `CacheFailoverInProgressError` and sends nothing.
   */
  override async write(
    writes: readonly L2Write[],
    durability?: L2Durability,
  ): Promise<void | L2WriteReceipt> {
    if (writes.length > 0 && this.watch?.writesPaused) {
      throw new CacheFailoverInProgressError('write', this.masterName);
    }
    return super.write(writes, durability);
  }

  /** As {@link write}: paused during a failover. */
  override async del(keys: readonly string[]): Promise<void> {
    if (keys.length > 0 && this.watch?.writesPaused) {
      throw new CacheFailoverInProgressError('del', this.masterName);
    }
    await super.del(keys);
  }

  /**
   * Drops the connection at once (no QUIT), which also closes the failover detector's Sentinel
   * subscriptions: after QUIT ioredis would leave those open. Closes the failover watch too.
   * Leaves no socket or timer behind. Safe to call twice.
   */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watch?.stop();
    const options = { quitTimeoutMs: this.quitTimeoutMs, quit: false };
    await Promise.all([
      closeRedisClient(this.client, options),
      this.writer === undefined ? undefined : closeRedisClient(this.writer, options),
    ]);
  }
}
