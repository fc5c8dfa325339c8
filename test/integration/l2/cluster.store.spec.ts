import { randomUUID } from 'node:crypto';
import type { L2Write } from '../../../lib/contracts/l2-store.interface.js';
import { CLUSTER_SLOTS, clusterKeySlot } from '../../../lib/l2/cluster/cluster-slots.js';
import { ClusterStore } from '../../../lib/l2/cluster/cluster.store.js';
import { describeL2StoreContract } from '../../contract/l2-store.contract.js';
import { delay, waitFor } from '../../support/poll.js';
import { RedisCluster } from '../../support/redis-cluster.js';
import type { RedisServer } from '../../support/redis-server.js';

/** Set SHOW_TIMINGS=1 to print the measured figures. */
const showTimings = process.env['SHOW_TIMINGS'] === '1';
const report = (what: string): void => {
  if (showTimings) console.info(what);
};

const set = (key: string, value: string, ttlMs = 60_000): L2Write => ({
  kind: 'set',
  key,
  value: Buffer.from(value),
  expiresAt: Date.now() + ttlMs,
});

let cluster: RedisCluster;

/** A connected store on the test cluster, closed by the caller. */
async function openStore(): Promise<ClusterStore> {
  const store = ClusterStore.fromOptions({ type: 'cluster', nodes: cluster.seeds });
  await store.connect();
  return store;
}

/** One key per slot, for all 16384 slots (found by hashing candidates, then checked by Redis). */
function keysCoveringEverySlot(prefix: string): string[] {
  const keys = new Array<string | undefined>(CLUSTER_SLOTS);
  let found = 0;
  for (let i = 0; found < CLUSTER_SLOTS; i++) {
    const key = `${prefix}${i}`;
    const slot = clusterKeySlot(key);
    if (keys[slot] === undefined) {
      keys[slot] = key;
      found++;
    }
  }
  return keys as string[];
}

beforeAll(async () => {
  const started = performance.now();
  cluster = await RedisCluster.start();
  report(`3-master cluster ready in ${(performance.now() - started).toFixed(0)} ms`);
}, 60_000);

afterAll(async () => {
  await cluster.stop();
});

describeL2StoreContract('ClusterStore', async () => {
  const store = await openStore();
  return { store, cleanup: () => store.close() };
});

