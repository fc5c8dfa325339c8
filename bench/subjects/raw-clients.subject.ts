import { createClient } from '@redis/client';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** Raw clients: the ceiling any Redis-backed cache can reach on this machine. */

/** A plain ioredis client (optionally auto-pipelined), connected. */
export async function rawIoredis(port: number, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, ...options });
  await client.connect();
  return client;
}

/** An ioredis Cluster client, connected (auto-pipelining groups commands per node). */
export async function rawCluster(
  seeds: ReadonlyArray<{ host: string; port: number }>,
): Promise<Cluster> {
  const cluster = new Cluster([...seeds], { enableAutoPipelining: true, lazyConnect: true });
  await cluster.connect();
  return cluster;
}

/** A connected raw node-redis client: the calls the scenarios time. */
export interface RawNodeRedis {
  /** GET, the reply as the string Redis holds (`null` when missing). */
  get(key: string): Promise<string | null>;
  /** SET key value PX ttlMs. */
  set(key: string, value: string, ttlMs: number): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The official node-redis client (`@redis/client` v5), connected. It pipelines on its own: the
 * commands issued before its next `setImmediate` go out in one corked socket write, with no
 * option to turn on.
 */
export async function rawNodeRedis(url: string): Promise<RawNodeRedis> {
  const client = createClient({ url });
  await client.connect();
  return {
    get: (key) => client.get(key),
    set: (key, value, ttlMs) =>
      client.set(key, value, { expiration: { type: 'PX', value: ttlMs } }),
    close: async () => {
      await client.close();
    },
  };
}

/** `JSON.parse` of a GET reply (`null` stays `null`): what a raw client does to read a value. */
export function parseReply(reply: string | null): unknown {
  return reply === null ? null : JSON.parse(reply);
}

/**
 * GETs gathered into MGETs, as the cache's read batcher gathers them, with nothing else of the
 * cache: a read made while no MGET is in flight leaves at once; the reads made meanwhile leave on
 * the next `process.nextTick`, in calls of at most `cap` keys; each call carries `extraKey` too
 * (the cache's carries its namespace version key). Each value is `JSON.parse`d. The floor of the
 * cache's read path on ioredis: what is left above it is the cache's own work per read.
 */
export function tickBatchedGets(
  client: Redis,
  extraKey: string,
  cap = 50,
): (key: string) => Promise<unknown> {
  let waiting: Array<{
    key: string;
    resolve: (value: unknown) => void;
    reject: (e: unknown) => void;
  }> = [];
  let scheduled = false;
  let inFlight = 0;
  const send = (part: typeof waiting): void => {
    inFlight++;
    client.mgetBuffer([...part.map((read) => read.key), extraKey]).then(
      (answers) => {
        inFlight--;
        part.forEach((read, i) => {
          const bytes = answers[i];
          read.resolve(bytes == null ? null : JSON.parse(bytes.toString('utf8')));
        });
      },
      (error: unknown) => {
        inFlight--;
        for (const read of part) read.reject(error);
      },
    );
  };
  const dispatch = (): void => {
    scheduled = false;
    const reads = waiting;
    waiting = [];
    const size = Math.ceil(reads.length / Math.ceil(reads.length / cap));
    for (let start = 0; start < reads.length; start += size) send(reads.slice(start, start + size));
  };
  return (key) =>
    new Promise((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      if (inFlight === 0 && !scheduled) dispatch();
      else if (!scheduled) {
        scheduled = true;
        process.nextTick(dispatch);
      }
    });
}

/** Sends `keys` as GET pipelines of `size` commands, one pipeline at a time; parses each reply. */
export async function pipelinedGets(
  client: Redis | Cluster,
  keys: readonly string[],
  size = 1_000,
): Promise<void> {
  for (let start = 0; start < keys.length; start += size) {
    const pipeline = client.pipeline();
    for (const key of keys.slice(start, start + size)) pipeline.get(key);
    const replies = await pipeline.exec();
    for (const [error, reply] of replies ?? []) {
      if (error) throw error;
      parseReply(reply as string | null);
    }
  }
}

/**
 * Sends SET key JSON.stringify(value) PX ttl as pipelines of `size` commands, one pipeline at a
 * time (encoding included, as a cache's set() encodes).
 */
export async function pipelinedSets(
  client: Redis,
  keys: readonly string[],
  values: readonly unknown[],
  ttlMs: number,
  size = 1_000,
): Promise<void> {
  for (let start = 0; start < keys.length; start += size) {
    const pipeline = client.pipeline();
    const end = Math.min(keys.length, start + size);
    for (let i = start; i < end; i++)
      pipeline.set(keys[i]!, JSON.stringify(values[i]), 'PX', ttlMs);
    await pipeline.exec();
  }
}
