import { randomUUID } from 'node:crypto';
import { CacheFailoverInProgressError } from '../../../lib/errors/l2.errors.js';
import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import type { L2Write } from '../../../lib/contracts/l2-store.interface.js';
import { SentinelStore } from '../../../lib/l2/sentinel/sentinel.store.js';
import { describeL2StoreContract } from '../../contract/l2-store.contract.js';
import { waitFor } from '../../support/poll.js';
import { respCommand } from '../../support/resp.js';
import { RedisSentinelGroup, SENTINEL_MASTER_NAME } from '../../support/redis-sentinel.js';

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

/** A connected store on `group`, closed by the caller. */
async function openStore(group: RedisSentinelGroup): Promise<SentinelStore> {
  const store = SentinelStore.fromOptions({
    type: 'sentinel',
    sentinels: group.sentinelNodes,
    name: SENTINEL_MASTER_NAME,
  });
  await store.connect();
  return store;
}

/** Number of clients connected to the Sentinel at `port`. */
async function sentinelClients(port: number): Promise<number> {
  const info = await respCommand(port, ['INFO', 'clients']);
  return Number(/connected_clients:(\d+)/.exec(typeof info === 'string' ? info : '')?.[1]);
}

describe('SentinelStore (master + replica + sentinel)', () => {
  let group: RedisSentinelGroup;

  beforeAll(async () => {
    group = await RedisSentinelGroup.start();
  });
  afterAll(async () => {
    await group.stop();
  });

  describeL2StoreContract('SentinelStore', async () => {
    const store = await openStore(group);
    return { store, cleanup: () => store.close() };
  });

  describe('SentinelStore', () => {
    it('writes to the master Sentinel names, which replicates them', async () => {
      const store = await openStore(group);
      try {
        const key = `sentinel-spec:${randomUUID()}`;
        await store.write([set(key, 'replicated')]);
        const master = await group.master();
        expect(await master.cli('GET', key)).toBe('replicated');
        const replica = group.servers.find((server) => server !== master)!;
        await waitFor(async () => (await replica.cli('GET', key)) === 'replicated', {
          message: 'the replica to receive the write',
        });
        await expect(store.healthCheck()).resolves.toBeUndefined();
        await store.del([key]);
      } finally {
        await store.close();
      }
    });

    it('closes the failover detector’s Sentinel connections too', async () => {
      const port = group.sentinelNodes[0]!.port;
      const before = await sentinelClients(port);
      const store = await openStore(group);
      await waitFor(async () => (await sentinelClients(port)) > before, {
        message: 'the failover detector to subscribe to the Sentinel',
      });
      await store.close();
      expect(store.client.status).toBe('end');
      await waitFor(async () => (await sentinelClients(port)) === before, {
        timeoutMs: 2_000,
        message: 'the failover detector’s connection to close',
      });
    });

    it('refuses options that would defeat the failover handling, naming them', () => {
      for (const [option, redis] of [
        ['failoverDetector', { failoverDetector: false }],
        ['enableReadyCheck', { enableReadyCheck: false }],
        ['role', { role: 'slave' as const }],
      ] as const) {
        let error: unknown;
        try {
          SentinelStore.fromOptions({
            type: 'sentinel',
            sentinels: group.sentinelNodes,
            name: 'x',
            redis,
          });
        } catch (e: unknown) {
          error = e;
        }
        expect(error).toBeInstanceOf(CacheOptionsError);
        expect((error as CacheOptionsError).option).toBe(`l2.redis.${option}`);
      }
    });
  });
});

describe('SentinelStore during SENTINEL FAILOVER', () => {
  let group: RedisSentinelGroup;
  let store: SentinelStore;

  beforeAll(async () => {
    group = await RedisSentinelGroup.start();
    store = await openStore(group);
  });
  afterAll(async () => {
    await store.close();
    await group.stop();
  });

  it('switches to the new master within seconds and loses no acknowledged write to the demoted one', async () => {
    const key = `failover:${randomUUID()}`;
    await store.write([set(key, 'before')]);
    let acked = -1;
    let paused = 0;
    let running = true;
    // A steady writer: every write the store acknowledges must survive the failover.
    const writer = (async () => {
      for (let seq = 0; running; seq++) {
        try {
          await store.write([set(key, String(seq))]);
          acked = seq;
        } catch (error: unknown) {
          // Refused while the master switches; the cache's write-behind queue retries.
          if (error instanceof CacheFailoverInProgressError) paused++;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      const { previous, master, ms } = await group.failover();
      report(`SENTINEL FAILOVER: new master named after ${ms.toFixed(0)} ms`);
      const switchedAt = performance.now();
      // The store's writes reach the new master.
      await waitFor(async () => Number(await master.cli('GET', key)) > acked - 1 && acked >= 0, {
        timeoutMs: 5_000,
        message: 'writes to reach the new master',
      });
      const before = acked;
      await waitFor(() => acked > before + 5, {
        timeoutMs: 5_000,
        message: 'writes to be acknowledged again',
      });
      report(
        `store writing to the new master ${(performance.now() - switchedAt).toFixed(0)} ms after the switch`,
      );
      running = false;
      await writer;
      // Writes were held back from +try-failover until the switch.
      expect(paused).toBeGreaterThan(0);
      report(`writes refused while the master switched: ${paused}`);
      // Every acknowledged write is on the new master: none went to the demoted one and got lost.
      expect(Number(await master.cli('GET', key))).toBe(acked);
      expect((await store.get(key))?.toString()).toBe(String(acked));
      // NOTE: Sentinel demotes a reachable old master only ~10 s later; until then it still takes
      // writes, the window a client without failover detection keeps writing into.
      report(`old master's role meanwhile: ${(await previous.cli('ROLE')).split('\n')[0]}`);
    } finally {
      running = false;
      await writer;
      await store.del([key]).catch(() => undefined);
    }
  });
});
