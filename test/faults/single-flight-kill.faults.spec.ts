import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CacheEvent } from '../../lib/events/cache-event.js';
import type { DistributedCacheModuleOptions } from '../../lib/options/cache-options.interface.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { killAndWait } from '../support/processes.js';
import { RedisServer } from '../support/redis-server.js';

/**
 * The single-flight holder dies (kill -9, in a process of its own) while its factory runs. The
 * instances waiting for it must take over within the lease plus one poll, run the factory once
 * more (one run, not one per instance), and answer every caller with no error and no fallback.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const LEASE_MS = 1_500;
const WAIT_MS = 8_000;
const FACTORY_MS = 200;
/** Longest pause between two polls of a waiter (500 ms), jitter included. */
const MAX_POLL_MS = 500 * 1.2;

interface Holder {
  readonly child: ChildProcess;
  /** Resolves with the PID once the holder's factory started (it holds the lock then). */
  readonly factoryStarted: Promise<number>;
}

/** Starts test/support/lock-holder.main.ts in a Node process of its own. */
function startLockHolder(config: object): Holder {
  const child = spawn(
    process.execPath,
    [
      '--import',
      join(ROOT, 'bench', 'register.js'),
      join(ROOT, 'test', 'support', 'lock-holder.main.ts'),
      JSON.stringify(config),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const factoryStarted = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the holder never started its factory')),
      20_000,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { event: string; pid?: number };
      if (message.event === 'factory-start') {
        clearTimeout(timer);
        resolve(message.pid!);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error('the holder exited before its factory started'));
    });
  });
  return { child, factoryStarted };
}

describe('single-flight holder killed with kill -9 during its factory (separate process)', () => {
  let redis: RedisServer;
  const apps: CacheApp[] = [];
  let holder: Holder | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    if (holder?.child.exitCode === null && holder.child.pid !== undefined) {
      await killAndWait(holder.child.pid);
    }
    await redis.stop();
  });

  it('another instance takes over within the lease plus one poll; one more run; no error, no fallback', async () => {
    const key = `report:${Math.random().toString(36).slice(2)}`;
    const options: DistributedCacheModuleOptions = {
      namespace: 'sf-kill',
      l2: { type: 'redis', url: redis.url },
      lock: { leaseMs: LEASE_MS, waitMs: WAIT_MS },
    };
    holder = startLockHolder({ options, key, factoryMs: 60_000, callers: 10 });
    const holderPid = await holder.factoryStarted;

    for (let i = 0; i < 3; i++) apps.push(await startCacheApp(options));
    const events: CacheEvent[] = [];
    for (const app of apps) app.cache.events$.subscribe((event) => events.push(event));
    let runs = 0;
    let factoryStartedAt = 0;
    const factory = async (): Promise<string> => {
      runs++;
      factoryStartedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, FACTORY_MS));
      return 'recomputed';
    };
    const started = performance.now();
    const calls = apps.flatMap((app) =>
      Array.from({ length: 50 }, async () => {
        const value = await app.cache.getOrSet(key, factory, { lock: true });
        return { value, ms: performance.now() - started };
      }),
    );
    // Every instance has found the lock held and is waiting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).toBe(0);
    const killedAt = performance.now();
    await killAndWait(holderPid);

    const results = await Promise.all(calls);
    const takeoverMs = factoryStartedAt - killedAt;
    const stats = apps.map((app) => app.cache.stats());
    process.stdout.write(
      `[single-flight kill] takeover ${takeoverMs.toFixed(0)} ms after kill -9 (lease ${LEASE_MS} ms), ` +
        `last caller ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms, runs ${runs}\n`,
    );
    expect(runs).toBe(1); // one more run, on one instance only
    for (const result of results) expect(result.value).toBe('recomputed');
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_MS + MAX_POLL_MS + 100);
    // Nobody waited past waitMs: a caller that had would have fallen back.
    expect(stats.reduce((sum, s) => sum + s.lockFallbacks, 0)).toBe(0);
    for (const result of results) expect(result.ms).toBeLessThan(WAIT_MS);
    expect(
      events.filter((event) => event.type === 'lock-wait' && event.outcome === 'acquired'),
    ).toHaveLength(1);
  });
});
