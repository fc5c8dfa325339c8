import { Redis, type RedisOptions } from 'ioredis';
import type { RedisL2Options } from '../../options/cache-options.interface.js';

/**
 * Builds the ioredis clients of the single-Redis topology, with settings that make every failure
 * fast and bounded. The numbers behind these choices are in shared/REDIS-FACTS.md: with ioredis
 * defaults a GET against a dead server waits 10-15 s, queues without bound, and can re-send
 * non-idempotent writes after a reconnect.
 */

/** Default port of a Redis server. */
const DEFAULT_REDIS_PORT = 6379;

/** First reconnect delay, in milliseconds; doubles per attempt up to {@link RECONNECT_MAX_DELAY_MS}. */
const RECONNECT_BASE_DELAY_MS = 50;

/** Longest delay between two reconnect attempts, in milliseconds. */
export const RECONNECT_MAX_DELAY_MS = 2_000;

/**
 * Reconnect delay before attempt `times` (1-based), in milliseconds: 50, 100, 200, ... capped at
 * 2,000, plus up to 10% jitter so that many instances do not reconnect in lockstep. Never gives up:
 * a cache must come back by itself when Redis does.
 */
export function reconnectDelayMs(times: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(times, 1) - 1, 16);
  const base = Math.min(RECONNECT_BASE_DELAY_MS * 2 ** exponent, RECONNECT_MAX_DELAY_MS);
  return Math.round(base + base * 0.1 * random());
}

/**
 * Defaults for options the user may override under `l2.redis`.
 *
 * - `connectTimeout` 2,000 ms (ioredis: 10,000): a black-holed address is detected quickly.
 * - `socketTimeout` 5,000 ms (ioredis: none): while commands are outstanding and nothing at all
 *   comes back for this long (a hung, e.g. SIGSTOPped, server), the connection is dropped and its
 *   commands rejected, so they do not pile up in the client forever; the client then reconnects.
 *   The timer only runs while replies are awaited, so an idle connection is never dropped.
 * - `disconnectTimeout` 200 ms (ioredis: 2,000): on close, how long a socket whose peer does not
 *   close its side (a hung server) lingers before it is destroyed; `RedisStore.close()` waits
 *   for it, so this bounds shutdown.
 *
 * `retryStrategy` defaults to {@link reconnectDelayMs} (see {@link buildRedisClientOptions}).
 */
export const REDIS_CLIENT_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  connectTimeout: 2_000,
  socketTimeout: 5_000,
  disconnectTimeout: 200,
});

/**
 * Options always applied, whatever is passed under `l2.redis`, because the rest of the cache
 * depends on them:
 *
 * - `lazyConnect: true`: connections open in `L2Store.connect()` (at application start-up), not
 *   as a side effect of building providers.
 * - `enableOfflineQueue: false`: a command issued while disconnected fails at once instead of
 *   waiting in an unbounded queue; the write-behind queue above is the one bounded buffer.
 * - `maxRetriesPerRequest: 0`: a command in flight when the connection drops is rejected as soon
 *   as the drop is seen. It could not be re-sent anyway (next line); with a higher count it would
 *   wait for more failed reconnects, and when the first reconnect succeeds ioredis forgets it
 *   without ever settling it (ioredis issue 2193). `null` would let it wait forever.
 * - `autoResendUnfulfilledCommands: false`: never re-send a write after a reconnect. By then the
 *   caller's own timeout has fired and the write-behind queue may have sent a newer value for the
 *   key; a late re-send would overwrite it. (Anything ioredis still leaves unsettled is settled by
 *   the per-call `l2TimeoutMs` above the store.)
 * - `protocol: 2` (RESP2): ioredis 6 defaults to RESP3, under which client-tracking invalidation
 *   messages are dropped silently, and twemproxy cannot parse HELLO 3 at all. ioredis 5 ignores
 *   the option (it only speaks RESP2).
 */
export const REDIS_CLIENT_FORCED: Readonly<RedisOptions> = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  protocol: 2,
});

/** Where a Redis client connects, as found in the module options. */
export interface RedisTarget {
  /** `redis://` or `rediss://` URL; wins over `host`/`port`. */
  url?: string;
  host?: string;
  /** @default 6379 */
  port?: number;
  /** ioredis options passed through by the user. */
  redis?: RedisOptions;
}

