import { Redis } from 'ioredis';
import type { L2Options } from '../../lib/index.js';
import { startCacheApp, type CacheApp } from '../support/cache-app.js';
import { cutOff, DistinctWriters } from '../support/replica-lag.js';
import { delay, waitFor } from '../support/poll.js';
import { RedisSentinelGroup, SENTINEL_MASTER_NAME } from '../support/redis-sentinel.js';
import type { RedisServer } from '../support/redis-server.js';

/**
 * Issue 15 on Sentinel (a master, one replica, three Sentinels): with `writeBehind.replicas: 1`
 * a write is acknowledged only once the replica has it, so killing the master with kill -9 loses
 * no accepted write, not even those of the last second, and never brings an older value back.
 *
 * After the failover the new master has no replica until the old one rejoins; the test restarts
 * it as a replica of the new master (as an operator or orchestrator would), and the writes held
 * meanwhile land then.
 */
const WRITERS = 20;
const REPLICA_TIMEOUT_MS = 300;

function sentinelL2(group: RedisSentinelGroup): L2Options {
  return { type: 'sentinel', sentinels: group.sentinelNodes, name: SENTINEL_MASTER_NAME };
}

/** Restarts the killed master as a replica of `master` and waits until it is in sync. */
async function rejoinAsReplica(old: RedisServer, master: RedisServer): Promise<void> {
  await old.restart();
  await old.cli('REPLICAOF', master.host, String(master.port));
  await waitFor(async () => /slave0:.*state=online/.test(await master.cli('INFO', 'replication')), {
    timeoutMs: 15_000,
    intervalMs: 50,
    message: 'the old master to rejoin as a replica',
  });
}

/** Waits until the Sentinels name a master other than `old` and it says it is one. */
function awaitPromotion(group: RedisSentinelGroup, old: RedisServer): Promise<RedisServer> {
  return waitFor(
    async () => {
      const master = await group.master();
      return master !== old && (await master.cli('ROLE')).startsWith('master') ? master : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 20, message: 'the Sentinels to promote the replica' },
  );
}

/**
 * The master once the topology has settled: every Sentinel names it and lists its replica as in
 * sync (after a second failover, once the Sentinels have reconfigured the other server).
 */
function settledMaster(group: RedisSentinelGroup): Promise<RedisServer> {
  return waitFor(
    async () => {
      const master = await group.master();
      try {
        await group.waitUntilSynced(master, 1_000);
        return master;
      } catch {
        return undefined;
      }
    },
    {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'the Sentinels to settle on a master and its replica',
    },
  );
}

async function valuesOn(
  server: RedisServer,
  keys: readonly string[],
): Promise<Array<string | null>> {
  const client = new Redis(server.port, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    const values: Array<string | null> = [];
    for (let i = 0; i < keys.length; i += 1_000) {
      values.push(...(await client.mget(keys.slice(i, i + 1_000))));
    }
    return values;
  } finally {
    client.disconnect();
  }
}

