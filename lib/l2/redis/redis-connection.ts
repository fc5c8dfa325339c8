import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CacheL2Error } from '../../errors/l2.errors.js';

/**
 * Opening, closing and health-checking one ioredis client, shared by the stores built on `Redis`
 * (single Redis, twemproxy, Sentinel). Connection handling is where open handles and hangs hide,
 * so it lives in one place.
 */

/**
 * Resolves when `promise` settles or after `waitMs`, whichever comes first; never rejects, and
 * leaves no timer behind. How every bounded wait on a connection (connect, QUIT, SUBSCRIBE) ends.
 */
export async function settledWithin(promise: Promise<unknown>, waitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    }),
  ]);
  clearTimeout(timer);
}

/** Extra milliseconds close waits for the socket to close, beyond ioredis' own bound. */
const END_WAIT_MS = 200;

/** Default prefix of the keys written by a health check. */
export const HEALTH_KEY_PREFIX = 'ndc-health:';

/** Lifetime of a health-check key, in milliseconds, should its DEL never arrive. */
export const HEALTH_KEY_TTL_MS = 10_000;

/**
 * Opens `client` and resolves once it is ready, or after `waitMs` even if it is not (never
 * rejects: the client keeps retrying with backoff, and calls fail fast meanwhile).
 */
export async function openRedisClient(client: Redis, waitMs: number): Promise<void> {
  if (client.status === 'ready') return;
  const ready = new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('end', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    client.once('ready', done);
    client.once('end', done);
  });
  if (client.status === 'wait' || client.status === 'end') {
    // The promise rejects when the first attempt fails; reconnecting goes on regardless.
    client.connect().catch(() => undefined);
  }
  await ready;
}

/** How {@link closeRedisClient} ends the connection. */
export interface CloseRedisClientOptions {
  /** Milliseconds QUIT may take before the connection is dropped anyway. */
  quitTimeoutMs: number;
  /**
   * Send QUIT first (lets replies in flight arrive). `false` drops the connection with
   * `disconnect()` at once, which also stops what the connector runs beside the socket (the
   * Sentinel failover detector's subscriptions); QUIT would leave those open.
   * @default true
   */
  quit?: boolean;
}

/**
 * Closes `client` for good, leaving no socket or timer behind: QUIT (bounded, e.g. when the
 * server is hung) unless `quit` is false, then `disconnect()`, and, for a peer that never closes
 * its side, destroys the socket. Stops reconnecting. Safe on a client that never connected.
 */
export async function closeRedisClient(
  client: Redis,
  { quitTimeoutMs, quit = true }: CloseRedisClientOptions,
): Promise<void> {
  if (quit && client.status === 'ready') await settledWithin(client.quit(), quitTimeoutMs);
  // QUIT was answered and the server closed the connection: nothing is left to drop (and
  // disconnect() would only arm a stray timer, see below).
  if (client.status === 'end') return;
  const wasReconnecting = client.status === 'reconnecting';
  const disconnectTimeoutMs = client.options.disconnectTimeout ?? 2_000;
  client.disconnect();
  if (wasReconnecting) {
    // NOTE: disconnect() arms a timer of `disconnectTimeout` that only the socket's 'close' event
    // clears. Between reconnect attempts that socket has already closed, so the timer would
    // outlive close() (an open handle in Jest): let it run out here instead.
    await sleep(disconnectTimeoutMs);
    return;
  }
  // ioredis destroys a socket whose peer does not close its side (a hung server) after
  // `disconnectTimeout`; destroy it ourselves if even that did not happen.
  if (await waitForEnd(client, disconnectTimeoutMs + END_WAIT_MS)) return;
  (client.stream as Redis['stream'] | undefined)?.destroy();
  await waitForEnd(client, END_WAIT_MS);
}

/**
 * A real key round trip on `client`, in one pipeline: `SET key token PX 10000`, `GET key`,
 * `DEL key`, where `key` is `prefix` plus a random id. Resolves when the token came back.
 *
 * NOTE: never PING: twemproxy answers PING itself, PONG even with every shard down.
 *
 * @throws CacheL2Error when a command failed or the token did not come back.
 */
export async function redisRoundTrip(client: Redis, prefix = HEALTH_KEY_PREFIX): Promise<void> {
  const key = `${prefix}${randomUUID()}`;
  const token = randomUUID();
  const results = await client
    .pipeline()
    .set(key, token, 'PX', HEALTH_KEY_TTL_MS)
    .get(key)
    .del(key)
    .exec();
  checkRoundTrip(key, token, results);
}

/**
 * Checks the replies of a SET/GET/DEL health round trip.
 * @throws CacheL2Error naming the key when a command failed or GET did not return `token`.
 */
export function checkRoundTrip(
  key: string,
  token: string,
  results: Array<[Error | null, unknown]> | null,
): void {
  const failed = results?.find(([error]) => error !== null)?.[0];
  if (failed) {
    throw new CacheL2Error('health check', `health check on key ${key} failed: ${failed.message}`, {
      cause: failed,
    });
  }
  const read = results?.[1]?.[1];
  if (read !== token) {
    throw new CacheL2Error(
      'health check',
      `health check on key ${key} read back ${JSON.stringify(read)} instead of what it wrote`,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves `true` once the client has no socket left (status `end`), `false` after `timeoutMs`. */
function waitForEnd(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'end') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ended: boolean): void => {
      clearTimeout(timer);
      client.off('end', onEnd);
      resolve(ended);
    };
    const onEnd = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.once('end', onEnd);
  });
}
