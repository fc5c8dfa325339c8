import { Redis, type Cluster } from 'ioredis';
import { RedisCluster } from '../../test/support/redis-cluster.js';
import { waitFor } from '../../test/support/poll.js';
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

/** A Redis master with one replica of its own (scenario l). */
export interface ReplicatedRedis {
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** Stops the replica, then the master, by PID. */
  stop(): Promise<void>;
}

/**
 * A master (`--repl-diskless-sync-delay 0`, else the first sync waits 5 s) and a replica of it
 * (`--replicaof`); resolves once the master's INFO replication shows the replica online.
 */
export async function startReplicatedRedis(): Promise<ReplicatedRedis> {
  const master = await RedisServer.start({ args: ['--repl-diskless-sync-delay', '0'] });
  const untrackMaster = track({
    label: `redis-server ${master.port} (master)`,
    stop: () => master.stop(),
    killSync: () => master.killSync(),
  });
  const replica = await RedisServer.start({
    args: ['--replicaof', master.host, String(master.port)],
  });
  const untrackReplica = track({
    label: `redis-server ${replica.port} (replica)`,
    stop: () => replica.stop(),
    killSync: () => replica.killSync(),
  });
  await waitFor(
    async () => /^slave0:.*state=online/m.test(await master.cli('INFO', 'replication')),
    {
      timeoutMs: 10_000,
      intervalMs: 50,
      message: `the replica on port ${replica.port} to be online at the master on port ${master.port}`,
    },
  );
  progress(
    `redis-server master pid ${master.pid} on ${master.url}, replica pid ${replica.pid} on ${replica.url} (online)`,
  );
  return {
    master,
    replica,
    stop: async () => {
      // Untracked once stopped: a stop that throws leaves the server to stopAll().
      try {
        await replica.stop();
        untrackReplica();
      } finally {
        await master.stop();
        untrackMaster();
      }
    },
  };
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
