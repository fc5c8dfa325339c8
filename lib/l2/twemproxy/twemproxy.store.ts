import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { CacheShardUnavailableError } from '../../errors/l2.errors.js';
import type { RedisNode, TwemproxyL2Options } from '../../options/cache-options.interface.js';
import { assertProxyCompatibleOptions } from '../../options/topology-rules.js';
import { guardProxyClient } from './proxy-client.guard.js';
import { buildRedisClientOptions, describeRedisTarget } from '../redis/redis-client.factory.js';
import { closeRedisClient, openRedisClient } from '../redis/redis-connection.js';
import type { L2Locks, L2Read } from '../../contracts/l2-store.interface.js';
import { burstCommand, sendBurst } from '../redis/command-burst.js';
import { redisLocks } from '../redis/lock-scripts.js';
import { RedisClientStore, type RedisStoreOptions } from '../redis/redis-client.store.js';

/**
 * Error replies nutcracker makes itself when the shard of a key cannot be reached: `ERR ` and the
 * text of the socket error (`strerror`) it met on the shard connection. Besides the usual ones,
 * any `ERR` followed by a capitalised word is taken as such: strerror texts are capitalised
 * ("Transport endpoint is not connected"), Redis' own ERR replies to GET/SET/DEL are not
 * ("ERR syntax error"). NOTE: erring towards "shard unavailable" only means a retry; the other
 * way round would drop a write that a restarted shard would have taken (seen in CI).
 *
 * `ERR unknown` (exactly) is nutcracker's reply to a command in flight when the shard closed the
 * connection without an error code (its `msg_get_error` with errno 0): the shard shut down, or
 * killed the proxy's connection, after reading the command. Whether it ran is unknown; it must be
 * retried, never dropped as refused (reproduced: a SET held by `CLIENT PAUSE WRITE`, then
 * `CLIENT KILL` of the proxy's connection on the shard, answers `ERR unknown`, unapplied).
 */
const PROXY_BACKEND_FAILURE =
  /^ERR ((Connection (refused|timed out|reset by peer)|Broken pipe|Software caused connection abort|Host is (down|unreachable)|No route to host|Network is (down|unreachable)|Operation timed out|Resource temporarily unavailable)\b|[A-Z][a-z]|unknown$)/;

/** Default port of a twemproxy pool. */
const DEFAULT_TWEMPROXY_PORT = 22121;

/**
 * ioredis options the twemproxy store always sets, over the user's (see shared/REDIS-FACTS.md:
 * with defaults ioredis cannot even connect through the proxy):
 *
 * - `enableReadyCheck: false`: the ready check sends INFO, which makes twemproxy close the
 *   connection. "Ready" then means connected to the proxy, not to the shards; the health check
 *   is what proves a shard answers.
 * - `disableClientInfo: true`: no CLIENT SETINFO on connect (ioredis 5.4+ and 6).
 *
 * `protocol: 2` (no HELLO 3) is forced for every client already (redis-client.factory.ts).
 */
const TWEMPROXY_CLIENT_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  enableReadyCheck: false,
  disableClientInfo: true,
});

/** The proxies named by the options: `proxies`, or `host`/`port`. */
function twemproxyNodes(options: TwemproxyL2Options): RedisNode[] {
  if (options.proxies !== undefined && options.proxies.length > 0) return [...options.proxies];
  return [
    {
      host: options.host ?? options.redis?.host ?? '127.0.0.1',
      port: options.port ?? options.redis?.port ?? DEFAULT_TWEMPROXY_PORT,
    },
  ];
}

/**
 * A new, not yet connected ioredis client for one twemproxy, set up for a proxy
 * ({@link TWEMPROXY_CLIENT_OPTIONS}, the fail-fast settings of every client) and guarded so that it
 * cannot send a command twemproxy would answer by closing the connection (see
 * proxy-command.guard.ts).
 *
 * @param redis The user's pass-through ioredis options.
 * @throws CacheOptionsError when `redis` holds an option that cannot work through a proxy.
 */
