import { Redis } from 'ioredis';
import { CacheL2TimeoutError } from '../../lib/errors/l2.errors.js';
import { REASSERT_DELAY_MS } from '../../lib/write-behind/follow-ups.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { delay, waitFor } from '../support/poll.js';
import { RedisServer } from '../support/redis-server.js';

/**
 * The write-behind queue's bounds while Redis hangs (SIGSTOP): `maxPending` holds for queued and
 * in-flight writes alike and keeps the newest writes (issue 12, part 2), and no caller waits
 * longer than `l2TimeoutMs` for a delete, a clear or a write-through set (part 5b).
 */
const L2_TIMEOUT_MS = 200;

let redis: RedisServer;
let client: Redis;
const apps: CacheApp[] = [];

async function instance(options: Parameters<typeof startCacheApp>[0]): Promise<CacheApp> {
  const app = await startCacheApp({
    l2: { type: 'redis', url: redis.url },
    l2TimeoutMs: L2_TIMEOUT_MS,
    invalidation: { enabled: false },
    ...options,
  });
  apps.push(app);
  return app;
}

/** Resolves on the next turn of the event loop, as a server handling requests would. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

beforeAll(async () => {
  redis = await RedisServer.start();
  client = new Redis({ port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
});

afterEach(async () => {
  await redis.resume();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await client.flushall();
});

afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe('WriteBehindFlusher bounds with Redis hung (SIGSTOP)', () => {
  it("keeps exactly the newest maxPending writes, in flight or queued, with 'drop-oldest'", async () => {
    const maxPending = 1_000;
    const { cache } = await instance({
      namespace: 'newest',
      // Retried quickly, so that later batches are in flight to the hung server too.
      writeBehind: { maxPending, overflow: 'drop-oldest', retryMaxDelayMs: 100 },
    });
    // A batch in flight to the hung server: queued, then sent, then stuck in its socket.
    await redis.pause();
    for (let i = 0; i < maxPending; i++) await cache.set(`k${i}`, i);
    await delay(100); // flushIntervalMs is 20: the batch has gone out
    expect(cache.stats()).toMatchObject({ pending: maxPending, flushed: 0 });
    let highest = 0;
    const total = 20_000;
    for (let i = maxPending; i < total; i++) {
      await cache.set(`k${i}`, i);
      highest = Math.max(highest, cache.stats().pending);
      if (i % 10 === 0) await nextTurn();
    }
    expect(highest).toBeLessThanOrEqual(maxPending);
    expect(cache.stats().dropped).toBe(total - maxPending);
    await delay(1_500); // the in-flight batches time out (1 s) and are retried meanwhile
    expect(cache.stats().pending).toBeLessThanOrEqual(maxPending);

    await redis.resume();
    await cache.flush(10_000);
    // Redis ran the stuck batches when it resumed; the deletes that follow undo the dropped ones.
    await waitFor(async () => (await client.keys('newest:*')).length === maxPending, {
      timeoutMs: 5_000,
      message: 'Redis to hold exactly maxPending keys',
    });
    await delay(600); // past the re-assertion of writes that met the hang
    const keys = await client.keys('newest:*');
    const kept = keys.map((key) => Number(key.slice('newest:k'.length))).sort((a, b) => a - b);
    expect(kept).toEqual(Array.from({ length: maxPending }, (_, i) => total - maxPending + i));
    expect(cache.stats().pending).toBe(0);
  }, 30_000);

  it("keeps the newest maxPending writes after several batches in flight failed as a whole, with 'drop-oldest'", async () => {
    const maxPending = 300;
    const { cache } = await instance({
      namespace: 'order',
      writeBehind: { maxPending, maxBatchSize: 100, overflow: 'drop-oldest' },
    });
    await redis.pause();
    // One drain sends three batches (100, 100, 50) to the hung server; they time out together
    // (1 s) and go back to the queue, which must stay in call order.
    for (let i = 0; i < 250; i++) await cache.set(`k${i}`, i);
    await delay(1_100);
    for (let i = 250; i < 400; i++) await cache.set(`k${i}`, i);
    await redis.resume();
    await cache.flush(10_000);
    await delay(REASSERT_DELAY_MS * 2);
    const kept = (await client.keys('order:k*'))
      .map((key) => Number(key.slice('order:k'.length)))
      .sort((a, b) => a - b);
    expect(kept).toEqual(Array.from({ length: maxPending }, (_, i) => 400 - maxPending + i));
  }, 30_000);

  it("undoes writes dropped while they wait for a retry though their timed-out attempt may still land, with 'drop-oldest'", async () => {
    const maxPending = 300;
    const { cache } = await instance({
      namespace: 'waiting',
      writeBehind: { maxPending, maxBatchSize: 100, overflow: 'drop-oldest' },
      // The batch that times out opens the breaker: its writes then wait in the queue (not in
      // flight) when newer writes push them out, while their first attempt sits in the hung
      // server's socket and runs when it resumes.
      circuitBreaker: { failureThreshold: 1, cooldownMs: 1_500 },
    });
    await redis.pause();
    for (let i = 0; i < 250; i++) await cache.set(`k${i}`, i);
    await delay(1_200);
    expect(cache.stats().breaker).toBe('open');
    for (let i = 250; i < 400; i++) await cache.set(`k${i}`, i);
    expect(cache.stats().dropped).toBe(100);
    await redis.resume();
    await cache.flush(10_000);
    await delay(REASSERT_DELAY_MS * 2);
    const kept = (await client.keys('waiting:k*'))
      .map((key) => Number(key.slice('waiting:k'.length)))
      .sort((a, b) => a - b);
    expect(kept).toEqual(Array.from({ length: maxPending }, (_, i) => 400 - maxPending + i));
  }, 30_000);

  it("keeps the same bound with 'reject', refusing the writes past it", async () => {
    const maxPending = 500;
    const { cache } = await instance({
      namespace: 'refuse',
      writeBehind: { maxPending, maxBatchSize: 100, overflow: 'reject' },
    });
    await redis.pause();
    let refused = 0;
    let highest = 0;
    for (let i = 0; i < 2_000; i++) {
      await cache.set(`k${i}`, i).catch(() => refused++);
      highest = Math.max(highest, cache.stats().pending);
      if (i % 10 === 0) await nextTurn();
    }
    expect(highest).toBe(maxPending);
    expect(refused).toBe(2_000 - maxPending);
    await redis.resume();
    await cache.flush(10_000);
    const keys = await client.keys('refuse:*');
    expect(keys).toHaveLength(maxPending);
    // The writes accepted are the first ones: reject keeps what it accepted and refuses the rest.
    const kept = keys.map((key) => Number(key.slice('refuse:k'.length))).sort((a, b) => a - b);
    expect(kept).toEqual(Array.from({ length: maxPending }, (_, i) => i));
  }, 30_000);

  it('answers del(), clear() and invalidateTags() within l2TimeoutMs, behind a batch in flight, and applies them once Redis resumes', async () => {
    const { cache } = await instance({ namespace: 'bounded' });
    await cache.set('gone', 'v');
    await cache.set('tagged', 'v', { tags: ['t'] });
    await cache.flush();
    await redis.pause();
    // A write batch in flight to the hung server (its own timeout is at least 1 s).
    for (let i = 0; i < 100; i++) await cache.set(`busy${i}`, i);
    await delay(50);
    const timings: Record<string, number> = {};
    const timed = async (name: string, call: () => Promise<void>): Promise<void> => {
      const started = performance.now();
      await call();
      timings[name] = Math.round(performance.now() - started);
    };
    await timed('del', () => cache.del('gone'));
    await timed('invalidateTags', () => cache.invalidateTags(['t']));
    await timed('clear', () => cache.clear());
    console.log(`Calls answered with Redis hung (l2TimeoutMs ${L2_TIMEOUT_MS}):`, timings);
    for (const ms of Object.values(timings)) expect(ms).toBeLessThan(L2_TIMEOUT_MS + 100);
    expect(await cache.get('gone')).toBeUndefined();

    await redis.resume();
    await cache.flush(10_000);
    expect(await client.exists('bounded:gone')).toBe(0);
    const reader = await instance({ namespace: 'bounded', l1: false });
    expect(await reader.cache.get('tagged')).toBeUndefined();
    expect(await reader.cache.get('busy1')).toBeUndefined(); // cleared after it was written
    await cache.set('after', 1);
    await cache.flush();
    expect(await reader.cache.get('after')).toBe(1);
  }, 30_000);

  it('rejects a write-through set() within l2TimeoutMs with Redis hung, and lands it once Redis resumes', async () => {
    const { cache } = await instance({
      namespace: 'through',
      writeBehind: { enabled: false },
    });
    await redis.pause();
    const started = performance.now();
    const error: unknown = await cache.set('k', 'v').then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - started;
    expect(error).toBeInstanceOf(CacheL2TimeoutError);
    expect(ms).toBeLessThan(L2_TIMEOUT_MS + 100);
    await redis.resume();
    await cache.flush(10_000);
    expect(await client.exists('through:k')).toBe(1);
  }, 30_000);
});
