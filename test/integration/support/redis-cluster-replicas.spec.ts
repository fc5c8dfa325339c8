import { Cluster, Redis } from 'ioredis';
import { RedisCluster } from '../../support/redis-cluster.js';
import type { RedisServer } from '../../support/redis-server.js';

/** Set SHOW_TIMINGS=1 to print the measured figures. */
const showTimings = process.env['SHOW_TIMINGS'] === '1';
const report = (what: string): void => {
  if (showTimings) console.info(what);
};

/** `SET key value` then `WAIT 1 1000` on one plain connection to `master`: replicas that acked. */
async function setAndWait(master: RedisServer, key: string, value: string): Promise<number> {
  const client = new Redis(master.port, master.host, { maxRetriesPerRequest: 1 });
  try {
    expect(await client.set(key, value)).toBe('OK');
    return Number(await client.call('WAIT', '1', '1000'));
  } finally {
    client.disconnect();
  }
}

async function getFrom(node: RedisServer, key: string): Promise<string | null> {
  const client = new Redis(node.port, node.host, { maxRetriesPerRequest: 1 });
  try {
    return await client.get(key);
  } finally {
    client.disconnect();
  }
}

describe('RedisCluster with replicasPerMaster: 1', () => {
  let cluster: RedisCluster | undefined;

  beforeAll(async () => {
    const started = performance.now();
    cluster = await RedisCluster.start({ replicasPerMaster: 1 });
    report(`3-master 1-replica cluster ready in ${(performance.now() - started).toFixed(0)} ms`);
  }, 60_000);

  afterAll(async () => {
    // stop() terminates each node by the PID of its pidfile.
    await cluster?.stop();
  });

  it('has one replica per master, and replicas never own slots', async () => {
    const { nodes, replicas } = cluster!;
    expect(nodes).toHaveLength(3);
    expect(replicas).toHaveLength(3);
    const replicaPorts = await Promise.all(
      nodes.map(async (m) => (await cluster!.replicaOf(m)).port),
    );
    expect(replicaPorts.sort()).toEqual(replicas.map((r) => r.port).sort());
    for (const slot of [0, 8_000, 16_383]) expect(nodes).toContain(await cluster!.ownerOf(slot));
  });

  it('a write confirmed by WAIT 1 survives kill -9 of its master; the old master rejoins as replica', async () => {
    const key = 'replicated:k';
    const client = new Cluster(cluster!.seeds);
    try {
      expect(await client.set(key, 'v0')).toBe('OK');
    } finally {
      client.disconnect();
    }
    const master = await cluster!.ownerOf(await cluster!.keySlot(key));
    expect(await setAndWait(master, key, 'v1')).toBe(1);

    const { promoted, ms } = await cluster!.killMasterAndAwaitFailover(master);
    report(`failover of ${master.port} to ${promoted.port} in ${ms.toFixed(0)} ms`);
    expect(cluster!.replicas).toContain(promoted);
    expect(await cluster!.ownerOf(await cluster!.keySlot(key))).toBe(promoted);
    expect(await getFrom(promoted, key)).toBe('v1');
    // Only masters are SCANned: the key is on the promoted node, not also on a replica.
    expect([...(await cluster!.keysByNode([key])).entries()]).toEqual([[promoted, [key]]]);

    const restarted = await cluster!.restartAsReplica(master);
    report(`old master ${master.port} online as replica in ${restarted.ms.toFixed(0)} ms`);
    expect(restarted.master).toBe(promoted);
    expect(await cluster!.replicaOf(promoted)).toBe(master);
    expect(await setAndWait(promoted, key, 'v2')).toBe(1);
    // The restarted node came back empty (no persistence): it has the key through its full sync.
    const replica = new Redis(master.port, master.host, { maxRetriesPerRequest: 1 });
    try {
      await replica.call('READONLY');
      expect(await replica.get(key)).toBe('v2');
    } finally {
      replica.disconnect();
    }
    await cluster!.waitUntilReady(5_000);
  }, 30_000);
});
