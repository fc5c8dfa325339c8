import type { Redis } from 'ioredis';
import { CacheL2Error } from '../../errors/l2.errors.js';
import { CacheUnsupportedCommandError } from '../../errors/l2.errors.js';
import type {
  L2Durability,
  L2Ensured,
  L2EnsureRequest,
  L2Locks,
  L2Read,
  L2Store,
  L2Write,
  L2WriteReceipt,
} from '../../contracts/l2-store.interface.js';
import {
  chunks,
  expiryArgs,
  REDIS_KEYS_PER_COMMAND,
  throwBatchFailures,
  toValues,
  unsentSetError,
} from './redis-batch.js';
import { invalidSet } from '../l2-write.checks.js';
import {
  closeRedisClient,
  HEALTH_KEY_PREFIX,
  openRedisClient,
  redisRoundTrip,
} from './redis-connection.js';
import { probeServer, probeWarnings, type ServerTraits } from './server-probe.js';
import type { RedisStoreOptions } from './redis-store.options.js';
import { redisLocks, releasesAny } from './lock-scripts.js';
import { writeByBurst, writeByScripts } from './write-script.js';
import { failUnconfirmed, waitForReplicas } from './replica-wait.js';

export type { RedisStoreOptions };

/**
 * The L2 store over one logical Redis reached through ioredis `Redis` clients: the base of the
 * single-Redis, twemproxy and Sentinel stores, which only differ in how their client is built,
 * which client a call uses ({@link commandClient}), and how connections open and close.
 *
 * Values travel as Buffers both ways (`getBuffer`/`mgetBuffer`), so bytes are never re-encoded. It
 * adds no timeouts or retries of its own: the remote tier above settles every call within
 * `l2TimeoutMs`, and the clients are built to fail fast (see redis-client.factory.ts). Every
 * method is `async`, so none can throw synchronously.
 */
export class RedisClientStore implements L2Store {
  protected readonly connectWaitMs: number;
  protected readonly quitTimeoutMs: number;
  protected readonly healthKeyPrefix: string;
  protected closed = false;
  /** Whether batches go as script calls ({@link writeByScript}); off after Redis refused one. */
  private scripted: boolean;
  /** Whether the server takes `SET ... PXAT`; probed on every new connection. */
  protected pxat = true;
  private readonly onWarning: ((message: string) => void) | undefined;
  private readonly warned = new Set<string>();
  /**
   * Whether `write()` honours `durability` (WAIT). Not through twemproxy, which closes the
   * connection on WAIT.
   */
  readonly confirmsReplicas: boolean = false;
  /**
   * The connection write batches go to when they wait for replicas (`writeConnection`): WAIT
   * blocks its connection, and reads must not queue behind it.
   */
  protected readonly writer: Redis | undefined;
  /** Single-flight locks: SET NX PX and token-checked scripts (lock-scripts.ts). */
  readonly locks: L2Locks = redisLocks(
    () => this.commandClient(),
    (operation, error) => this.translateError(operation, error),
  );

  /**
   * @param client An ioredis client set up to fail fast (see redis-client.factory.ts); the store
   *   owns it and closes it in {@link close}.
   * @param description For logs; must not contain a password.
   */
  constructor(
    readonly client: Redis,
    readonly description: string,
    options: RedisStoreOptions = {},
  ) {
    this.connectWaitMs = options.connectWaitMs ?? 2_000;
    this.quitTimeoutMs = options.quitTimeoutMs ?? 500;
    this.healthKeyPrefix = options.healthKeyPrefix ?? HEALTH_KEY_PREFIX;
    this.scripted = options.scriptedWrites ?? false;
    this.onWarning = options.onWarning;
    const onClientError = options.onClientError;
    client.on('error', (error: Error) => onClientError?.(error));
    if (options.writeConnection === true) {
      this.writer = client.duplicate();
      this.writer.on('error', (error: Error) => onClientError?.(error));
    }
  }

  /**
   * Probes the server behind `client` (PXAT, clock offset) on each new connection: a failover or a
   * restart may put another server behind the same address. Not awaited on reconnects: until it
   * answers the last finding holds.
   */
  protected watchServer(client: Redis): void {
    client.on('ready', () => {
      void this.probe(client);
    });
  }

