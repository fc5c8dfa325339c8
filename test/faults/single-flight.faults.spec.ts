import type { CacheEvent } from '../../lib/events/cache-event.js';
import type { DistributedCacheModuleOptions } from '../../lib/options/cache-options.interface.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { waitFor } from '../support/poll.js';
import { RedisServer } from '../support/redis-server.js';

/**
 * Distributed single-flight under faults: a factory slower than the lease, a factory that throws,
 * and Redis hung or down. Each test checks what must keep working: one run where one is
 * promised, callers answered, no lock left behind, and bounded time.
 */
const apps: CacheApp[] = [];
let redis: RedisServer;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const uniqueKey = (name: string): string => `${name}:${Math.random().toString(36).slice(2)}`;

async function instances(
  count: number,
  options: Partial<DistributedCacheModuleOptions> = {},
): Promise<CacheApp[]> {
  const started: CacheApp[] = [];
  for (let i = 0; i < count; i++) {
    started.push(
      await startCacheApp({
        namespace: 'sf-faults',
        l2: { type: 'redis', url: redis.url },
        ...options,
      }),
    );
  }
  apps.push(...started);
  return started;
}

/** The lock keys Redis holds now (`<namespace>|l:...`). */
async function lockKeys(): Promise<string[]> {
  return (await redis.cli('KEYS', 'sf-faults|l:*')).split('\n').filter(Boolean);
}

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  await redis.resume().catch(() => undefined);
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  await redis.stop();
});

describe('getOrSet({ lock: true }) under faults', () => {
  it('keeps one holder through renewals when the factory outlasts the lease', async () => {
    const leaseMs = 800;
    const factoryMs = 2_500;
    const [a, b, c] = await instances(3, { lock: { leaseMs } });
    const events: CacheEvent[] = [];
    for (const app of [a!, b!, c!]) app.cache.events$.subscribe((event) => events.push(event));
    const key = uniqueKey('slow');
    let runs = 0;
    const factory = async (): Promise<string> => {
      runs++;
      await sleep(factoryMs);
      return 'slow value';
    };
    const values = await Promise.all(
      [a!, b!, c!].flatMap((app) =>
        Array.from({ length: 20 }, () => app.cache.getOrSet(key, factory, { lock: true })),
      ),
    );
    expect(runs).toBe(1);
    expect(new Set(values)).toEqual(new Set(['slow value']));
    expect(events.filter((event) => event.type === 'lock-lost')).toHaveLength(0);
    expect([a!, b!, c!].reduce((sum, app) => sum + app.cache.stats().lockFallbacks, 0)).toBe(0);
  });

  it('releases the lock at once when the factory throws: a waiter takes over, nothing is cached', async () => {
    const [a, b] = await instances(2); // lease 30 s: nobody may wait it out
    const key = uniqueKey('throws');
    const failing = a!.cache.getOrSet(
      key,
      async () => {
        await sleep(300);
        throw new Error('origin down');
      },
      { lock: true },
    );
    failing.catch(() => undefined);
    await sleep(50); // a holds the lock
    const [lockKey] = await lockKeys();
    const heldByA = await redis.cli('GET', lockKey!);
    expect(heldByA).not.toBe('');
    const started = performance.now();
    let bRuns = 0;
    const waiting = b!.cache.getOrSet(
      key,
      async () => {
        bRuns++;
        await sleep(100);
        return 'second try';
      },
      { lock: true },
    );
    await expect(failing).rejects.toThrow('origin down');
    // The release is one command after the rejection: a's lock is gone right after. (The waiter
    // may already hold the key again: a's token is what must be gone, not the key.)
    await waitFor(async () => (await redis.cli('GET', lockKey!)) !== heldByA || undefined, {
      timeoutMs: 100,
      intervalMs: 5,
      message: "a's lock to be deleted",
    });
    await expect(waiting).resolves.toBe('second try');
    expect(bRuns).toBe(1);
    // The failing factory took 300 ms; the waiter's own 100, plus at most one 160 ms poll step.
    expect(performance.now() - started).toBeLessThan(300 + 100 + 200 + 200);
    expect(b!.cache.stats().lockFallbacks).toBe(0);
    // The error was not cached: a's next call runs its factory again.
    const other = uniqueKey('throws-again');
    let aRuns = 0;
    const flaky = async (): Promise<string> => {
      aRuns++;
      if (aRuns === 1) throw new Error('first call fails');
      return 'recovered';
    };
    await expect(a!.cache.getOrSet(other, flaky, { lock: true })).rejects.toThrow(
      'first call fails',
    );
    await expect(a!.cache.getOrSet(other, flaky, { lock: true })).resolves.toBe('recovered');
    expect(aRuns).toBe(2);
    expect(await lockKeys()).toEqual([]);
  });

  it.each([
    ['hung (SIGSTOP)', () => redis.pause()],
    ['down (stopped)', () => redis.kill()],
  ])(
    'falls back within l2TimeoutMs plus the factory time when Redis is %s, never throwing',
    async (_name, fault) => {
      const l2TimeoutMs = 250;
      const factoryMs = 100;
      const [a, b] = await instances(2, { l2TimeoutMs, lock: { leaseMs: 3_000 } });
      // Healthy first: hot keys are served from L1 during the fault.
      await a!.cache.set('hot', 'kept');
      await a!.cache.flush();
      await fault();
      let runs = 0;
      const factory = async (): Promise<string> => {
        runs++;
        await sleep(factoryMs);
        return 'local';
      };
      const keys = Array.from({ length: 5 }, (_, i) => uniqueKey(`fault-${i}`));
      const timed = [a!, b!].flatMap((app) =>
        keys.flatMap((key) =>
          Array.from({ length: 10 }, async () => {
            const started = performance.now();
            const value = await app.cache.getOrSet(key, factory, { lock: true });
            return { value, ms: performance.now() - started };
          }),
        ),
      );
      const results = await Promise.all(timed);
      const slowest = Math.max(...results.map((result) => result.ms));
      process.stdout.write(
        `[single-flight fault] slowest call ${slowest.toFixed(0)} ms (l2TimeoutMs ${l2TimeoutMs}, factory ${factoryMs})\n`,
      );
      for (const result of results) expect(result.value).toBe('local');
      expect(slowest).toBeLessThanOrEqual(l2TimeoutMs + factoryMs + 100);
      // One run per key per instance: the instance's own single-flight still holds.
      expect(runs).toBe(keys.length * 2);
      const fallbacks = a!.cache.stats().lockFallbacks + b!.cache.stats().lockFallbacks;
      expect(fallbacks).toBe(keys.length * 2);
      expect(await a!.cache.get('hot')).toBe('kept');
    },
  );
});
