import { Cluster } from 'ioredis';
import type { L2Options } from '../../lib/index.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { cutOff, DistinctWriters } from '../support/replica-lag.js';
import { delay, waitFor } from '../support/poll.js';
import { RedisCluster } from '../support/redis-cluster.js';

/**
 * Issue 15 on Redis Cluster (3 masters, one replica each): with `writeBehind.replicas: 1` each
 * part of a batch waits for WAIT on the master that took it, so killing a master with kill -9
 * loses no accepted write and never brings back an older value. The killed master is restarted
 * and rejoins as a replica of its promoted one (until then its slots have no replica, and the
 * writes of those slots stay pending).
 */
const WRITERS = 20;
const REPLICA_TIMEOUT_MS = 300;

async function readAll(
  cluster: RedisCluster,
  keys: readonly string[],
): Promise<Array<string | null>> {
  const client = new Cluster(cluster.seeds, { redisOptions: { maxRetriesPerRequest: 1 } });
  try {
    const values: Array<string | null> = [];
    for (let i = 0; i < keys.length; i += 2_000) {
      values.push(...(await Promise.all(keys.slice(i, i + 2_000).map((key) => client.get(key)))));
    }
    return values;
  } finally {
    client.disconnect();
  }
}

describe('writeBehind.replicas: 1 across a Cluster failover (a master kill -9)', () => {
  const apps: CacheApp[] = [];
  let cluster: RedisCluster | undefined;

  beforeEach(async () => {
    cluster = await RedisCluster.start({ replicasPerMaster: 1 });
  }, 60_000);

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await cluster?.stop();
    cluster = undefined;
  });

  function l2(): L2Options {
    return { type: 'cluster', nodes: cluster!.seeds };
  }

  it('keeps every accepted write that was not reported dropped, including the last second before the crash', async () => {
    const app = await startCacheApp({
      namespace: 'dur',
      l2: l2(),
      writeBehind: { replicas: 1, replicaTimeoutMs: REPLICA_TIMEOUT_MS, maxPending: 500_000 },
    });
    apps.push(app);
    const victim = cluster!.nodes[0]!;
    const replica = await cluster!.replicaOf(victim);

    const load = new DistinctWriters(app.cache, WRITERS);
    await delay(1_500);
    await cutOff(replica, victim);
    await delay(300);
    const killedAt = Date.now();
    const { promoted, ms: failoverMs } = await cluster!.killMasterAndAwaitFailover(victim, 20_000, {
      replica,
      afterKill: () => replica.resume(),
    });
    await delay(1_000);
    await load.stop();
    const pendingAtStop = app.cache.stats().pending;

    const rejoined = performance.now();
    await cluster!.restartAsReplica(victim);
    await app.cache.flush(30_000);
    const drainedMs = performance.now() - rejoined;

    const kept = load.kept('dur');
    const values = await readAll(
      cluster!,
      kept.map((key) => `dur:${key}`),
    );
    const lost = kept.filter((_, i) => values[i] === null);
    const lastSecond = load.acceptedInSecondBefore(kept, killedAt);
    const stats = app.cache.stats();
    console.log(
      `[replicas cluster] accepted ${load.accepted.size} writes (${lastSecond.length} in the last second ` +
        `before kill -9 of master ${victim.port}, its replica ${promoted.port} cut off for the last 300 ms), ` +
        `dropped ${load.dropped.size}, lost ${lost.length}; failover ${failoverMs.toFixed(0)} ms; pending at stop ` +
        `${pendingAtStop}; drained ${drainedMs.toFixed(0)} ms after the rejoin began; confirmed batches ` +
        `${stats.replicaConfirmedBatches}, replica timeouts ${stats.replicaTimeouts}`,
    );
    expect(lastSecond.length).toBeGreaterThan(1_000);
    expect(load.dropped.size).toBe(0);
    expect(lost.slice(0, 10)).toEqual([]);
    expect(stats.pending).toBe(0);
    // Callers never waited for the replicas or the failover: set() stays a local operation.
    const sorted = [...load.setMs].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length * 0.99)]).toBeLessThan(20);
  }, 120_000);

  it('never brings v1 back: v2 written while the replica lags, the master killed right after the flush', async () => {
    const options = {
      namespace: 'v12',
      l2: l2(),
      writeBehind: { replicas: 1, replicaTimeoutMs: REPLICA_TIMEOUT_MS },
    };
    const writer = await startCacheApp(options);
    const reader = await startCacheApp(options);
    apps.push(writer, reader);
    const slot = await cluster!.keySlot('v12:price');
    const victim = await cluster!.ownerOf(slot);
    const replica = await cluster!.replicaOf(victim);

    await writer.cache.set('price', { v: 1 });
    await writer.cache.flush();
    expect(await replica.cli('GET', 'v12:price')).toContain('1');
    expect(await reader.cache.get('price')).toEqual({ v: 1 }); // now in the reader's L1

    await cutOff(replica, victim);
    await writer.cache.set('price', { v: 2 });
    await waitFor(async () => (await victim.cli('GET', 'v12:price')).includes('2'), {
      timeoutMs: 2_000,
      intervalMs: 2,
      message: 'v2 to reach the master',
    });
    const { promoted } = await cluster!.killMasterAndAwaitFailover(victim, 20_000, {
      replica,
      afterKill: () => replica.resume(),
    });
    expect(writer.cache.stats().pending).toBe(1); // v2: not confirmed, still held
    await cluster!.restartAsReplica(victim);
    await writer.cache.flush(15_000);

    expect(await promoted.cli('GET', 'v12:price')).toContain('2');
    await waitFor(async () => (await reader.cache.get<{ v: number }>('price'))?.v === 2, {
      timeoutMs: 5_000,
      message: 'the reader to see v2',
    });
    const fresh = await startCacheApp(options);
    apps.push(fresh);
    expect(await fresh.cache.get('price')).toEqual({ v: 2 });
    await delay(200);
    expect(await reader.cache.get('price')).toEqual({ v: 2 });
  }, 90_000);
});