  /** Probes now; a probe that fails (server gone again) changes nothing. */
  protected async probe(client: Pick<Redis, 'eval' | 'set' | 'del'>): Promise<void> {
    let traits: ServerTraits;
    try {
      traits = await probeServer(client, this.healthKeyPrefix);
    } catch {
      return;
    }
    this.pxat = traits.pxat;
    for (const line of probeWarnings(this.description, traits)) {
      if (this.warned.has(line.slice(0, 60))) continue;
      this.warned.add(line.slice(0, 60));
      this.onWarning?.(line);
    }
  }

  /**
   * Opens the connection and resolves once it is ready, or after `connectWaitMs` even if it is not
   * (never rejects: the client keeps retrying with backoff, and calls fail fast meanwhile).
   */
  async connect(): Promise<void> {
    if (this.closed) return;
    await Promise.all([
      openRedisClient(this.client, this.connectWaitMs),
      this.writer === undefined ? undefined : openRedisClient(this.writer, this.connectWaitMs),
    ]);
    if (this.client.status === 'ready') await this.probe(this.client);
    this.watchServer(this.client);
  }

  /** GET as a Buffer; `undefined` when the key is missing. */
  async get(key: string): Promise<Buffer | undefined> {
    try {
      return (await this.commandClient().getBuffer(key)) ?? undefined;
    } catch (error: unknown) {
      throw this.translateError('get', error);
    }
  }

  /**
   * One MGET per 1,000 keys, all sent as one pipeline. One server holds every key, so it answers
   * all or none: rejects if any chunk fails.
   */
  async mget(keys: readonly string[]): Promise<L2Read[]> {
    if (keys.length === 0) return [];
    const client = this.commandClient();
    if (keys.length <= REDIS_KEYS_PER_COMMAND) {
      try {
        return toValues(keys.length, await client.mgetBuffer([...keys]));
      } catch (error: unknown) {
        throw this.translateError('mget', error);
      }
    }
    const parts = [...chunks(keys)];
    const pipeline = client.pipeline();
    for (const part of parts) pipeline.mgetBuffer(part);
    const results = await pipeline.exec();
    const values: L2Read[] = [];
    for (const [i, part] of parts.entries()) {
      const result = results?.[i];
      if (result === undefined) {
        throw new CacheL2Error('mget', 'the pipeline returned fewer replies than commands sent');
      }
      if (result[0]) throw this.translateError('mget', result[0]);
      values.push(...toValues(part.length, result[1] as Array<Buffer | null>));
    }
    return values;
  }

  /**
   * Sends every write, in order: `SET key value PXAT expiresAt` or `DEL key`, as script calls of up
   * to 1,000 writes when the store uses {@link writeByScript} (single Redis, Sentinel), else as one
   * burst of commands (command-burst.ts). A write that cannot be sent (an `expiresAt` that is not a whole number >= 1, a value
   * that is not bytes) fails alone. Per-write failures reject with `CacheBatchError` (the others were
   * applied); when the batch as a whole failed (connection down or lost), the client's error is
   * rethrown as is.
   *
   * With `durability`, the batch goes on the write connection and is followed there by WAIT (see
   * replica-wait.ts): writes it does not confirm fail with `CacheReplicaTimeoutError`.
   */
  async write(
    writes: readonly L2Write[],
    durability?: L2Durability,
  ): Promise<void | L2WriteReceipt> {
    if (writes.length === 0) return;
    if (durability !== undefined && !this.confirmsReplicas) {
      throw new CacheUnsupportedCommandError(
        'WAIT',
        this.description,
        'this store cannot confirm replicas (writeBehind.replicas)',
      );
    }
    const failures = new Map<number, unknown>();
    /** Batch index of each write sent. */
    const sent: number[] = [];
    const sendable: L2Write[] = [];
    writes.forEach((write, index) => {
      const problem = write.kind === 'set' ? invalidSet(write) : undefined;
      if (problem !== undefined && write.kind === 'set') {
        failures.set(index, unsentSetError(write, problem));
        return;
      }
      sent.push(index);
      sendable.push(write);
    });
    let receipt: L2WriteReceipt | undefined;
    if (sendable.length > 0) {
      const client = durability === undefined ? this.commandClient() : this.writeClient();
      const sentFailures =
        this.scripted && !releasesAny(sendable)
          ? await this.writeScripted(client, sendable)
          : await this.writeAsBurst(client, sendable);
      for (const [position, error] of sentFailures) failures.set(sent[position]!, error);
      if (durability !== undefined) {
        const waited = await waitForReplicas(client, durability, this.description);
        if (waited.shortfall !== undefined) failUnconfirmed(failures, sent, waited.shortfall);
        receipt = { replicaWaitMs: waited.waitMs };
      }
    }
    throwBatchFailures(failures, writes.length);
    return receipt;
  }

