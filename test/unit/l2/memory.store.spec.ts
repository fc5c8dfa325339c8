import { CacheBatchError } from '../../../lib/errors/l2.errors.js';
import { CacheL2Error } from '../../../lib/errors/l2.errors.js';
import type { L2Write } from '../../../lib/contracts/l2-store.interface.js';
import { MemoryStore, type MemoryStoreOptions } from '../../../lib/l2/memory/memory.store.js';

/** The hand-driven clock of the store under test, epoch milliseconds. */
let clock = 1_000;

/** A store on the hand-driven clock. */
function storeAt(options: MemoryStoreOptions = {}): {
  store: MemoryStore;
  advance: (ms: number) => void;
} {
  clock = 1_000;
  const store = new MemoryStore({ ...options, now: () => clock });
  return { store, advance: (ms) => (clock += ms) };
}

/** A set expiring `ttlMs` from now on the store's clock. */
const set = (key: string, ttlMs: number, value = 'v'): L2Write => ({
  kind: 'set',
  key,
  value: Buffer.from(value),
  expiresAt: clock + ttlMs,
});

/** The store's sweep timer, read for the tests of its lifecycle. */
const timerOf = (store: MemoryStore): NodeJS.Timeout | undefined =>
  (store as unknown as { sweepTimer: NodeJS.Timeout | undefined }).sweepTimer;

const stores: MemoryStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

describe('MemoryStore', () => {
  describe('get()', () => {
    it('returns the value until ttlMs have passed, and undefined from then on', async () => {
      const { store, advance } = storeAt();
      stores.push(store);
      await store.write([set('k', 100)]);
      advance(99);
      expect((await store.get('k'))?.toString()).toBe('v');
      advance(1);
      await expect(store.get('k')).resolves.toBeUndefined();
      expect(store.size).toBe(0);
    });
  });

  describe('write()', () => {
    it('fails alone a set whose value is not a Buffer', async () => {
      const { store } = storeAt();
      stores.push(store);
      const bad = { kind: 'set', key: 'b', value: 'text', ttlMs: 100 } as unknown as L2Write;
      const error: unknown = await store.write([set('a', 100), bad]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CacheBatchError);
      expect((error as CacheBatchError).failedIndexes).toEqual([1]);
      expect((error as CacheBatchError).cause).toBeInstanceOf(CacheL2Error);
      expect(await store.get('a')).toBeDefined();
    });
  });

  describe('sweep()', () => {
    it('drops expired entries only, at most `limit` per call, resuming where it stopped', async () => {
      const { store, advance } = storeAt();
      stores.push(store);
      await store.write([set('a', 10), set('b', 1_000), set('c', 10), set('d', 10), set('e', 10)]);
      advance(10);
      expect(store.sweep(2)).toBe(1); // a (expired), b (alive)
      expect(store.size).toBe(4);
      expect(store.sweep(2)).toBe(2); // c, d
      expect(store.sweep(2)).toBe(1); // e, then the end of the Map
      expect(store.size).toBe(1);
      await expect(store.get('b')).resolves.toBeDefined();
    });

    it('visits a key rewritten during a sweep', async () => {
      const { store, advance } = storeAt();
      stores.push(store);
      await store.write([set('a', 10), set('b', 10), set('c', 10)]);
      expect(store.sweep(1)).toBe(0);
      await store.write([set('a', 20)]);
      advance(20);
      expect(store.sweep(10)).toBe(3);
      expect(store.size).toBe(0);
    });
  });

  describe('the sweep timer', () => {
    it('starts on the first write, does not keep the process alive, and stops on close()', async () => {
      const store = new MemoryStore({ sweepIntervalMs: 60_000, now: () => clock });
      stores.push(store);
      expect(timerOf(store)).toBeUndefined();
      await store.write([set('k', 1_000)]);
      const timer = timerOf(store);
      expect(timer).toBeDefined();
      expect(timer?.hasRef()).toBe(false);
      await store.close();
      expect(timerOf(store)).toBeUndefined();
    });

    it('stops when a sweep leaves the store empty, and sweeps by itself', async () => {
      clock = 0;
      const store = new MemoryStore({ sweepIntervalMs: 5, now: () => clock });
      stores.push(store);
      await store.write([set('k', 1)]);
      clock = 1;
      const deadline = Date.now() + 2_000;
      while (timerOf(store) !== undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(store.size).toBe(0);
      expect(timerOf(store)).toBeUndefined();
    });
  });

  describe('close()', () => {
    it('drops every entry and makes later calls reject with CacheL2Error', async () => {
      const { store } = storeAt();
      await store.write([set('k', 1_000)]);
      await store.close();
      expect(store.size).toBe(0);
      await expect(store.get('k')).rejects.toBeInstanceOf(CacheL2Error);
      await expect(store.mget(['k'])).rejects.toBeInstanceOf(CacheL2Error);
      await expect(store.del(['k'])).rejects.toBeInstanceOf(CacheL2Error);
      await store.close();
    });
  });
});
