import { randomUUID } from 'node:crypto';
import { CacheBatchError } from '../../../lib/errors/l2.errors.js';
import type { L2Write } from '../../../lib/contracts/l2-store.interface.js';
import { RedisStore, type RedisStoreOptions } from '../../../lib/l2/redis/redis.store.js';
import { describeL2StoreContract } from '../../contract/l2-store.contract.js';
import { freePort } from '../../support/free-port.js';
import { waitFor } from '../../support/poll.js';
import { RedisServer } from '../../support/redis-server.js';

/** Set SHOW_TIMINGS=1 to print the measured failure and recovery times. */
const showTimings = process.env['SHOW_TIMINGS'] === '1';
const report = (what: string, ms: number): void => {
  if (showTimings) console.info(`${what}: ${ms.toFixed(1)} ms`);
};

/** Milliseconds a call may take to fail once the server is known dead. */
const FAST_FAILURE_MS = 500;

let server: RedisServer;
const openStores: RedisStore[] = [];

/** A connected store on `url`, closed after the test. */
async function openStore(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
  const store = RedisStore.fromOptions({ type: 'redis', url }, options);
  openStores.push(store);
  await store.connect();
  return store;
}

const set = (key: string, value: string, ttlMs = 60_000): L2Write => ({
  kind: 'set',
  key,
  value: Buffer.from(value),
  expiresAt: Date.now() + ttlMs,
});

/** Resolves with how long `promise` took to settle, and how. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  try {
    await promise;
    return { ms: performance.now() - started, error: undefined };
  } catch (error: unknown) {
    return { ms: performance.now() - started, error };
  }
}

/** Whether the store's client is closed for good, its socket destroyed. */
function fullyClosed(store: RedisStore): boolean {
  const socket = store.client.stream as RedisStore['client']['stream'] | undefined;
  return store.client.status === 'end' && (socket === undefined || socket.destroyed);
}

beforeAll(async () => {
  server = await RedisServer.start();
});

afterEach(async () => {
  await Promise.all(openStores.splice(0).map((store) => store.close()));
});

afterAll(async () => {
  await server.stop();
});

describeL2StoreContract('RedisStore', async () => {
  const store = RedisStore.fromOptions({ type: 'redis', url: server.url });
  await store.connect();
  return { store, cleanup: () => store.close() };
});