  /** DEL in chunks of 1,000 keys (one pipeline when there are several). Missing keys are fine. */
  async del(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const client = this.commandClient();
    if (keys.length <= REDIS_KEYS_PER_COMMAND) {
      try {
        await client.del([...keys]);
      } catch (error: unknown) {
        throw this.translateError('del', error);
      }
      return;
    }
    const pipeline = client.pipeline();
    for (const chunk of chunks(keys)) pipeline.del(chunk);
    const results = await pipeline.exec();
    for (const [error] of results ?? []) if (error) throw this.translateError('del', error);
  }

  /**
   * `SET key candidate NX PXAT expiresAt` then `GET key` for each request, as one pipeline: the two
   * commands of a key go to the same server (and, through twemproxy, the same shard) in order, so
   * the GET reads what the SET left. A key whose shard is unavailable gets its error.
   */
  async ensure(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]> {
    if (requests.length === 0) return [];
    const pipeline = this.commandClient().pipeline();
    for (const { key, candidate, expiresAt } of requests) {
      pipeline.set(key, candidate, ...expiryArgs(expiresAt, this.pxat), 'NX');
      pipeline.get(key);
    }
    const results = await pipeline.exec();
    return requests.map((request, i) => {
      const result = results?.[2 * i + 1];
      if (result === undefined) {
        return new CacheL2Error('ensure', 'the pipeline returned fewer replies than commands sent');
      }
      if (result[0]) return asError(this.translateError('ensure', result[0]));
      // Missing right after SET NX: expired in between (never for version keys); the candidate.
      return typeof result[1] === 'string' ? result[1] : request.candidate;
    });
  }

  /**
   * A real key round trip (SET with a 10 s TTL, GET, DEL of a `healthKeyPrefix` key), never PING.
   * @throws CacheL2Error (or the client's error) when Redis cannot serve it.
   */
  async healthCheck(): Promise<void> {
    await redisRoundTrip(this.commandClient(), this.healthKeyPrefix);
  }

  /**
   * Sends QUIT (waiting at most `quitTimeoutMs`, e.g. when the server is hung), then drops the
   * connection and stops reconnecting, leaving no socket or timer behind. Calls made afterwards
   * reject. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([
      closeRedisClient(this.client, { quitTimeoutMs: this.quitTimeoutMs }),
      this.writer === undefined
        ? undefined
        : closeRedisClient(this.writer, { quitTimeoutMs: this.quitTimeoutMs }),
    ]);
  }

  /** Script calls of up to 1,000 writes; a burst of commands when Redis refuses the script. */
  private async writeScripted(
    client: Redis,
    writes: readonly L2Write[],
  ): Promise<Map<number, unknown>> {
    const translate = (error: unknown): unknown => this.translateError('write', error);
    const outcome = await writeByScripts(client, writes, this.pxat, translate);
    if (outcome.refused === undefined) return outcome.failures;
    if (outcome.refused === 'command') this.scripted = false; // e.g. an ACL without +evalsha
    // Redis refused a call before running it (the command, or a key the ACL forbids), so none
    // of its writes was applied: send the batch as a burst, which reports each write alone.
    // Chunks whose scripts did run are sent again with it: the same writes in the same order.
    return this.writeAsBurst(client, writes);
  }

  private writeAsBurst(client: Redis, writes: readonly L2Write[]): Promise<Map<number, unknown>> {
    return writeByBurst(client, writes, this.pxat, (error) => this.translateError('write', error));
  }

  /**
   * The error a caller sees for `error`, which a command of `operation` met. As is here; the
   * twemproxy store turns the proxy's "shard unreachable" replies into a retryable error.
   */
  protected translateError(_operation: string, error: unknown): unknown {
    return error;
  }

  /** The client a call goes to. One client here; the twemproxy store picks among its proxies. */
  protected commandClient(): Redis {
    return this.client;
  }

  /** The client a batch that waits for replicas goes to (see {@link writer}). */
  protected writeClient(): Redis {
    return this.writer ?? this.commandClient();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