describe('ClusterStore', () => {
  let store: ClusterStore;
  let prefix = '';
  beforeEach(async () => {
    prefix = `cl-spec:${randomUUID()}:`;
    store = await openStore();
  });
  afterEach(async () => {
    await store.close();
  });

  describe('clusterKeySlot()', () => {
    it('agrees with CLUSTER KEYSLOT, hash tags and multi-byte keys included', async () => {
      const keys = [
        'a',
        'user:1000',
        '{user:1000}:profile',
        'x{user:1000}y',
        '{}user',
        '{}{user}',
        'a{}b{c}',
        '{',
        '}{x}',
        'ключ',
        '鍵🔑',
        'with space',
        'line\nbreak',
        'é\u0301',
      ];
      for (const key of keys) {
        expect([key, clusterKeySlot(key)]).toEqual([key, await cluster.keySlot(key)]);
      }
    });
  });

  describe('write(), mget() and del() across all slots', () => {
    it('writes, reads back and deletes a batch with a key in each of the 16,384 slots, without CROSSSLOT', async () => {
      const keys = keysCoveringEverySlot(prefix);
      for (const key of [keys[0]!, keys[5_000]!, keys[16_383]!]) {
        expect(await cluster.keySlot(key)).toBe(clusterKeySlot(key));
      }
      const started = performance.now();
      await store.write(keys.map((key, i) => set(key, `v${i}`)));
      const written = performance.now();
      const values = await store.mget(keys);
      const read = performance.now();
      expect(values.findIndex((value, i) => value?.toString() !== `v${i}`)).toBe(-1);
      report(
        `16,384-slot batch: write ${(written - started).toFixed(0)} ms, mget ${(read - written).toFixed(0)} ms`,
      );
      let total = 0;
      for (const node of cluster.nodes) {
        const size = Number(await node.cli('DBSIZE'));
        expect(size).toBeGreaterThan(5_000);
        total += size;
      }
      expect(total).toBe(CLUSTER_SLOTS);
      await store.del(keys);
      for (const node of cluster.nodes) expect(await node.cli('DBSIZE')).toBe('0');
    });

    it('groups keys sharing a hash tag into one slot', async () => {
      const keys = Array.from({ length: 2_500 }, (_, i) => `{${prefix}tag}:${i}`);
      await store.write(keys.map((key) => set(key, 'tagged')));
      const slot = clusterKeySlot(keys[0]!);
      const owner = await cluster.ownerOf(slot);
      expect(await owner.cli('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('2500');
      expect((await store.mget(keys)).every((value) => value?.toString() === 'tagged')).toBe(true);
      await store.del(keys);
      expect(await owner.cli('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('0');
    });
  });

  describe('with a key prefix (cluster.keyPrefix)', () => {
    it('writes, reads and deletes every key under the prefix, on the master of the prefixed key', async () => {
      const prefixed = ClusterStore.fromOptions({
        type: 'cluster',
        nodes: cluster.seeds,
        cluster: { keyPrefix: 'app1:' },
      });
      await prefixed.connect();
      try {
        const keys = Array.from({ length: 300 }, (_, i) => `${prefix}${i}`);
        await prefixed.write(keys.map((key, i) => set(key, `p${i}`)));
        const values = await prefixed.mget(keys);
        expect(values.findIndex((value, i) => value?.toString() !== `p${i}`)).toBe(-1);
        for (const i of [0, 150, 299]) {
          const owner = await cluster.ownerOf(clusterKeySlot(`app1:${keys[i]!}`));
          expect(await owner.cli('GET', `app1:${keys[i]!}`)).toBe(`p${i}`);
        }
        expect((await store.mget(keys)).every((value) => value === undefined)).toBe(true);
        await prefixed.del(keys);
        expect((await prefixed.mget(keys)).every((value) => value === undefined)).toBe(true);
        const owner = await cluster.ownerOf(clusterKeySlot(`app1:${keys[0]!}`));
        expect(await owner.cli('EXISTS', `app1:${keys[0]!}`)).toBe('0');
      } finally {
        await prefixed.close();
      }
    });
  });

  describe('healthCheck()', () => {
    it('round-trips a key on every master', async () => {
      const before = await Promise.all(
        cluster.nodes.map(async (node) =>
          Number(await node.cli('INFO', 'commandstats').then(setCalls)),
        ),
      );
      await store.healthCheck();
      const after = await Promise.all(
        cluster.nodes.map(async (node) =>
          Number(await node.cli('INFO', 'commandstats').then(setCalls)),
        ),
      );
      after.forEach((calls, i) => expect(calls).toBe(before[i]! + 1));
    });
  });

  describe('resharding', () => {
    it('absorbs ASK, TRYAGAIN and MOVED while a slot migrates under reads and writes', async () => {
      // Keys of one slot, plus keys elsewhere in the same batches.
      const tag = `${prefix}moving`;
      const moving = Array.from({ length: 40 }, (_, i) => `{${tag}}:${i}`);
      const slot = clusterKeySlot(moving[0]!);
      // Keys of other slots only: one of 40 random keys lands in the moving slot once in ~400 runs.
      const others = Array.from({ length: 48 }, (_, i) => `${prefix}other:${i}`)
        .filter((key) => clusterKeySlot(key) !== slot)
        .slice(0, 40);
      const source = await cluster.ownerOf(slot);
      const target = cluster.nodes.find((node) => node !== source)!;
      await store.write([...moving, ...others].map((key) => set(key, 'v0')));

      let round = 0;
      const expected = new Map<string, string>();
      const check = async (): Promise<void> => {
        round++;
        // A key created while the slot migrates, and every existing key rewritten.
        const fresh = `{${tag}}:fresh:${round}`;
        const batch = [...moving, ...others, fresh].map((key) => set(key, `v${round}`));
        await store.write(batch);
        for (const write of batch) expected.set(write.key, `v${round}`);
        const keys = [...expected.keys()];
        const values = await store.mget(keys);
        expect(values.map((value) => value?.toString())).toEqual(keys.map((k) => expected.get(k)));
        expect((await store.get(fresh))?.toString()).toBe(`v${round}`);
      };

      // Commands the store re-sends alone after a redirection (it never sends SET alone otherwise).
      let resent = 0;
      const client = store.cluster as unknown as { set: (...args: unknown[]) => unknown };
      const originalSet = client.set.bind(store.cluster);
      client.set = (...args: unknown[]) => {
        resent++;
        return originalSet(...args);
      };
      await cluster.migrateSlot(slot, target, { batchSize: 8, between: check });
      expect(round).toBeGreaterThanOrEqual(5);
      expect(resent).toBeGreaterThan(0);
      report(`writes re-sent alone after ASK/MOVED during the migration: ${resent}`);
      // The slot now lives on the target; the store's slot map is stale until MOVED updates it.
      expect(await cluster.ownerOf(slot)).toBe(target);
      await check();
      const inSlot = (await target.cli('CLUSTER', 'GETKEYSINSLOT', String(slot), '1000'))
        .split('\n')
        .filter((key) => key !== '');
      const written = [...expected.keys()].filter((key) => clusterKeySlot(key) === slot);
      expect(written).toHaveLength(moving.length + round);
      expect(inSlot.sort()).toEqual(written.sort());
      expect(await source.cli('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('0');
      await store.del([...expected.keys()]);
    });
  });

  describe('a master killed (kill -9) and restarted while the store is idle', () => {
    it('reconnects by itself: the first batch to the restarted master succeeds through the same store', async () => {
      const master = cluster.nodes[2]!;
      // Keys on many slots of `master`, plus one key on each other master.
      const onMaster: string[] = [];
      const elsewhere = new Map<RedisServer, string>();
      for (let i = 0; onMaster.length < 50 || elsewhere.size < cluster.nodes.length - 1; i++) {
        const key = `${prefix}restart:${i}`;
        const owner = await cluster.ownerOf(clusterKeySlot(key));
        if (owner === master) {
          if (onMaster.length < 50) onMaster.push(key);
        } else if (!elsewhere.has(owner)) {
          elsewhere.set(owner, key);
        }
      }
      const keys = [...onMaster, ...elsewhere.values()];
      await store.write(keys.map((key) => set(key, 'before')));
      expect((await store.mget(keys)).every((value) => value?.toString() === 'before')).toBe(true);

      // From here the store is idle: no call until its connection to `master` is back.
      await master.kill();
      await delay(3_000);
      await master.restart();
      await cluster.waitUntilReady(20_000);
      const started = performance.now();
      const address = `${master.host}:${master.port}`;
      await waitFor(
        () =>
          store.cluster
            .nodes('master')
            .some(
              (node) =>
                `${node.options.host}:${node.options.port}` === address && node.status === 'ready',
            ),
        { timeoutMs: 10_000, intervalMs: 50, message: `the idle store to reconnect to ${address}` },
      );
      report(
        `idle store reconnected ${(performance.now() - started).toFixed(0)} ms after cluster ok`,
      );

      // The first calls after the restart succeed at once (the restarted master lost its data).
      await store.write(keys.map((key) => set(key, 'after')));
      expect((await store.mget(keys)).map((value) => value?.toString())).toEqual(
        keys.map(() => 'after'),
      );
      expect((await store.get(onMaster[0]!))?.toString()).toBe('after');
      await store.healthCheck();
      await store.del(keys);
    }, 40_000);
  });

  describe('close()', () => {
    it('ends the client and leaves later calls rejecting', async () => {
      await store.close();
      expect(store.cluster.status).toBe('end');
      await expect(store.get('k')).rejects.toThrow(/closed/);
    });

    it('is safe on a store that never connected', async () => {
      const never = ClusterStore.fromOptions({ type: 'cluster', nodes: cluster.seeds });
      await never.close();
      await never.close();
      expect(never.cluster.status).toBe('end');
    });
  });
});

/** `calls` of cmdstat_set in INFO commandstats. */
function setCalls(info: string): number {
  return Number(/cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 0);
}
