import { RedisServer } from '../support/redis-server.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { printReports, SteadyLoad, verifyWrites, type LoadReport } from '../support/fault-load.js';
import { delay, waitFor } from '../support/poll.js';

/**
 * Faults injected for real into a single Redis while a steady load runs: kill -9 and restart, a
 * 5 s SIGSTOP, the bus connection cut, and app.close() under load. Each prints its row; the
 * assertions are the targets: zero failed requests, worst latency bounded by l2TimeoutMs
 * plus the origin's time, and nothing lost silently after recovery.
 */
const L2_TIMEOUT_MS = 200;
const ORIGIN_MS = 5;
// The bound a request may take: one L2 timeout, the origin, and event-loop slack on 2 shared cores.
const LATENCY_BOUND_MS = L2_TIMEOUT_MS + ORIGIN_MS + 150;

const reports: LoadReport[] = [];
let redis: RedisServer;
const apps: CacheApp[] = [];

async function instance(options: Parameters<typeof startCacheApp>[0] = {}): Promise<CacheApp> {
  const app = await startCacheApp({
    namespace: 'faults',
    l2: { type: 'redis', url: redis.url },
    l2TimeoutMs: L2_TIMEOUT_MS,
    // A small L1, so that a good share of reads needs L2 and meets the fault.
    l1: { max: 50 },
    writeBehind: { retryMaxDelayMs: 200 },
    ...options,
  });
  apps.push(app);
  return app;
}

async function verify(load: SteadyLoad, app: CacheApp, scenario: string): Promise<LoadReport> {
  await app.cache.flush(15_000);
  const reader = await instance({ l1: false });
  const report = { ...load.report(scenario), lost: await verifyWrites(load, reader.cache) };
  reports.push(report);
  return report;
}

function expectHealthy(report: LoadReport): void {
  expect({ scenario: report.scenario, failed: report.failed, errors: report.errors }).toEqual({
    scenario: report.scenario,
    failed: 0,
    errors: [],
  });
  expect(report.lost).toBe(0);
  expect(report.maxMs).toBeLessThan(LATENCY_BOUND_MS);
  expect(report.served).toBeGreaterThan(1_000);
}

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  await redis.resume().catch(() => undefined);
  if (!redis.isRunning()) await redis.restart();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await redis.cli('FLUSHALL');
});

afterAll(async () => {
  printReports('Fault suite: single Redis', reports);
  await redis.stop();
});

describe('fault suite: single Redis under steady load', () => {
  it('Redis killed (kill -9) and restarted', async () => {
    const app = await instance();
    const load = new SteadyLoad(app.cache, { originMs: ORIGIN_MS });
    load.start();
    await delay(1_000);
    await redis.kill();
    await delay(2_000);
    await redis.restart();
    await delay(1_500);
    await load.stop();
    expectHealthy(await verify(load, app, 'redis kill -9 + restart'));
  });

  it('Redis hung with SIGSTOP for 5 s', async () => {
    const app = await instance();
    const load = new SteadyLoad(app.cache, { originMs: ORIGIN_MS });
    load.start();
    await delay(1_000);
    await redis.pause();
    await delay(5_000);
    await redis.resume();
    await delay(1_500);
    await load.stop();
    expectHealthy(await verify(load, app, 'redis SIGSTOP 5 s'));
  });

  it('bus connection cut while another instance writes', async () => {
    const writer = await instance();
    const reader = await instance();
    const load = new SteadyLoad(reader.cache, { originMs: ORIGIN_MS });
    load.start();
    await delay(500);
    await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await writer.cache.set('shared', 'after the cut');
    await writer.cache.flush();
    await delay(1_500);
    await load.stop();
    expect(await reader.cache.get('shared')).toBe('after the cut');
    expectHealthy(await verify(load, reader, 'bus connection cut'));
  });

  it('app.close() under load drains every write', async () => {
    const app = await instance({ writeBehind: { flushIntervalMs: 200 } });
    const load = new SteadyLoad(app.cache, { originMs: ORIGIN_MS });
    load.start();
    await delay(1_500);
    await load.stop();
    const report = load.report('app.close() under load');
    await app.close();
    const reader = await instance({ l1: false });
    report.lost = await verifyWrites(load, reader.cache);
    report.flushed = app.cache.stats().flushed;
    reports.push(report);
    expectHealthy(report);
    expect(app.cache.stats().pending).toBe(0);
  });

  it('a fresh instance serves after Redis comes back, with no request failing meanwhile', async () => {
    await redis.kill();
    const app = await instance();
    const load = new SteadyLoad(app.cache, { originMs: ORIGIN_MS });
    load.start();
    await delay(1_000);
    await redis.restart();
    await waitFor(() => app.cache.stats().breaker === 'closed', {
      timeoutMs: 5_000,
      message: 'breaker to close',
    });
    await delay(1_000);
    await load.stop();
    expectHealthy(await verify(load, app, 'start with Redis down'));
  });
});
