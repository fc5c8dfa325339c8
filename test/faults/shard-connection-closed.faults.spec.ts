import { randomUUID } from 'node:crypto';
import { CacheBatchError } from '../../lib/errors/l2.errors.js';
import type { CacheEvent } from '../../lib/events/cache-event.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { waitFor } from '../support/poll.js';
import { respCommand } from '../support/resp.js';
import type { RedisServer } from '../support/redis-server.js';
import { Twemproxy } from '../support/twemproxy.js';

/**
 * A shard that closes the proxy's connection while a write is in flight on it (a shard shut down,
 * or `CLIENT KILL` of the proxy's connection, after it read the command). nutcracker answers such a
 * command with `ERR unknown`: it cannot tell whether it ran. The write must be retried and land,
 * never be dropped as refused by Redis; the other shards' writes land meanwhile.
 *
 * The fault is made on a real shard: `CLIENT PAUSE WRITE` holds the SETs it has read, then
 * `CLIENT KILL` closes the proxy's connections to it (no error code: nutcracker's `ERR unknown`).
 */
const NAMESPACE = 'closedshard';
const KEYS = 60;
/** nutcracker's wait for a shard: longer than the fault's set-up, so that it never times out. */
const PROXY_TIMEOUT_MS = 5_000;
/** The pause on the shard; the test unpauses it itself once the connections are killed. */
const PAUSE_MS = 10_000;
/** Write-behind flush interval (the default). */
const FLUSH_INTERVAL_MS = 20;
/** Bound for the other shards' writes to be in Redis while the victim holds its writes. */
const HEALTHY_LAND_MS = 1_000;

const redisKey = (key: string): string => `${NAMESPACE}:${key}`;

describe('CacheService on twemproxy when a shard closes the proxy connection mid-write', () => {
  let proxy: Twemproxy;
  let app: CacheApp;

  beforeAll(async () => {
    proxy = await Twemproxy.start({ shards: 3, timeoutMs: PROXY_TIMEOUT_MS });
  });
  afterAll(async () => {
    await proxy.stop();
  });
  beforeEach(async () => {
    app = await startCacheApp({
      namespace: NAMESPACE,
      l2: { type: 'twemproxy', host: proxy.host, port: proxy.port },
      // One instance: no bus needed (twemproxy has no pub/sub).
      invalidation: { enabled: false },
      // Longer than the fault's set-up: the batch holding the victim's writes must still be
      // waiting for its answer when the connections are killed (a batch that timed out first
      // ignores nutcracker's late answers).
      l2TimeoutMs: 2_000,
      writeBehind: {
        flushIntervalMs: FLUSH_INTERVAL_MS,
        retryBaseDelayMs: 50,
        retryMaxDelayMs: 200,
      },
    });
  });
  afterEach(async () => {
    await app.close();
  });

  it('retries the writes nutcracker answers "ERR unknown" and lands the newest values; other shards land at once', async () => {
    const { cache } = app;
    const keys = Array.from({ length: KEYS }, (_, i) => `k:${randomUUID()}:${i}`);
    // Where each key lives, from a first write of every key.
    await cache.mset(keys.map((key) => ({ key, value: { v: 0 } })));
    await cache.flush();
    const victim = proxy.shards[0]!;
    const byShard = await proxy.keysByShard(keys.map(redisKey));
    const onVictim = new Set(byShard.get(victim) ?? []);
    const held = keys.filter((key) => onVictim.has(redisKey(key)));
    const healthy = keys.filter((key) => !onVictim.has(redisKey(key)));
    expect(held.length).toBeGreaterThan(0);
    expect(healthy.length).toBeGreaterThan(0);

    const events: CacheEvent[] = [];
    const subscription = cache.events$.subscribe((event) => events.push(event));
    await victim.cli('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    try {
      for (const key of keys) await cache.set(key, { v: 1 });
      // A client blocked (flags=b) on a SET: the proxy's connection, holding this batch's write.
      await waitFor(async () => /flags=b\b.*cmd=set\b/.test(await clientList(victim)), {
        timeoutMs: 2_000,
        message: 'the victim to hold a SET read from the proxy',
      });
      await killProxyConnections(victim);
      await waitFor(() => Promise.resolve(events.some(isUnknownOutcome)), {
        timeoutMs: 2_000,
        message: 'nutcracker to answer a held write with "ERR unknown"',
      });
      // While the victim still holds its writes: the other shards took theirs, and L1 serves the
      // newest values.
      await waitFor(() => allHold(proxy, healthy, 1), {
        timeoutMs: HEALTHY_LAND_MS,
        message: 'the other shards to hold their writes while the victim is paused',
      });
      for (const key of held) expect(await cache.get(key)).toEqual({ v: 1 });
      await victim.cli('CLIENT', 'UNPAUSE');
      await cache.flush(5_000);
      // Every held write landed: none dropped as refused.
      expect(await allHold(proxy, held, 1)).toBe(true);
      expect(events.filter((event) => event.type === 'drop')).toEqual([]);
      expect(cache.stats().dropped).toBe(0);
    } finally {
      subscription.unsubscribe();
      await victim.cli('CLIENT', 'UNPAUSE');
    }
  });
});

/** Whether every key holds `{ v }` in its shard (asked of the shards directly). */
async function allHold(proxy: Twemproxy, keys: readonly string[], v: number): Promise<boolean> {
  const byShard = await proxy.keysByShard(keys.map(redisKey));
  if (byShard.has(undefined)) return false;
  for (const [shard, found] of byShard) {
    for (const key of found) {
      const raw = await respCommand(shard!.port, ['GET', key]);
      if (typeof raw !== 'string' || !raw.includes(`{"v":${v}}`)) return false;
    }
  }
  return true;
}

/** `CLIENT LIST` of `shard`. */
async function clientList(shard: RedisServer): Promise<string> {
  const reply = await respCommand(shard.port, ['CLIENT', 'LIST']);
  return typeof reply === 'string' ? reply : '';
}

/** Closes every client connection to `shard` but the caller's: the proxy's among them. */
async function killProxyConnections(shard: RedisServer): Promise<void> {
  await respCommand(shard.port, ['CLIENT', 'KILL', 'SKIPME', 'yes', 'TYPE', 'normal']);
}

/** An event about writes whose outcome nutcracker could not tell (retried, or dropped). */
function isUnknownOutcome(event: CacheEvent): boolean {
  return (event.type === 'flush-error' || event.type === 'drop') && mentionsUnknown(event.error);
}

function mentionsUnknown(error: unknown): boolean {
  if (error instanceof CacheBatchError) return error.errors.some(mentionsUnknown);
  if (!(error instanceof Error)) return false;
  return /ERR unknown/.test(error.message) || mentionsUnknown(error.cause);
}
