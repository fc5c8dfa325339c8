import { createClient } from '@keyv/redis';
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

/** node-redis (`@redis/client`, as re-exported by @keyv/redis), which pipelines on its own. */
export async function rawNodeRedis(url: string): Promise<{
  get(key: string): Promise<unknown>;
  close(): Promise<void>;
}> {
  const client = createClient({ url });
  await client.connect();
  return {
    get: (key) => client.get(key),
    close: async () => {
      await client.close();
    },
  };
}

/** Sends `keys` as GET pipelines of `size` commands, one pipeline at a time. */
export async function pipelinedGets(
  client: Redis | Cluster,
  keys: readonly string[],
  size = 1_000,
): Promise<void> {
  for (let start = 0; start < keys.length; start += size) {
    const pipeline = client.pipeline();
    for (const key of keys.slice(start, start + size)) pipeline.get(key);
    await pipeline.exec();
  }
}

/** Sends SET key value PX ttl as pipelines of `size` commands, one pipeline at a time. */
export async function pipelinedSets(
  client: Redis,
  keys: readonly string[],
  values: readonly string[],
  ttlMs: number,
  size = 1_000,
): Promise<void> {
  for (let start = 0; start < keys.length; start += size) {
    const pipeline = client.pipeline();
    const end = Math.min(keys.length, start + size);
    for (let i = start; i < end; i++) pipeline.set(keys[i]!, values[i]!, 'PX', ttlMs);
    await pipeline.exec();
  }
}