export function createTwemproxyClient(proxy: RedisNode, redis?: RedisOptions): Redis {
  assertProxyCompatibleOptions(redis);
  const options = buildRedisClientOptions(
    { host: proxy.host, port: proxy.port, redis },
    TWEMPROXY_CLIENT_OPTIONS,
  );
  return guardProxyClient(new Redis(options));
}

/**
 * The L2 store behind twemproxy: the single-Redis store's commands (batches as one pipeline,
 * `SET ... PX` so every key carries a TTL and orphans left by an ejection expire, DEL chunked by
 * 1,000 keys), except that reads are pipelined GETs, never a multi-key MGET (see {@link mget}),
 * all over guarded clients. It never relies on what twemproxy gets wrong across shards: no
 * multi-key EXISTS, no scripts, no transactions, and a health check that round-trips a real key
 * instead of PING.
 *
 * With several proxies, every call goes to the first connected one (in the order given); the
 * others take over while it is down. NOTE: not round-robin: two batches of this instance sent
 * through two proxies could reach a shard out of order.
 *
 * @example
 * const store = TwemproxyStore.fromOptions({ type: 'twemproxy', host: '127.0.0.1', port: 22121 });
 * await store.connect();
 */
export class TwemproxyStore extends RedisClientStore {
  /** One guarded client per proxy, in order of preference; `client` is the first. */
  readonly clients: readonly Redis[];

  /**
   * @param clients Clients from {@link createTwemproxyClient} (at least one); the store owns them.
   * @param description For logs; must not contain a password.
   */
  constructor(clients: readonly Redis[], description: string, options: RedisStoreOptions = {}) {
    const [first, ...others] = clients;
    if (first === undefined) throw new TypeError('TwemproxyStore needs at least one client');
    super(first, description, options);
    this.clients = [first, ...others];
    const onClientError = options.onClientError;
    for (const client of others) client.on('error', (error: Error) => onClientError?.(error));
  }

  /**
   * A store with one client per proxy of `options` (not connected yet: call {@link connect}).
   * @throws CacheOptionsError when `options.redis` holds an option that cannot work through a proxy.
   */
  static fromOptions(
    options: TwemproxyL2Options,
    storeOptions: RedisStoreOptions = {},
  ): TwemproxyStore {
    const nodes = twemproxyNodes(options);
    const clients = nodes.map((node) => createTwemproxyClient(node, options.redis));
    return new TwemproxyStore(clients, describeTwemproxy(nodes, options.redis), storeOptions);
  }

