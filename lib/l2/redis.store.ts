import type { Redis } from 'ioredis';
import { CacheBatchError } from '../errors/cache-batch.error.js';
import { CacheL2Error } from '../errors/cache-l2.error.js';
import type { RedisL2Options } from '../options/cache-options.interface.js';
import type { L2Store, L2Write } from './l2-store.interface.js';
import { createRedisClient, describeRedisTarget } from './redis-client.factory.js';

/** Most keys in one MGET or DEL command; larger inputs are split and sent as one pipeline. */
export const REDIS_KEYS_PER_COMMAND = 1_000;

/** Extra milliseconds close() waits for the socket to close, beyond ioredis' own bound. */
const END_WAIT_MS = 200;

/** Options of {@link RedisStore}. */
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
}

/**
 * The L2 store for one Redis server (or anything that speaks to a single logical Redis through one
 * ioredis client). Values travel as Buffers both ways (`getBuffer`/`mgetBuffer`), so bytes are never
 * re-encoded. It adds no timeouts or retries of its own: the remote tier above settles every call
 * within `l2TimeoutMs`, and the client is built to fail fast (see redis-client.factory.ts).
 * Every method is `async`, so none can throw synchronously.
 */
export class RedisStore implements L2Store {
  private readonly connectWaitMs: number;
  private readonly quitTimeoutMs: number;
  private closed = false;

  /**
   * @param client An ioredis client, preferably from {@link createRedisClient}; the store owns it
   *   and closes it in {@link close}.
   * @param description For logs; must not contain a password (see {@link describeRedisTarget}).
   */
  constructor(
    readonly client: Redis,
    readonly description: string,
    options: RedisStoreOptions = {},
  ) {
    this.connectWaitMs = options.connectWaitMs ?? 2_000;
    this.quitTimeoutMs = options.quitTimeoutMs ?? 500;
    const onClientError = options.onClientError;
    client.on('error', (error: Error) => onClientError?.(error));
  }

  /**
   * A store with its own client for `options` (not connected yet: call {@link connect}).
   * @throws TypeError when `options.url` is not a URL (the options validator rejects it earlier).
   * @example
   * const store = RedisStore.fromOptions({ type: 'redis', url: 'redis://127.0.0.1:6379' });
   * await store.connect();
   */
  static fromOptions(options: RedisL2Options, storeOptions: RedisStoreOptions = {}): RedisStore {
    return new RedisStore(createRedisClient(options), describeRedisTarget(options), storeOptions);
  }

