import { Redis } from 'ioredis';
import { firstValueFrom, filter, toArray, takeUntil, Subject } from 'rxjs';
import type { CacheEvent } from '../../../lib/events/cache-event.js';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { waitFor } from '../../support/poll.js';
import { seededRandom, testSeed } from '../../support/random.js';
import { RedisServer } from '../../support/redis-server.js';

let redis: RedisServer;
let client: Redis;
const apps: CacheApp[] = [];

async function start(options: Parameters<typeof startCacheApp>[0]): Promise<CacheApp> {
  const app = await startCacheApp({ l2: { type: 'redis', url: redis.url }, ...options });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  redis = await RedisServer.start();
  client = new Redis({
    host: redis.host,
    port: redis.port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  await client.connect();
});

afterEach(async () => {
  await redis.resume();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  if (client.status === 'ready') await client.flushall();
});

afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe('CacheService on a real Redis', () => {
  describe('set()', () => {
    it('stores `${namespace}:${key}` with one SET per write, expiring at the time fixed by set()', async () => {
      const { cache } = await start({ namespace: 'shop' });
      await client.config('RESETSTAT');
      for (let i = 0; i < 50; i++) await cache.set(`p${i}`, { i }, { ttl: '10s' });
      await cache.flush();
      const pttl = await client.pttl('shop:p7');
      expect(pttl).toBeGreaterThan(9_000);
      expect(pttl).toBeLessThanOrEqual(10_000);
      const stats = await client.info('commandstats');
      // One SET per write, and one SET NX per batch that makes sure the namespace version key
      // exists (see the write-behind queue's version check).
      expect(stats).toMatch(new RegExp(`cmdstat_set:calls=${50 + cache.stats().batches},`));
      expect(stats).not.toMatch(/cmdstat_(p?expire|pexpireat|expireat):/);
    });

    it('round-trips every supported type exactly through Redis to another instance', async () => {
      const { cache: writer } = await start({ namespace: 'types' });
      const { cache: reader } = await start({ namespace: 'types', l1: false });
      const value = {
        text: 'héllo\n',
        num: -0,
        nan: Number.NaN,
        big: 2n ** 70n,
        when: new Date('2026-11-25T10:00:00.123Z'),
        map: new Map<unknown, unknown>([
          [1, 'one'],
          ['k', new Set([1, 2])],
        ]),
        set: new Set(['a', 'b']),
        buf: Buffer.from([0, 255, 10]),
        bytes: new Uint8Array([1, 2, 3]),
        nested: [{ deep: [null, true, undefined] }],
      };
      await writer.set('rich', value);
      await writer.set('null', null);
      await writer.flush();
      const read = await reader.get<typeof value>('rich');
      expect(read).toEqual(value);
      expect(Object.is(read!.num, -0)).toBe(true);
      expect(typeof read!.big).toBe('bigint');
      expect(read!.when).toBeInstanceOf(Date);
      expect(Buffer.isBuffer(read!.buf)).toBe(true);
      expect(Buffer.isBuffer(read!.bytes)).toBe(false);
      expect(read!.bytes).toBeInstanceOf(Uint8Array);
      expect(await reader.get('null')).toBeNull();
      expect(await reader.get('absent')).toBeUndefined();
    });

    it('reads a corrupt value written by someone else as a miss, and keeps serving other keys', async () => {
      const { cache } = await start({ namespace: 'corrupt' });
      await client.set('corrupt:bad', 'not an envelope');
      await client.set('corrupt:truncated', Buffer.from([0xdc, 1, 0, 0]));
      const errors = new Subject<void>();
      const seen = firstValueFrom(
        cache.events$.pipe(
          filter((e: CacheEvent) => e.type === 'error'),
          takeUntil(errors),
          toArray(),
        ),
      );
      expect(await cache.get('bad')).toBeUndefined();
      expect(await cache.get('truncated')).toBeUndefined();
      errors.next();
      expect((await seen).map((e) => (e as { key?: string }).key)).toEqual(['bad', 'truncated']);
      await cache.set('good', 1);
      expect(await cache.get('good')).toBe(1);
    });
  });

  describe('set() and del() interleaved', () => {
    it('leaves Redis in the state of the last call per key, over thousands of random operations', async () => {
      const seed = testSeed();
      const random = seededRandom(seed);
      const { cache } = await start({
        namespace: 'race',
        l2TimeoutMs: 1_000,
        writeBehind: { flushIntervalMs: 1, maxBatchSize: 7 },
      });
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
      const expected = new Map<string, number | undefined>();
      const inFlight: Array<Promise<void>> = [];
      for (let op = 0; op < 4_000; op++) {
        const key = keys[Math.floor(random() * keys.length)]!;
        const roll = random();
        if (roll < 0.55) {
          inFlight.push(cache.set(key, op));
          expected.set(key, op);
        } else {
          const deleting = cache.del(key);
          expected.set(key, undefined);
          if (roll < 0.8) await deleting;
          else inFlight.push(deleting);
        }
        // Let batches go out and deletes overtake them at random points.
        if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(inFlight);
      await cache.flush();
      const { cache: reader } = await start({ namespace: 'race', l1: false });
      for (const key of keys) {
        const stored = await reader.get(key);
        expect({ seed, key, stored }).toEqual({ seed, key, stored: expected.get(key) });
        expect({ seed, key, exists: await client.exists(`race:${key}`) }).toEqual({
          seed,
          key,
          exists: expected.get(key) === undefined ? 0 : 1,
        });
      }
    });
  });

  describe('app.close()', () => {
    it('drains 10,000 writes queued just before it into Redis', async () => {
      const app = await startCacheApp({
        l2: { type: 'redis', url: redis.url },
        namespace: 'drain',
        writeBehind: { flushIntervalMs: 60_000 },
      });
      for (let i = 0; i < 10_000; i++)
        await app.cache.set(`k${i}`, { i, payload: 'x'.repeat(100) });
      expect(app.cache.stats().pending).toBe(10_000);
      await app.close();
      expect(await client.keys('drain:*')).toHaveLength(10_000);
      const { cache: reader } = await start({ namespace: 'drain', l1: false });
      expect(await reader.mget(['k0', 'k5000', 'k9999'])).toEqual([
        { i: 0, payload: 'x'.repeat(100) },
        { i: 5000, payload: 'x'.repeat(100) },
        { i: 9999, payload: 'x'.repeat(100) },
      ]);
    });
  });

  describe('getOrSet()', () => {
    it('runs the factory once for 1,000 concurrent misses on Redis', async () => {
      const { cache } = await start({ namespace: 'flight' });
      let runs = 0;
      const results = await Promise.all(
        Array.from({ length: 1_000 }, () =>
          cache.getOrSet('hot', async () => {
            runs++;
            await new Promise((resolve) => setTimeout(resolve, 50));
            return { hot: true };
          }),
        ),
      );
      expect(runs).toBe(1);
      expect(results.every((r) => r.hot)).toBe(true);
      await cache.flush();
      expect(await client.exists('flight:hot')).toBe(1);
    });
  });

  describe('outage', () => {
    it('answers within l2TimeoutMs while Redis hangs (SIGSTOP), bounds the queue, and drains after SIGCONT', async () => {
      const { cache } = await start({
        namespace: 'hang',
        l2TimeoutMs: 200,
        writeBehind: { maxPending: 2_000, maxBatchSize: 100, retryMaxDelayMs: 200 },
      });
      const { cache: cold } = await start({ namespace: 'hang', l2TimeoutMs: 200, l1: false });
      await cache.set('warm', 'in L1');
      await cache.flush();

      const dropped = new Set<string>();
      const subscription = cache.events$.subscribe((e: CacheEvent) => {
        if (e.type === 'drop') dropped.add(e.key);
      });
      await redis.pause();
      let started = performance.now();
      expect(await cold.get('warm')).toBeUndefined();
      const coldMs = performance.now() - started;
      started = performance.now();
      expect(await cache.get('warm')).toBe('in L1');
      const warmMs = performance.now() - started;
      for (let i = 0; i < 5_000; i++) await cache.set(`k${i}`, i);
      const during = cache.stats();
      await redis.resume();

      expect(coldMs).toBeLessThan(200 + 150);
      expect(warmMs).toBeLessThan(5);
      expect(during.pending).toBeLessThanOrEqual(2_000);
      expect(during.dropped).toBe(3_000);
      await cache.flush(10_000);
      expect(cache.stats().pending).toBe(0);
      subscription.unsubscribe();
      // Every write not reported as dropped is in Redis with its value; the dropped ones are not.
      expect(dropped.size).toBe(3_000);
      const keys = Array.from({ length: 5_000 }, (_, i) => `k${i}`);
      const stored = await cold.mget(keys);
      const expected = keys.map((key, i) => (dropped.has(key) ? undefined : i));
      expect(stored).toEqual(expected);
    });

    it('misses fast while Redis is down (kill -9) and writes queued meanwhile land after restart', async () => {
      const { cache } = await start({ namespace: 'crash', l2TimeoutMs: 200, l1: false });
      await cache.set('before', 1);
      await cache.flush();
      await redis.kill();
      const started = performance.now();
      expect(await cache.get('before')).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(250);
      await cache.set('during', 2);
      await redis.restart();
      await cache.flush(10_000);
      await waitFor(async () => (await client.exists('crash:during')) === 1, {
        message: 'write to land after restart',
      });
      expect(await cache.get('during')).toBe(2);
      expect(cache.stats().l2Errors).toBeGreaterThan(0);
    });
  });
});