  /** Connects every proxy; resolves when all are connected or after `connectWaitMs`. */
  override async connect(): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.clients.map((client) => openRedisClient(client, this.connectWaitMs)));
    const ready = this.clients.find((client) => client.status === 'ready');
    if (ready !== undefined) await this.probe(ready);
    for (const client of this.clients) this.watchServer(client);
  }

  /** Closes every proxy connection (QUIT, bounded), leaving no socket or timer behind. */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.clients.map((client) => closeRedisClient(client, { quitTimeoutMs: this.quitTimeoutMs })),
    );
  }

  /**
   * The values of `keys` in order, as one burst of GETs (twemproxy routes each to its shard). A
   * key whose shard failed gets its error in its place (every key, when the proxy connection
   * failed).
   *
   * NOTE: not MGET: nutcracker 0.5.0 answers an MGET of several keys that touches a dead shard
   * with an error *and closes the client connection*, failing every command in flight on it
   * (measured). A GET to a dead shard only gets an error reply.
   */
  override async mget(keys: readonly string[]): Promise<L2Read[]> {
    if (keys.length === 0) return [];
    const client = this.commandClient();
    const { replies, failures } = await sendBurst(
      client,
      keys.map((key) => burstCommand(client, 'get', [key], true)),
    );
    return keys.map((_, i): L2Read => {
      const error = failures.get(i);
      if (error === undefined) return (replies[i] as Buffer | null) ?? undefined;
      const translated = this.translateError('mget', error);
      return translated instanceof Error ? translated : error;
    });
  }

  /**
   * Turns the proxy's own error replies about an unreachable shard into
   * {@link CacheShardUnavailableError}. NOTE: nutcracker sends them as `-ERR <strerror>`, which
   * looks like a Redis reply refusing the command for good; the command never reached Redis and
   * must be retried (write-behind) and counted as an outage, not dropped as refused.
   */
  protected override translateError(operation: string, error: unknown): unknown {
    if (
      error instanceof Error &&
      error.name === 'ReplyError' &&
      PROXY_BACKEND_FAILURE.test(error.message)
    ) {
      // NOTE: the operation is named `... via twemproxy`, not `write`: the write-behind queue drops
      // a CacheL2Error of operation `write` as never sendable, and this one must be retried.
      return new CacheShardUnavailableError(`${operation} via twemproxy`, error.message, {
        cause: error,
      });
    }
    return error;
  }

  /**
   * Single-flight locks as on a single Redis, plus the check that the pool hashes by
   * `hash_tag: "{}"`, without which a lock key may live on another shard than its value.
   */
  override readonly locks: L2Locks = {
    ...redisLocks(
      () => this.commandClient(),
      (operation, error) => this.translateError(operation, error),
    ),
    colocated: () => {
      this.colocation ??= this.probeColocation().catch((error: unknown) => {
        this.colocation = undefined; // a shard was down: ask again next time
        throw error;
      });
      return this.colocation;
    },
  };
  private colocation: Promise<boolean> | undefined;

  /**
   * Whether the pool hashes keys by their `{tag}`. One script per pair writes `{t}a` and `x{t}`
   * on the shard of `{t}a` (twemproxy runs a script on its first key's shard); a GET of `x{t}`
   * then finds it only if the proxy routes `x{t}` by its tag too. Eight pairs: on a pool of two
   * or more shards without the hash tag, all eight pass by chance with odds of 1 in 256 at most.
   * The keys expire within 10 s (a copy on a wrong shard cannot be deleted through the proxy).
   */
  private async probeColocation(): Promise<boolean> {
    const id = randomUUID();
    const pairs = Array.from({ length: 8 }, (_, i) => {
      const tag = `{${this.healthKeyPrefix}${id}.${i}}`;
      // NOTE: the two keys differ from their first byte: keys that differ only at the end hash
      // close together, and ketama then often puts them on one shard even without the tag.
      return [`${tag}a`, `${randomUUID()}${tag}`] as const;
    });
    const client = this.commandClient();
    const write = client.pipeline();
    for (const [a, b] of pairs) write.eval(COLOCATION_PROBE, 2, a, b, id);
    const read = client.pipeline();
    for (const [, b] of pairs) read.get(b);
    try {
      for (const [error] of (await write.exec()) ?? []) if (error) throw error;
      const replies = (await read.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      return replies.length === pairs.length && replies.every(([, value]) => value === id);
    } catch (error: unknown) {
      throw this.translateError('lock', error);
    } finally {
      const cleanup = client.pipeline();
      for (const [a, b] of pairs) cleanup.del(a).del(b);
      await cleanup.exec().catch(() => undefined);
    }
  }

  /** The first connected proxy; the first proxy when none is (its calls then fail fast). */
  protected override commandClient(): Redis {
    return this.clients.find((client) => client.status === 'ready') ?? this.client;
  }
}

/** Writes KEYS[1] and KEYS[2] on the shard of KEYS[1] (see probeColocation). */
const COLOCATION_PROBE = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', 10000)
redis.call('SET', KEYS[2], ARGV[1], 'PX', 10000)
return 1
`;

/** `twemproxy 127.0.0.1:22121` (several proxies comma-separated); never contains a password. */
export function describeTwemproxy(nodes: readonly RedisNode[], redis?: RedisOptions): string {
  const addresses = nodes.map((node) =>
    describeRedisTarget({ host: node.host, port: node.port, redis }, '').trim(),
  );
  return `twemproxy ${addresses.join(', ')}`;
}