describe('writeBehind.replicas: 1 across a Sentinel failover (master kill -9)', () => {
  const apps: CacheApp[] = [];
  let group: RedisSentinelGroup | undefined;

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await group?.stop();
    group = undefined;
  });

  it('keeps every accepted write that was not reported dropped, including the last second before the crash', async () => {
    group = await RedisSentinelGroup.start({ replicas: 1, sentinels: 3 });
    const app = await startCacheApp({
      namespace: 'dur',
      l2: sentinelL2(group),
      writeBehind: { replicas: 1, replicaTimeoutMs: REPLICA_TIMEOUT_MS, maxPending: 500_000 },
    });
    apps.push(app);
    const old = await group.master();
    await group.waitUntilSynced(old);
    const replica = group.servers.find((server) => server !== old)!;

    const load = new DistinctWriters(app.cache, WRITERS);
    await delay(1_500);
    // The replica is cut off for the last 300 ms before the crash: what the master acknowledged
    // then exists nowhere else. Without replica confirmation those writes are lost (the same test
    // with replicas: 0 loses thousands).
    await cutOff(replica, old);
    await delay(300);
    const killedAt = Date.now();
    await old.kill();
    await replica.resume();
    const promoted = await awaitPromotion(group, old);
    const failoverMs = Date.now() - killedAt;
    await delay(1_000);
    await load.stop();
    const pendingAtStop = app.cache.stats().pending;

    const rejoinStarted = performance.now();
    await rejoinAsReplica(old, promoted);
    // Drains in 3-4 s, also beside a busy core. (Under load it once took minutes: re-sending a
    // timed-out batch's writes one by one rebuilt the whole queue per write; fixed in WriteQueue.)
    // A timeout says where the drain stood.
    await app.cache.flush(45_000).catch((error: unknown) => {
      const at = app.cache.stats();
      throw new Error(
        `drain after the rejoin: ${at.pending} pending, ${at.replicaConfirmedBatches} batches ` +
          `confirmed, ${at.replicaTimeouts} replica timeouts, breaker ${at.breaker}, ` +
          `${at.l2Errors} L2 errors`,
        { cause: error },
      );
    });
    const drainedMs = performance.now() - rejoinStarted;

    const kept = load.kept('dur');
    const values = await valuesOn(
      promoted,
      kept.map((key) => `dur:${key}`),
    );
    const lost = kept.filter((_, i) => values[i] === null);
    const lastSecond = load.acceptedInSecondBefore(kept, killedAt);
    const sorted = [...load.setMs].sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
    const stats = app.cache.stats();
    console.log(
      `[replicas sentinel] accepted ${load.accepted.size} writes (${lastSecond.length} in the last second ` +
        `before kill -9, the replica cut off for its last 300 ms), dropped ${load.dropped.size}, lost ${lost.length}; failover ${failoverMs.toFixed(0)} ms; ` +
        `pending at stop ${pendingAtStop}; drained ${drainedMs.toFixed(0)} ms after the rejoin began; ` +
        `set() p99 ${p99.toFixed(2)} ms; confirmed batches ${stats.replicaConfirmedBatches}, ` +
        `replica timeouts ${stats.replicaTimeouts}`,
    );
    expect(lastSecond.length).toBeGreaterThan(1_000);
    expect(load.dropped.size).toBe(0);
    expect(lost.slice(0, 10)).toEqual([]);
    expect(stats.pending).toBe(0);
    // Callers never waited for the replica: set() stays a local operation through it all.
    expect(p99).toBeLessThan(20);
  }, 90_000);

  it('never brings v1 back: v2 written while the replica lags, the master killed right after the flush', async () => {
    group = await RedisSentinelGroup.start({ replicas: 1, sentinels: 3 });
    const options = {
      namespace: 'v12',
      l2: sentinelL2(group),
      writeBehind: { replicas: 1, replicaTimeoutMs: REPLICA_TIMEOUT_MS },
    };
    const writer = await startCacheApp(options);
    const reader = await startCacheApp(options);
    apps.push(writer, reader);
    const old = await group.master();
    await group.waitUntilSynced(old);
    const replica = group.servers.find((server) => server !== old)!;

    await writer.cache.set('price', { v: 1 });
    await writer.cache.flush();
    expect(await valuesOn(replica, ['v12:price'])).toEqual([expect.stringContaining('1')]);
    expect(await reader.cache.get('price')).toEqual({ v: 1 }); // now in the reader's L1

    // The replica lags (frozen for well under Sentinel's down-after 1 s): v2 reaches the master
    // but not the replica, so without replica confirmation a failover now would keep v1.
    await cutOff(replica, old);
    await writer.cache.set('price', { v: 2 });
    await waitFor(async () => (await old.cli('GET', 'v12:price')).includes('2'), {
      timeoutMs: 2_000,
      intervalMs: 2,
      message: 'v2 to reach the master',
    });
    await old.kill(); // within a few ms of the flush
    await replica.resume();
    const promoted = await awaitPromotion(group, old);
    expect(writer.cache.stats().pending).toBe(1); // v2: not confirmed, still held
    await rejoinAsReplica(old, promoted);
    // The Sentinels often fail over once more here, to the rejoined server (on this 2-core host
    // with down-after 1 s: 5 of 8 runs at 3baf2a3, `+new-epoch 2` about 1 s after the rejoin,
    // the first new master reconfigured as a replica some 10 s later). v2 then waits for a
    // replica again, so the flush is given the time of a second failover too; the first
    // assertion below holds either way.
    await writer.cache.flush(45_000);

    const master = await settledMaster(group);
    expect(await valuesOn(master, ['v12:price'])).toEqual([expect.stringContaining('2')]);
    // Every instance converges on v2: the reader's L1 v1 goes with the bus message sent once v2
    // is confirmed, or, when a second failover put the reader's subscription on the other side
    // of it, with the L1 drop when the Sentinels' reconfiguration makes the bus subscribe again.
    // Timed from when the topology has settled; a fresh instance reads v2 from L2.
    await waitFor(async () => (await reader.cache.get<{ v: number }>('price'))?.v === 2, {
      timeoutMs: 5_000,
      message: 'the reader to see v2',
    });
    const fresh = await startCacheApp(options);
    apps.push(fresh);
    expect(await fresh.cache.get('price')).toEqual({ v: 2 });
    await delay(200);
    expect(await reader.cache.get('price')).toEqual({ v: 2 });
  }, 120_000);
});