  /**
   * Opens the connection and resolves once it is ready, or after `connectWaitMs` even if it is not
   * (never rejects: the client keeps retrying with backoff, and calls fail fast meanwhile).
   */
  async connect(): Promise<void> {
    const client = this.client;
    if (this.closed || client.status === 'ready') return;
    const ready = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        client.off('end', done);
        resolve();
      };
      const timer = setTimeout(done, this.connectWaitMs);
      client.once('ready', done);
      client.once('end', done);
    });
    if (client.status === 'wait' || client.status === 'end') {
      // The promise rejects when the first attempt fails; reconnecting goes on regardless.
      client.connect().catch(() => undefined);
    }
    await ready;
  }

  /** GET as a Buffer; `undefined` when the key is missing. */
  async get(key: string): Promise<Buffer | undefined> {
    return (await this.client.getBuffer(key)) ?? undefined;
  }

  /** One MGET per 1,000 keys, all sent as one pipeline. Rejects if any chunk fails. */
  async mget(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return [];
    if (keys.length <= REDIS_KEYS_PER_COMMAND) {
      return toValues(keys.length, await this.client.mgetBuffer([...keys]));
    }
    const parts = [...chunks(keys)];
    const pipeline = this.client.pipeline();
    for (const part of parts) pipeline.mgetBuffer(part);
    const results = await pipeline.exec();
    const values: Array<Buffer | undefined> = [];
    for (const [i, part] of parts.entries()) {
      const result = results?.[i];
      if (result === undefined) {
        throw new CacheL2Error('mget', 'the pipeline returned fewer replies than commands sent');
      }
      if (result[0]) throw result[0];
      values.push(...toValues(part.length, result[1] as Array<Buffer | null>));
    }
    return values;
  }

  /**
   * Sends every write in one pipeline, in order: `SET key value PX ttlMs` or `DEL key`. A write that
   * cannot be sent (a `ttlMs` that is not a whole number >= 1, a value that is not bytes) fails alone.
   * Per-write failures reject with `CacheBatchError` (the others were applied); when the pipeline
   * as a whole failed (connection down or lost), the client's error is rethrown as is.
   */
  async write(writes: readonly L2Write[]): Promise<void> {
    if (writes.length === 0) return;
    const failures = new Map<number, unknown>();
    /** Batch index of each command in the pipeline. */
    const sent: number[] = [];
    const pipeline = this.client.pipeline();
    writes.forEach((write, index) => {
      if (write.kind === 'del') {
        pipeline.del(write.key);
      } else {
        const problem = invalidSet(write);
        if (problem !== undefined) {
          failures.set(
            index,
            new CacheL2Error(
              'write',
              `set of key ${JSON.stringify(write.key)} not sent: ${problem}`,
            ),
          );
          return;
        }
        pipeline.set(write.key, write.value, 'PX', write.ttlMs);
      }
      sent.push(index);
    });

    if (sent.length > 0) {
      const results = await pipeline.exec();
      sent.forEach((index, position) => {
        const result = results?.[position];
        if (result === undefined) {
          failures.set(
            index,
            new CacheL2Error('write', 'the pipeline returned fewer replies than commands sent'),
          );
        } else if (result[0]) {
          failures.set(index, result[0]);
        }
      });
    }
    if (failures.size === 0) return;

    const failedIndexes = [...failures.keys()].sort((a, b) => a - b);
    const firstError = failures.get(failedIndexes[0] ?? 0);
    // Every command failed for a connection reason: nothing is known to be applied, so this is
    // not a partial failure and the caller gets the connection error itself.
    if (failures.size === writes.length && [...failures.values()].every(isConnectionError)) {
      throw firstError;
    }
    throw new CacheBatchError(failedIndexes, { cause: firstError });
  }

  /** DEL in chunks of 1,000 keys (one pipeline when there are several). Missing keys are fine. */
  async del(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    if (keys.length <= REDIS_KEYS_PER_COMMAND) {
      await this.client.del([...keys]);
      return;
    }
    const pipeline = this.client.pipeline();
    for (const chunk of chunks(keys)) pipeline.del(chunk);
    const results = await pipeline.exec();
    for (const [error] of results ?? []) if (error) throw error;
  }

  /**
   * Sends QUIT (waiting at most `quitTimeoutMs`, e.g. when the server is hung), then drops the
   * connection and stops reconnecting, leaving no socket or timer behind. Calls made afterwards
   * reject. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const client = this.client;
    if (client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.quit().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.quitTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
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
}

/** Why a set cannot be sent, or `undefined` when it can. */
function invalidSet(write: Extract<L2Write, { kind: 'set' }>): string | undefined {
  if (!Number.isSafeInteger(write.ttlMs) || write.ttlMs < 1) {
    return `ttlMs must be a whole number of milliseconds >= 1, got ${String(write.ttlMs)}`;
  }
  if (!((write.value as unknown) instanceof Uint8Array)) return 'value is not a Buffer';
  return undefined;
}

/**
 * Whether `error` means the command never got an answer (as opposed to a Redis error reply,
 * which is specific to that command: ioredis names those `ReplyError`).
 */
function isConnectionError(error: unknown): boolean {
  return (
    !(error instanceof CacheL2Error) && !(error instanceof Error && error.name === 'ReplyError')
  );
}

function* chunks(keys: readonly string[]): Generator<string[]> {
  for (let start = 0; start < keys.length; start += REDIS_KEYS_PER_COMMAND) {
    yield keys.slice(start, start + REDIS_KEYS_PER_COMMAND);
  }
}

/** MGET replies as the contract wants them; a short reply (never expected) reads as misses. */
function toValues(
  count: number,
  reply: ReadonlyArray<Buffer | null> | null | undefined,
): Array<Buffer | undefined> {
  const values = new Array<Buffer | undefined>(count);
  for (let i = 0; i < count; i++) values[i] = reply?.[i] ?? undefined;
  return values;
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
