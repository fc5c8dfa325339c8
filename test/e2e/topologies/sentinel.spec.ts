import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { delay, waitFor } from '../../support/poll.js';
import {
  RedisSentinelGroup,
  SENTINEL_MASTER_NAME,
  type FailoverResult,
} from '../../support/redis-sentinel.js';

/**
 * The full cache (Nest module, write-behind) on Sentinel through a failover, both kinds: the
 * cache follows the new master within seconds, the value written last before the failover reads
 * back from the new master, and writes queued while the master was switching are flushed to it.
 */
const NAMESPACE = 'sn';

/** Set SHOW_TIMINGS=1 to print the measured figures. */
const showTimings = process.env['SHOW_TIMINGS'] === '1';
const report = (what: string): void => {
  if (showTimings) console.info(what);
};

let group: RedisSentinelGroup;
const apps: CacheApp[] = [];

async function instance(options: Parameters<typeof startCacheApp>[0] = {}): Promise<CacheApp> {
  const app = await startCacheApp({
    namespace: NAMESPACE,
    l2: { type: 'sentinel', sentinels: group.sentinelNodes, name: SENTINEL_MASTER_NAME },
    l2TimeoutMs: 200,
    writeBehind: { retryMaxDelayMs: 200 },
    ...options,
  });
  apps.push(app);
  return app;
}

beforeEach(async () => {
  group = await RedisSentinelGroup.start();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await group.stop();
});

describe('CacheService on Sentinel', () => {
  it.each<[string, () => Promise<FailoverResult>]>([
    ['SENTINEL FAILOVER', () => group.failover()],
    ['the master killed with kill -9', () => group.killMaster()],
  ])(
    'after %s: follows the new master, keeps the last value, flushes the writes queued meanwhile',
    async (trigger, failover) => {
      const { cache } = await instance();
      await cache.set('last', 'written before the failover');
      await cache.flush();
      const master = await group.master();
      // Replication is asynchronous: make sure the replica has it before the master goes away.
      const replica = group.servers.find((server) => server !== master)!;
      await waitFor(async () => (await replica.cli('EXISTS', `${NAMESPACE}:last`)) === '1', {
        message: 'the replica to hold the last value',
      });

      const failing = failover();
      // Writes keep coming while the master switches: they queue and are retried.
      let queued = 0;
      let done = false;
      void failing.finally(() => (done = true));
      while (!done) {
        await cache.set(`during:${queued}`, queued);
        queued++;
        await delay(20);
      }
      const result = await failing;
      const switchedAt = performance.now();
      await cache.set('after', 'written after the failover');
      await cache.flush(10_000);
      report(
        `${trigger}: new master after ${result.ms.toFixed(0)} ms, cache flushed to it ` +
          `${(performance.now() - switchedAt).toFixed(0)} ms later; ${queued} writes made meanwhile`,
      );
      expect(result.master).not.toBe(result.previous);
      expect(cache.stats().dropped).toBe(0);

      // Read back through a fresh instance without L1: everything comes from the new master.
      const reader = await instance({ l1: false });
      expect(await reader.cache.get('last')).toBe('written before the failover');
      expect(await reader.cache.get('after')).toBe('written after the failover');
      const keys = Array.from({ length: queued }, (_, i) => `during:${i}`);
      expect(await reader.cache.mget<number>(keys)).toEqual(keys.map((_, i) => i));
      expect(await result.master.cli('EXISTS', `${NAMESPACE}:after`)).toBe('1');
    },
  );
});
