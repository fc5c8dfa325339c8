import { Redis, type Cluster } from 'ioredis';
import { RedisCluster } from '../../test/support/redis-cluster.js';
import { RedisServer } from '../../test/support/redis-server.js';
import { Twemproxy } from '../../test/support/twemproxy.js';
import { progress } from './progress.js';

/** Something started by the bench that must be stopped at the end, also on Ctrl-C or a crash. */
interface Stoppable {
  readonly label: string;
  stop(): Promise<void>;
  /** Synchronous last resort (exit handlers cannot wait): SIGKILL by PID. */
  killSync(): void;
}

const live = new Set<Stoppable>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => {
    for (const item of live) item.killSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping the bench servers`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** Registers something to stop at the end (or on a signal, or at exit). */
export function track(item: Stoppable): () => void {
  installHooks();
  live.add(item);
  return () => live.delete(item);
}

/** Stops everything still registered, by PID. */
export async function stopAll(): Promise<void> {
  const items = [...live];
  live.clear();
  await Promise.all(
    items.map(async (item) => {
      try {
        await item.stop();
      } catch {
        item.killSync();
      }
    }),
  );
}

/** The single Redis every library is measured against. */
export async function startRedis(): Promise<RedisServer> {
  const server = await RedisServer.start();
  track({
    label: `redis-server ${server.port}`,
    stop: () => server.stop(),
    killSync: () => server.killSync(),
  });
  progress(`redis-server pid ${server.pid} on ${server.url}`);
  return server;
}

/** nutcracker over three redis-server shards (config from shared/REDIS-FACTS.md). */
export async function startTwemproxy(): Promise<Twemproxy> {
  const proxy = await Twemproxy.start({ shards: 3 });
  track({
    label: `nutcracker ${proxy.port}`,
    stop: () => proxy.stop(),
    killSync: () => proxy.killSync(),
  });
  progress(
    `nutcracker pid ${proxy.pid} on 127.0.0.1:${proxy.port} over shards ${proxy.shards.map((s) => s.port).join(', ')}`,
  );
  return proxy;
}

/** A 3-master Redis Cluster. */
export async function startCluster(): Promise<RedisCluster> {
  const cluster = await RedisCluster.start({ masters: 3 });
  track({
    label: 'redis cluster',
    stop: () => cluster.stop(),
    killSync: () => cluster.nodes.forEach((node) => node.killSync()),
  });
  progress(`redis cluster on ports ${cluster.nodes.map((n) => n.port).join(', ')}`);
  return cluster;
}

/** ioredis settings that work through twemproxy (shared/REDIS-FACTS.md). */
export const TWEMPROXY_CLIENT = {
  enableReadyCheck: false,
  disableClientInfo: true,
  protocol: 2,
} as const;

/** A plain ioredis client for the bench's own bookkeeping (flush, counting keys). */
export function adminClient(port: number): Redis {
  return new Redis({
    host: '127.0.0.1',
    port,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
  });
}

/**
 * How many of `keys` exist on one Redis server: multi-key EXISTS, 1,000 keys a command (each key
 * counted once). Only for a plain server (a twemproxy shard is one): twemproxy does not split a
 * multi-key EXISTS across shards and Cluster refuses cross-slot ones; see {@link countExistingEach}.
 */
export async function countExisting(client: Redis, keys: readonly string[]): Promise<number> {
  let found = 0;
  for (let start = 0; start < keys.length; start += 1_000) {
    found += await client.exists(...keys.slice(start, start + 1_000));
  }
  return found;
}

/**
 * How many of `keys` exist, one EXISTS per key (auto-pipelined by the client): works through any
 * topology client, Cluster included.
 */
export async function countExistingEach(
  client: Redis | Cluster,
  keys: readonly string[],
): Promise<number> {
  let found = 0;
  const chunk = 5_000;
  for (let start = 0; start < keys.length; start += chunk) {
    const replies = await Promise.all(
      keys.slice(start, start + chunk).map((key) => client.exists(key)),
    );
    for (const reply of replies) found += reply;
  }
  return found;
}