/**
 * The full ioredis options for `target`, in increasing precedence:
 * {@link REDIS_CLIENT_DEFAULTS} < `target.redis` (the user's pass-through) < the address, auth, db
 * and TLS taken from `target.url` (or `host`/`port`) < `extra` (what our own code needs for this
 * connection, e.g. `enableReadyCheck: false` through twemproxy) < {@link REDIS_CLIENT_FORCED}.
 *
 * A user `retryStrategy` is kept, but when it returns something other than a number (which would
 * make ioredis stop reconnecting for good) the default delay is used instead; `null` means the
 * default. Query parameters of
 * the URL are not read; pass such options under `redis`.
 *
 * Pure: opens nothing.
 * @throws TypeError when `target.url` is not a valid URL (the options validator rejects it first).
 */
export function buildRedisClientOptions(
  target: RedisTarget,
  extra: RedisOptions = {},
): RedisOptions {
  const user = target.redis ?? {};
  const customRetry = extra.retryStrategy ?? user.retryStrategy;
  const merged: RedisOptions = {
    ...REDIS_CLIENT_DEFAULTS,
    ...user,
    ...addressOf(target),
    ...extra,
    ...REDIS_CLIENT_FORCED,
  };
  // `null` or a strategy returning a non-number would stop reconnecting for good.
  merged.retryStrategy =
    typeof customRetry === 'function'
      ? (times: number) => {
          const delay = customRetry(times);
          return typeof delay === 'number' && Number.isFinite(delay) && delay >= 0
            ? delay
            : reconnectDelayMs(times);
        }
      : (times: number) => reconnectDelayMs(times);
  return merged;
}

/** Host, port, credentials, db and TLS from the URL, or host and port. */
function addressOf(target: RedisTarget): RedisOptions {
  if (target.url === undefined) {
    return {
      host: target.host ?? target.redis?.host ?? '127.0.0.1',
      port: target.port ?? target.redis?.port ?? DEFAULT_REDIS_PORT,
    };
  }
  const url = new URL(target.url);
  const address: RedisOptions = {
    // URL keeps IPv6 hosts in brackets; sockets want them bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port),
  };
  if (url.username !== '') address.username = decodeURIComponent(url.username);
  if (url.password !== '') address.password = decodeURIComponent(url.password);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '') address.db = Number.parseInt(db, 10);
  if (url.protocol === 'rediss:' && target.redis?.tls === undefined) address.tls = {};
  return address;
}

/**
 * A new, not yet connected ioredis client for one Redis server (see
 * {@link buildRedisClientOptions} for how options combine). Call `connect()` (or
 * `RedisStore.connect()`) to open it.
 *
 * @param extra Options our own code needs for this connection, applied over the user's.
 * @example
 * const client = createRedisClient({ type: 'redis', url: 'redis://127.0.0.1:6379' });
 */
export function createRedisClient(
  options: RedisL2Options | RedisTarget,
  extra: RedisOptions = {},
): Redis {
  return new Redis(buildRedisClientOptions(options, extra));
}

/**
 * A short description of where a client connects, for logs and `L2Store.description`: never
 * contains a password (shown as `***`), e.g. `redis 127.0.0.1:6379`, `redis alice:***@cache:6380/2
 * (tls)`. Never throws, even for a malformed URL.
 *
 * @param kind First word of the description. @default 'redis'
 */
export function describeRedisTarget(target: RedisTarget, kind = 'redis'): string {
  let address: RedisOptions;
  try {
    address = { ...target.redis, ...addressOf(target) };
  } catch {
    return `${kind} (invalid url)`;
  }
  const user = address.username ?? '';
  const auth = user !== '' || address.password ? `${user}${address.password ? ':***' : ''}@` : '';
  const host = address.host?.includes(':') ? `[${address.host}]` : (address.host ?? '127.0.0.1');
  const db = address.db ? `/${address.db}` : '';
  const tls = address.tls ? ' (tls)' : '';
  return `${kind} ${auth}${host}:${address.port ?? DEFAULT_REDIS_PORT}${db}${tls}`;
}
