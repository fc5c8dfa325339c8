import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { printReports, SteadyLoad, verifyWrites, type LoadReport } from '../support/fault-load.js';
import { delay } from '../support/poll.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { RedisServer } from '../support/redis-server.js';
import { Twemproxy } from '../support/twemproxy.js';

/**
 * The fault suite on the sharded topologies: one twemproxy shard killed and restarted, and one
 * Cluster master killed and restarted, each under the same steady load as the single-Redis suite.
 */
const L2_TIMEOUT_MS = 300;
const ORIGIN_MS = 5;
const LATENCY_BOUND_MS = L2_TIMEOUT_MS + ORIGIN_MS + 200;

const reports: LoadReport[] = [];
const apps: CacheApp[] = [];

async function instance(options: Parameters<typeof startCacheApp>[0]): Promise<CacheApp> {
  const app = await startCacheApp({
    namespace: 'faults',
    l2TimeoutMs: L2_TIMEOUT_MS,
    l1: { max: 50 },
    writeBehind: { retryMaxDelayMs: 200 },
    ...options,
  });
  apps.push(app);
  return app;
}

/**
 * Flushes, then checks what Redis holds through `reader`: an instance without L1 (the loaded
 * instance's L1 would answer for the keys it holds and hide what Redis lost), created before the
 * fault and left idle through it, so it also shows that an idle instance reconnects by itself to a
 * restarted node: its first read must meet no L2 error.
 */
async function finish(
  load: SteadyLoad,
  app: CacheApp,
  reader: CacheApp,
  scenario: string,
): Promise<LoadReport> {
  await app.cache.flush(20_000);
  const errorsBefore = reader.cache.stats().l2Errors;
  const report = { ...load.report(scenario), lost: await verifyWrites(load, reader.cache) };
  const readerErrors = reader.cache.stats().l2Errors - errorsBefore;
  reports.push(report);
  expect({ scenario, readerErrors }).toEqual({ scenario, readerErrors: 0 });
  expect({ scenario, failed: report.failed, errors: report.errors }).toEqual({
    scenario,
    failed: 0,
    errors: [],
  });
  expect(report.lost).toBe(0);
  expect(report.maxMs).toBeLessThan(LATENCY_BOUND_MS);
  expect(report.served).toBeGreaterThan(1_000);
  return report;
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

afterAll(() => {
  printReports('Fault suite: sharded topologies', reports);
});

describe('fault suite: sharded topologies under steady load', () => {
  it('one of three twemproxy shards killed (kill -9) and restarted', async () => {
    const proxy = await Twemproxy.start({ shards: 3, autoEjectHosts: false });
    const bus = await RedisServer.start();
    try {
      const options = {
        l2: { type: 'twemproxy' as const, host: proxy.host, port: proxy.port },
        invalidation: { url: bus.url },
      };
      const app = await instance(options);
      const reader = await instance({ ...options, l1: false });
      const load = new SteadyLoad(app.cache, { originMs: ORIGIN_MS });
      load.start();
      await delay(1_000);
      const shard = proxy.shards[1]!;
      await shard.kill();
      await delay(2_000);
      await shard.restart();
      await delay(1_500);
      await load.stop();
      await finish(load, app, reader, 'twemproxy: 1 of 3 shards kill -9 + restart');
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await proxy.stop();
      await bus.stop();
    }
  });

  it('one of three Cluster masters killed (kill -9) and restarted', async () => {
    const cluster = await RedisCluster.start();
    try {
      const options = { l2: { type: 'cluster' as const, nodes: cluster.seeds } };
      const app = await instance(options);
      const reader = await instance({ ...options, l1: false });
      const load = new SteadyLoad(app.cache, { originMs: ORIGIN_MS });
      load.start();
      await delay(1_000);
      const master = cluster.nodes[2]!;
      await master.kill();
      await delay(2_000);
      await master.restart();
      await delay(3_000);
      await load.stop();
      await finish(load, app, reader, 'cluster: 1 of 3 masters kill -9 + restart');
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await cluster.stop();
    }
  });
});