describe('RedisStore', () => {
  let prefix = '';
  beforeEach(() => {
    prefix = `redis-spec:${randomUUID()}:`;
  });

  describe('write()', () => {
    it('sets a PX expiry: PTTL is within (0, ttlMs]', async () => {
      const store = await openStore(server.url);
      const key = `${prefix}pttl`;
      await store.write([set(key, 'v', 5_000)]);
      const pttl = Number(await server.cli('PTTL', key));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(5_000);
      await server.cli('DEL', key);
    });

    it('rejects with CacheBatchError naming exactly the writes Redis refused, and applies the others', async () => {
      // A user that may only touch `allowed:*` keys: writes to other keys get a NOPERM reply.
      const user = `limited-${randomUUID().slice(0, 8)}`;
      await server.cli('ACL', 'SETUSER', user, 'on', '>s3cret-pw', '~allowed:*', '+@all');
      try {
        const store = await openStore(`redis://${user}:s3cret-pw@127.0.0.1:${server.port}`);
        expect(store.description).not.toContain('s3cret-pw');
        const [a, b, c] = [`allowed:${prefix}a`, `allowed:${prefix}b`, `allowed:${prefix}c`];
        await server.cli('SET', b, 'to delete');
        const batch: L2Write[] = [
          set(a, 'A'),
          set(`denied:${prefix}x`, 'X'),
          { kind: 'del', key: b },
          set(c, 'C'),
          { kind: 'del', key: `denied:${prefix}y` },
        ];
        const { error } = await timed(store.write(batch));
        expect(error).toBeInstanceOf(CacheBatchError);
        expect((error as CacheBatchError).failedIndexes).toEqual([1, 4]);
        expect(String((error as CacheBatchError).cause)).toMatch(/NOPERM/);
        expect(await server.cli('GET', a)).toBe('A');
        expect(await server.cli('EXISTS', b)).toBe('0');
        expect(await server.cli('GET', c)).toBe('C');
        await server.cli('DEL', a, c);
      } finally {
        await server.cli('ACL', 'DELUSER', user);
      }
    });
  });

  describe('write batches as script calls', () => {
    /** `calls` of each command in INFO commandstats. */
    async function commandCalls(): Promise<Record<string, number>> {
      const info = await server.cli('INFO', 'commandstats');
      const calls: Record<string, number> = {};
      for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
        calls[match[1]!] = Number(match[2]);
      }
      return calls;
    }

    it('sends 2,500 writes as 3 EVALSHA calls, each write one SET PX inside Redis', async () => {
      const store = await openStore(server.url);
      await store.write([set(`${prefix}warm`, 'w')]); // loads the script
      await server.cli('CONFIG', 'RESETSTAT');
      const keys = Array.from({ length: 2_500 }, (_, i) => `${prefix}s${i}`);
      await store.write(keys.map((key, i) => set(key, `v${i}`, 30_000)));
      const calls = await commandCalls();
      expect(calls['evalsha']).toBe(3);
      expect(calls['set']).toBe(2_500);
      expect(calls['expire'] ?? 0).toBe(0);
      expect(await server.cli('GET', keys[2_499]!)).toBe('v2499');
      const pttl = Number(await server.cli('PTTL', keys[0]!));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(30_000);
      await store.del([...keys, `${prefix}warm`]);
    });

    it('sends the script again after SCRIPT FLUSH (NOSCRIPT), as after a restart', async () => {
      const store = await openStore(server.url);
      await store.write([set(`${prefix}a`, '1')]);
      await server.cli('SCRIPT', 'FLUSH');
      await store.write([set(`${prefix}b`, '2'), { kind: 'del', key: `${prefix}a` }]);
      expect(await server.cli('GET', `${prefix}b`)).toBe('2');
      expect(await server.cli('EXISTS', `${prefix}a`)).toBe('0');
      await store.del([`${prefix}b`]);
    });

    it('writes, reads and deletes under the client key prefix (l2.redis.keyPrefix)', async () => {
      const store = RedisStore.fromOptions({
        type: 'redis',
        url: server.url,
        redis: { keyPrefix: 'tenant7:' },
      });
      openStores.push(store);
      await store.connect();
      const keys = Array.from({ length: 50 }, (_, i) => `${prefix}p${i}`);
      await store.write([
        ...keys.map((key, i) => set(key, `v${i}`)),
        { kind: 'del', key: keys[7]! },
      ]);
      expect(await server.cli('GET', `tenant7:${keys[3]!}`)).toBe('v3');
      expect(await server.cli('EXISTS', keys[3]!)).toBe('0');
      expect(await server.cli('EXISTS', `tenant7:${keys[7]!}`)).toBe('0');
      const values = await store.mget(keys);
      expect(values[3]?.toString()).toBe('v3');
      expect(values[7]).toBeUndefined();
      await store.del(keys);
      expect(await server.cli('EXISTS', `tenant7:${keys[3]!}`)).toBe('0');
    });

    it('falls back to pipelines for good when the ACL forbids scripts, losing no write', async () => {
      const user = `noscript-${randomUUID().slice(0, 8)}`;
      await server.cli('ACL', 'SETUSER', user, 'on', '>s3cret-pw', '~*', '+@all', '-@scripting');
      try {
        const store = await openStore(`redis://${user}:s3cret-pw@127.0.0.1:${server.port}`);
        await server.cli('CONFIG', 'RESETSTAT');
        await store.write([set(`${prefix}a`, 'A'), set(`${prefix}b`, 'B')]);
        await store.write([set(`${prefix}c`, 'C'), { kind: 'del', key: `${prefix}a` }]);
        expect(await server.cli('MGET', `${prefix}a`, `${prefix}b`, `${prefix}c`)).toBe('\nB\nC');
        const calls = await commandCalls();
        expect(calls['set']).toBe(3);
        // Refused once, then never tried again.
        expect((calls['evalsha'] ?? 0) + (calls['eval'] ?? 0)).toBeLessThanOrEqual(1);
        await store.del([`${prefix}b`, `${prefix}c`]);
      } finally {
        await server.cli('ACL', 'DELUSER', user);
      }
    });

    it('can be turned off: scriptedWrites false sends pipelines', async () => {
      const store = await openStore(server.url, { scriptedWrites: false });
      await server.cli('CONFIG', 'RESETSTAT');
      await store.write([set(`${prefix}a`, 'A'), set(`${prefix}b`, 'B')]);
      const calls = await commandCalls();
      expect(calls['set']).toBe(2);
      expect(calls['evalsha'] ?? 0).toBe(0);
      await store.del([`${prefix}a`, `${prefix}b`]);
    });
  });

  describe('keys and values', () => {
    it('stores keys as their UTF-8 bytes, so redis-cli reads what the store wrote and back', async () => {
      const store = await openStore(server.url);
      const key = `${prefix}ключ 🔑:a b`;
      await store.write([set(key, 'from store')]);
      expect(await server.cli('GET', key)).toBe('from store');
      await server.cli('SET', `${key}:2`, 'from cli');
      expect((await store.get(`${key}:2`))?.toString()).toBe('from cli');
      await store.del([key, `${key}:2`]);
      expect(await server.cli('EXISTS', key, `${key}:2`)).toBe('0');
    });
  });

  describe('mget() and del() of more than 1,000 keys', () => {
    it('reads and deletes 2,500 keys (three chunks, one pipeline)', async () => {
      const store = await openStore(server.url);
      const keys = Array.from({ length: 2_500 }, (_, i) => `${prefix}${i}`);
      await store.write(keys.map((key, i) => set(key, String(i))));
      const values = await store.mget([...keys, `${prefix}missing`]);
      expect(values).toHaveLength(2_501);
      expect(values[0]?.toString()).toBe('0');
      expect(values[1_000]?.toString()).toBe('1000');
      expect(values[2_499]?.toString()).toBe('2499');
      expect(values[2_500]).toBeUndefined();
      await store.del(keys);
      expect(await server.cli('EXISTS', ...keys)).toBe('0');
    });
  });

  describe('connect()', () => {
    it('resolves after connectWaitMs when nothing listens, then works once a server starts there', async () => {
      const port = await freePort();
      const store = RedisStore.fromOptions(
        { type: 'redis', host: '127.0.0.1', port },
        { connectWaitMs: 300 },
      );
      openStores.push(store);
      const connecting = await timed(store.connect());
      expect(connecting.error).toBeUndefined();
      expect(connecting.ms).toBeLessThan(1_000);
      const refused = await timed(store.get('k'));
      expect(refused.error).toBeInstanceOf(Error);
      expect(refused.ms).toBeLessThan(FAST_FAILURE_MS);

      const late = await RedisServer.start({ port });
      try {
        const started = performance.now();
        await waitFor(async () => (await store.get('k')) === undefined, {
          timeoutMs: 5_000,
          message: 'the store to reconnect to the late server',
        });
        report('reconnected to a late server after', performance.now() - started);
      } finally {
        await late.stop();
      }
    });
  });

  describe('close()', () => {
    it('leaves no socket open and stops reconnecting', async () => {
      const store = RedisStore.fromOptions({ type: 'redis', url: server.url });
      await store.connect();
      await store.write([set(`${prefix}k`, 'v')]);
      await store.close();
      expect(fullyClosed(store)).toBe(true);
      await server.cli('DEL', `${prefix}k`);
    });

    it('is safe to call twice, and on a store that never connected', async () => {
      const never = RedisStore.fromOptions({ type: 'redis', url: server.url });
      await never.close();
      await never.close();
      expect(never.client.status).toBe('end');
    });
  });

  describe('faults (own server)', () => {
    let faulty: RedisServer;
    beforeEach(async () => {
      faulty = await RedisServer.start();
    });
    afterEach(async () => {
      await faulty.stop();
    });

    it('fails calls fast while the server is killed, and works again after restart without being recreated', async () => {
      const store = await openStore(faulty.url);
      await store.write([set('k', 'before')]);
      await faulty.kill();

      const get = await timed(store.get('k'));
      const mget = await timed(store.mget(['k', 'j']));
      const write = await timed(store.write([set('k', 'during'), { kind: 'del', key: 'j' }]));
      const del = await timed(store.del(['k']));
      for (const [name, call] of Object.entries({ get, mget, write, del })) {
        report(`${name} with the server killed failed after`, call.ms);
        expect(call.error).toBeInstanceOf(Error);
        expect(call.ms).toBeLessThan(FAST_FAILURE_MS);
      }
      // Nothing of the batch can have been applied: a plain error, not a partial failure.
      expect(write.error).not.toBeInstanceOf(CacheBatchError);

      await faulty.restart();
      const started = performance.now();
      await waitFor(async () => (await store.get('k')) === undefined, {
        timeoutMs: 5_000,
        message: 'the store to reconnect after restart (empty dataset)',
      });
      report('working again after restart in', performance.now() - started);
      await store.write([set('k', 'after')]);
      expect((await store.get('k'))?.toString()).toBe('after');
    });

    it('rejects a call in flight when the server dies, instead of leaving it unsettled', async () => {
      const store = await openStore(faulty.url);
      await faulty.pause();
      const inFlight = timed(store.get('k'));
      const inFlightWrite = timed(store.write([set('k', 'v')]));
      // Both commands are written to the socket synchronously, before any await in the store.
      const killedAt = performance.now();
      await faulty.kill();
      const [read, write] = await Promise.all([inFlight, inFlightWrite]);
      expect(read.error).toBeInstanceOf(Error);
      expect(write.error).toBeInstanceOf(Error);
      report('in-flight call rejected after the kill in', performance.now() - killedAt);
      expect(performance.now() - killedAt).toBeLessThan(FAST_FAILURE_MS);
    });

    it('closes within about a second, socket included, when the server hangs (SIGSTOP)', async () => {
      const store = RedisStore.fromOptions({ type: 'redis', url: faulty.url });
      await store.connect();
      await faulty.pause();
      const pending = timed(store.get('k'));
      const closing = await timed(store.close());
      report('close() with a hung server took', closing.ms);
      expect(closing.ms).toBeLessThan(1_500);
      expect((await pending).error).toBeInstanceOf(Error);
      expect(fullyClosed(store)).toBe(true);
      await faulty.resume();
    });
  });
});
