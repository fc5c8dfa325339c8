import { Redis } from 'ioredis';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { delay, waitFor } from '../support/poll.js';
import { RedisSentinelGroup, SENTINEL_MASTER_NAME } from '../support/redis-sentinel.js';
import { RedisServer } from '../support/redis-server.js';

/**
 * What was sent is not undone (issue 12, part 5): a set whose batch went to a Redis that then hung
 * is still in that server's socket, and runs when the server resumes, possibly after a delete of
 * the key that went over a newer connection. Set-then-del must never bring the key back.
 */
const L2_TIMEOUT_MS = 200;
const apps: CacheApp[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** Polls for `ms` that `exists()` stays false; returns how often it was true. */
async function resurrections(exists: () => Promise<boolean>, ms: number): Promise<number> {
  let seen = 0;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await exists()) seen++;
    await delay(20);
  }
  return seen;
}

describe('set-then-del across a hung Redis', () => {
  let redis: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new Redis({ port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
  });

  afterAll(async () => {
    await redis.resume();
    client.disconnect();
    await redis.stop();
  });

  it('never resurrects a key whose set was stuck in the socket of a server that hung, when the delete went over a new connection', async () => {
    const app = await startCacheApp({
      namespace: 'undead',
      // A short socket timeout: the client gives up on the hung connection and opens a new one.
      l2: { type: 'redis', url: redis.url, redis: { socketTimeout: 500 } },
      l2TimeoutMs: L2_TIMEOUT_MS,
      invalidation: { enabled: false },
      writeBehind: { retryMaxDelayMs: 100 },
    });
    apps.push(app);
    const { cache } = app;
    const connectionsBefore = Number(
      /total_connections_received:(\d+)/.exec(await redis.cli('INFO', 'stats'))?.[1],
    );
    // Megabytes stuck in the socket: Redis reads them in 16 KB chunks after it resumes, between
    // which it serves other connections, so the delete can run before the stuck sets do.
    const keys = Array.from({ length: 2_000 }, (_, i) => `k${i}`);
    const stuck = 'x'.repeat(2_048);
    await redis.pause();
    for (const key of keys) await cache.set(key, stuck);
    await delay(100); // the batch is written to the hung server's socket
    await delay(700); // the client's socket timeout drops that connection; it reconnects
    const started = performance.now();
    await cache.del(keys);
    expect(performance.now() - started).toBeLessThan(L2_TIMEOUT_MS + 100);
    await redis.resume();
    await cache.flush(10_000);
    const connectionsAfter = Number(
      /total_connections_received:(\d+)/.exec(await redis.cli('INFO', 'stats'))?.[1],
    );
    // The delete went over another connection than the stuck set.
    expect(connectionsAfter).toBeGreaterThan(connectionsBefore);
    const seen = await resurrections(
      async () => (await client.exists(...keys.map((key) => `undead:${key}`))) > 0,
      1_500,
    );
    expect(seen).toBe(0);
    // The cache still works: a new write lands and reads back.
    await cache.set('k0', 'alive');
    await cache.flush();
    expect(await client.exists('undead:k0')).toBe(1);
  }, 30_000);
});

describe('set-then-del across a Sentinel failover', () => {
  let group: RedisSentinelGroup;

  beforeAll(async () => {
    group = await RedisSentinelGroup.start();
  });

  afterAll(async () => {
    for (const server of group.servers) await server.resume().catch(() => undefined);
    await group.stop();
  });

  it('never resurrects a key whose set went to the old master, when the delete went to the new one', async () => {
    const app = await startCacheApp({
      namespace: 'undead',
      l2: { type: 'sentinel', sentinels: group.sentinelNodes, name: SENTINEL_MASTER_NAME },
      l2TimeoutMs: L2_TIMEOUT_MS,
      writeBehind: { retryMaxDelayMs: 200 },
    });
    apps.push(app);
    const { cache } = app;
    const old = await group.master();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    await old.pause();
    for (const key of keys) await cache.set(key, 'sent to the old master');
    await delay(100);
    // The Sentinels find the master down and promote the replica.
    const promoted = await waitFor(
      async () => {
        const master = await group.master();
        return master !== old ? master : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, message: 'the Sentinels to promote the replica' },
    );
    await cache.del(keys);
    await cache.flush(10_000);
    await old.resume(); // runs what its socket held, then is turned into a replica of the new master
    const seen = await resurrections(
      async () => Number(await promoted.cli('EXISTS', ...keys.map((key) => `undead:${key}`))) > 0,
      3_000,
    );
    expect(seen).toBe(0);
    await cache.set('k0', 'alive');
    await cache.flush(10_000);
    expect(await promoted.cli('EXISTS', 'undead:k0')).toBe('1');
  }, 60_000);
});
