import { Redis } from 'ioredis';
import { cacheTokens } from '../../../lib/cache.tokens.js';
import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import type { InvalidationBus } from '../../../lib/invalidation/invalidation-bus.js';
import type { DistributedCacheModuleOptions } from '../../../lib/options/cache-options.interface.js';
import { RecordingLogger, startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { waitFor, waitForValue } from '../../support/poll.js';
import { RedisServer } from '../../support/redis-server.js';

let redis: RedisServer;
let client: Redis;
const apps: CacheApp[] = [];

async function instance(options: DistributedCacheModuleOptions = {}): Promise<CacheApp> {
  const app = await startCacheApp({
    l2: { type: 'redis', url: redis.url },
    namespace: 'shop',
    ...options,
  });
  apps.push(app);
  return app;
}

function busOf(app: CacheApp): InvalidationBus {
  return app.app.get<InvalidationBus>(cacheTokens(undefined).bus);
}

beforeAll(async () => {
  redis = await RedisServer.start();
  client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  await client.connect();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await client.flushall();
});

afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe('InvalidationBus on a single Redis', () => {
  it('is subscribed once start-up returns, without warning that it is not connected', async () => {
    // Five starts: the SUBSCRIBE reply used to come after start-up returned in most of them.
    for (let i = 0; i < 5; i++) {
      const logger = new RecordingLogger();
      const app = await startCacheApp(
        { l2: { type: 'redis', url: redis.url }, namespace: 'shop' },
        logger,
      );
      apps.push(app);
      expect(busOf(app).connected).toBe(true);
      expect(logger.lines.filter((line) => line.includes('not connected'))).toEqual([]);
    }
  });

  it("drops another instance's L1 copy after set, del, invalidateTags and clear land", async () => {
    const a = await instance();
    const b = await instance();
    await a.cache.set('k', 'v1', { tags: ['t'] });
    await a.cache.flush();
    await waitFor(() => busOf(b).stats.received >= 1, { message: 'B to hear of the first write' });
    // The lag of each message, from its send time: a few ms on loopback, never negative.
    const lag = busOf(b).stats.lagMsTotal / busOf(b).stats.received;
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(1_000);
    expect(await b.cache.get('k')).toBe('v1');
    expect(await b.cache.get('k')).toBe('v1');
    expect(b.cache.stats().l1Hits).toBe(1);
    // B read 'k' from L2 once: one L2 read, with its duration.
    expect(b.cache.stats().l2Reads).toBe(1);
    expect(b.cache.stats().l2ReadMsTotal).toBeGreaterThan(0);

    await a.cache.set('k', 'v2', { tags: ['t'] });
    await waitForValue(() => b.cache.get('k'), 'v2');

    await a.cache.del('k');
    await waitForValue(() => b.cache.get('k'), undefined);

    await a.cache.set('k', 'v3', { tags: ['t'] });
    await waitForValue(() => b.cache.get('k'), 'v3');
    await a.cache.invalidateTags(['t']);
    await waitForValue(() => b.cache.get('k'), undefined);

    await a.cache.set('k', 'v4');
    await waitForValue(() => b.cache.get('k'), 'v4');
    await a.cache.clear();
    await waitForValue(() => b.cache.get('k'), undefined);
    // B learnt the new namespace version from the message: what it writes now is visible to A.
    await b.cache.set('k', 'from b');
    await waitForValue(() => a.cache.get('k'), 'from b');
  });

  it('ignores its own messages, keeping its own fresh L1 copies', async () => {
    const a = await instance();
    await a.cache.set('k', 'v');
    await a.cache.flush();
    await waitFor(() => busOf(a).stats.published >= 1, { message: 'A to publish' });
    expect(await a.cache.get('k')).toBe('v');
    expect(a.cache.stats()).toMatchObject({ l1Hits: 1, l2Hits: 0 });
    expect(busOf(a).stats.received).toBe(0);
  });

  it('sends one small message per flushed batch, carrying keys and no values', async () => {
    const a = await instance({ writeBehind: { flushIntervalMs: 50 } });
    const listener = client.duplicate();
    const messages: string[] = [];
    listener.on('message', (_channel: string, message: string) => messages.push(message));
    await listener.subscribe('shop:invalidate');
    for (let i = 0; i < 300; i++) await a.cache.set(`key${i}`, { secret: `value-${i}` });
    await a.cache.flush();
    await waitFor(() => messages.length >= 1, { message: 'a message' });
    await a.cache.set('one-more', 1);
    await a.cache.flush();
    await waitFor(() => messages.length >= 2, { message: 'a second message' });
    listener.disconnect();
    expect(messages).toHaveLength(2);
    const first = JSON.parse(messages[0]!) as { k: string[] };
    expect(first.k).toHaveLength(300);
    expect(messages[0]).not.toContain('value-');
  });

  it('leaves instances of another namespace alone, and ignores malformed messages', async () => {
    const a = await instance();
    const other = await instance({
      namespace: 'blog',
      invalidation: { channel: 'shop:invalidate' },
    });
    await other.cache.set('k', 'blog value');
    await other.cache.flush();
    await a.cache.set('k', 'shop value');
    await a.cache.flush();
    for (const junk of ['not json', '{"v":1}', '{"v":1,"ns":"blog","src":"x","k":[1]}', '[]']) {
      await client.publish('shop:invalidate', junk);
    }
    await waitFor(() => busOf(other).stats.ignored >= 5, { message: 'messages to be ignored' });
    expect(await other.cache.get('k')).toBe('blog value');
    expect(other.cache.stats()).toMatchObject({ l1Hits: 1, l2Hits: 0 });
  });

  it('drops L1 when its bus connection comes back, so a message lost meanwhile leaves nothing stale', async () => {
    const a = await instance({ writeBehind: { flushIntervalMs: 1 } });
    const b = await instance({ l1: { ttl: '5s' } });
    await a.cache.set('k', 'v1');
    await a.cache.flush();
    await waitFor(() => busOf(b).stats.received === 1, { message: 'B to hear of v1' });
    expect(await b.cache.get('k')).toBe('v1');
    expect(await b.cache.get('k')).toBe('v1');
    expect(b.cache.stats().l1Hits).toBe(1);

    // Cut B's subscriber connection (pub/sub clients only) and write on A while B is away: the
    // message about v2 is lost (B reconnects after 50 ms at the earliest).
    await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await a.cache.set('k', 'v2');
    await a.cache.flush();
    await waitFor(() => busOf(a).stats.published === 2, { message: 'A to publish v2' });

    const ms = await waitForValue(() => b.cache.get('k'), 'v2', { timeoutMs: 5_000 });
    expect(busOf(b).stats.received).toBe(1);
    expect(busOf(b).stats.resubscribes).toBe(1);
    // Documented bound: l1.ttl (5 s here); in practice the reconnect time.
    expect(ms).toBeLessThan(5_000);
  });

  it('fails start-up on twemproxy without a direct bus connection, naming invalidation.url', async () => {
    const error = await startCacheApp({
      l2: { type: 'twemproxy', host: '127.0.0.1', port: 1 },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CacheOptionsError);
    expect((error as CacheOptionsError).option).toBe('invalidation.url');
    expect((error as Error).message).toMatch(/twemproxy has no pub\/sub/);
  });
});
