import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { CacheFlushTimeoutError } from '../../../lib/errors/cache.errors.js';
import { CacheL2Error } from '../../../lib/errors/l2.errors.js';
import { CacheOverflowError } from '../../../lib/errors/cache.errors.js';
import { CacheSerializationError } from '../../../lib/errors/cache.errors.js';
import { CacheKeyError } from '../../../lib/errors/cache.errors.js';
import type { CacheEvent } from '../../../lib/events/cache-event.js';
import { MemoryStore } from '../../../lib/l2/memory/memory.store.js';
import type { DistributedCacheModuleOptions } from '../../../lib/options/cache-options.interface.js';
import { resolveCacheOptions } from '../../../lib/options/options.validator.js';
import { TieredCache } from '../../../lib/tiering/tiered-cache.js';
import { ChaosStore } from '../../support/chaos-store.js';
import { waitFor } from '../../support/poll.js';

const caches: TieredCache[] = [];
const stores: ChaosStore[] = [];

/** A started cache (its namespace version known, as after application start-up). */
async function setup(
  options: DistributedCacheModuleOptions = {},
  store = new ChaosStore(new MemoryStore()),
): Promise<{ cache: TieredCache; store: ChaosStore }> {
  const cache = new TieredCache(
    resolveCacheOptions({
      namespace: 't',
      l2TimeoutMs: 100,
      ...options,
      writeBehind: {
        retryBaseDelayMs: 5,
        retryMaxDelayMs: 20,
        shutdownTimeoutMs: 2_000,
        ...options.writeBehind,
      },
    }),
    store,
  );
  caches.push(cache);
  if (!stores.includes(store)) stores.push(store);
  await cache.start();
  return { cache, store };
}

afterEach(async () => {
  for (const store of stores) store.recover();
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

describe('TieredCache', () => {
  describe('get()', () => {
    it('returns undefined for a miss and counts it', async () => {
      const { cache } = await setup();
      expect(await cache.get('nope')).toBeUndefined();
      expect(cache.stats().misses).toBe(1);
    });

    it('answers from L1 with the value as set() encoded it, decoded once, and null as a value', async () => {
      const { cache } = await setup();
      const product = { id: 1, name: 'lamp', added: new Date(0) };
      await cache.set('p', product);
      await cache.set('n', null);
      product.name = 'changed after set()';
      const first = await cache.get('p');
      expect(first).toEqual({ id: 1, name: 'lamp', added: new Date(0) });
      expect(await cache.get('p')).toBe(first); // decoded at the first read only
      expect(await cache.get('n')).toBeNull();
      expect(cache.stats()).toMatchObject({ l1Hits: 3, misses: 0, sets: 2 });
    });

    it('decodes a value set here with a custom serializer at its first read, from L1 or the queue', async () => {
      const serializer = {
        serialize: (value: unknown) => Buffer.from(`x${JSON.stringify(value)}`),
        deserialize: (payload: Buffer) => JSON.parse(payload.toString('utf8').slice(1)) as unknown,
      };
      const { cache } = await setup({ serializer });
      await cache.set('p', { id: 1 });
      expect(await cache.get('p')).toEqual({ id: 1 });
      const { cache: noL1 } = await setup({
        serializer,
        l1: false,
        writeBehind: { flushIntervalMs: 10_000 },
      });
      await noL1.set('q', { id: 2 }); // still queued: read your writes
      expect(await noL1.get('q')).toEqual({ id: 2 });
      expect(noL1.stats()).toMatchObject({ pending: 1, l1Hits: 1 });
    });

    it('shares a mutation of a returned object with later reads of this instance only', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: a } = await setup({}, store);
      const { cache: b } = await setup({}, store);
      await a.set('p', { stock: 5 });
      await a.flush();
      (await a.get<{ stock: number }>('p'))!.stock = 0;
      expect(await a.get('p')).toEqual({ stock: 0 });
      expect(await b.get('p')).toEqual({ stock: 5 });
    });

    it('reads L2 on an L1 miss and fills L1 with the remaining TTL, not the full one', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: writer } = await setup({}, store);
      const { cache: reader } = await setup({ l1: { ttl: '1m' } }, store);
      const setAt = Date.now();
      await writer.set('k', 'v', { ttl: 400 });
      await writer.flush();
      await waitFor(() => Date.now() - setAt >= 200, { message: '200 ms to pass' });
      expect(await reader.get('k')).toBe('v');
      expect(reader.stats().l2Hits).toBe(1);
      expect(await reader.get('k')).toBe('v');
      expect(reader.stats().l1Hits).toBe(1);
      await waitFor(async () => (await reader.get('k')) === undefined, {
        timeoutMs: 2_000,
        intervalMs: 5,
        message: 'entry to expire',
      });
      // Gone at its original expiry (~400 ms after set), not 400 ms after the L2 read.
      expect(Date.now() - setAt).toBeLessThan(550);
    });

    it('answers a miss within l2TimeoutMs when L2 hangs, and counts an L2 error', async () => {
      const { cache, store } = await setup({ l2TimeoutMs: 100 });
      store.stall();
      const started = performance.now();
      expect(await cache.get('k')).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(250);
      expect(cache.stats().l2Errors).toBe(1);
    });

    it('reads a corrupt L2 payload as a miss and reports it as an error event', async () => {
      const { cache, store } = await setup();
      const events = firstValueFrom(cache.events$.pipe(filter((e) => e.type === 'error')));
      await store.inner.write([
        {
          kind: 'set',
          key: 't:bad',
          value: Buffer.from('garbage'),
          expiresAt: Date.now() + 10_000,
        },
      ]);
      expect(await cache.get('bad')).toBeUndefined();
      const event = await events;
      expect(event).toMatchObject({ type: 'error', operation: 'decode', key: 'bad' });
      expect(cache.stats().l2Errors).toBe(1);
      expect(await cache.get('other')).toBeUndefined();
    });

    it('does not let an L2 answer that raced a local write overwrite L1', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: other } = await setup({}, store);
      await other.set('k', 'old');
      await other.flush();
      const { cache } = await setup({}, store);
      store.stall();
      const read = cache.get('k');
      await cache.set('k', 'new');
      store.recover();
      await read;
      expect(await cache.get('k')).toBe('new');
    });

    it('serves its own queued write when L1 is disabled (read-your-writes before the flush)', async () => {
      const { cache, store } = await setup({ l1: false, writeBehind: { flushIntervalMs: 10_000 } });
      await cache.set('k', { a: 1 });
      expect(await cache.get('k')).toEqual({ a: 1 });
      expect(await store.inner.get('t:k')).toBeUndefined();
      await cache.del('k');
      expect(await cache.get('k')).toBeUndefined();
    });

    it('rejects a key that is not a non-empty string', async () => {
      const { cache } = await setup();
      await expect(cache.get('')).rejects.toBeInstanceOf(CacheKeyError);
      await expect(cache.get(42 as unknown as string)).rejects.toBeInstanceOf(CacheKeyError);
    });
  });

  describe('concurrent L2 reads', () => {
    it('coalesces the L1 misses of one tick into MGETs of at most 50 reads, answering each caller its own key', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: writer } = await setup({}, store);
      await writer.mset(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: i })));
      await writer.flush();
      const { cache } = await setup({}, store);
      const readsBefore = store.reads.length;
      const values = await Promise.all(Array.from({ length: 100 }, (_, i) => cache.get(`k${i}`)));
      expect(values).toEqual(Array.from({ length: 100 }, (_, i) => i));
      // The first read found nothing in flight and left at once; the 99 others of the tick
      // leave as two MGETs of about equal size, each with the namespace version key once.
      expect(store.reads.slice(readsBefore).map((keys) => keys.length)).toEqual([2, 51, 50]);
      const asked = store.reads.slice(readsBefore).flat();
      expect(asked.filter((key) => key.startsWith('t:k'))).toHaveLength(100);
      expect(new Set(asked.filter((key) => key.startsWith('t:k'))).size).toBe(100);
    });

    it('fetches a key that many reads of one tick ask for once, whatever the split', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: writer } = await setup({}, store);
      await writer.mset([
        { key: 'hot', value: -1 },
        ...Array.from({ length: 120 }, (_, i) => ({ key: `k${i}`, value: i })),
      ]);
      await writer.flush();
      const { cache } = await setup({}, store);
      const first = cache.get('k0'); // leaves alone: the reads below gather in one tick
      const readsBefore = store.reads.length;
      const keys = Array.from({ length: 240 }, (_, i) => (i % 2 === 0 ? 'hot' : `k${i >> 1}`));
      const values = await Promise.all(keys.map((key) => cache.get(key)));
      expect(await first).toBe(0);
      expect(values).toEqual(keys.map((key) => (key === 'hot' ? -1 : Number(key.slice(1)))));
      const calls = store.reads.slice(readsBefore);
      expect(calls.length).toBeGreaterThan(1);
      expect(calls.flat().filter((key) => key === 't:hot')).toHaveLength(1);
      for (const call of calls) expect(call.length).toBeLessThanOrEqual(51);
    });

    it('sends a lone read at once, without waiting a tick for company', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: writer } = await setup({}, store);
      await writer.set('k', 1);
      await writer.flush();
      const { cache } = await setup({}, store);
      const readsBefore = store.reads.length;
      const reading = cache.get('k');
      expect(store.reads.length - readsBefore).toBe(1); // already asked, synchronously
      expect(await reading).toBe(1);
    });
  });

  describe('mget()', () => {
    it('returns values in key order with undefined for misses, from both tiers', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: writer } = await setup({}, store);
      await writer.mset([
        { key: 'a', value: 1 },
        { key: 'b', value: null },
      ]);
      await writer.flush();
      const { cache } = await setup({}, store);
      await cache.set('c', 3);
      expect(await cache.mget(['a', 'x', 'b', 'c'])).toEqual([1, undefined, null, 3]);
      expect(cache.stats()).toMatchObject({ l2Hits: 2, l1Hits: 1, misses: 1 });
    });
  });

  describe('set()', () => {
    it('resolves before L2 has the value, and flush() resolves once it does', async () => {
      const { cache, store } = await setup({ writeBehind: { flushIntervalMs: 200 } });
      await cache.set('k', 'v');
      expect(await store.inner.get('t:k')).toBeUndefined();
      expect(cache.stats().pending).toBe(1);
      await cache.flush();
      expect(await store.inner.get('t:k')).toBeInstanceOf(Buffer);
      expect(cache.stats()).toMatchObject({ pending: 0, flushed: 1, batches: 1 });
    });

    it('coalesces writes of one key: the last value wins and is sent once', async () => {
      const { cache, store } = await setup({ writeBehind: { flushIntervalMs: 50 } });
      for (let i = 0; i < 100; i++) await cache.set('k', i);
      await cache.flush();
      expect(store.writtenKeys()).toEqual(['set:t:k']);
      const { cache: reader } = await setup({}, store);
      expect(await reader.get('k')).toBe(99);
    });

    it('sends batches of at most maxBatchSize writes', async () => {
      const { cache, store } = await setup({
        writeBehind: { maxBatchSize: 100, flushIntervalMs: 5 },
      });
      await Promise.all(Array.from({ length: 1050 }, (_, i) => cache.set(`k${i}`, i)));
      await cache.flush();
      expect(store.batches.length).toBeGreaterThanOrEqual(11);
      expect(Math.max(...store.batches.map((batch) => batch.length))).toBeLessThanOrEqual(100);
      expect(store.batches.flat()).toHaveLength(1050);
    });

    it('retries a failed batch with backoff until it lands', async () => {
      const { cache, store } = await setup();
      store.failNext(3);
      await cache.set('k', 'v');
      await cache.flush();
      expect(await store.inner.get('t:k')).toBeInstanceOf(Buffer);
      expect(cache.stats().retries).toBe(3);
      expect(cache.stats().l2Errors).toBe(3);
    });

    it('lets a newer write supersede a failed one, which is then never sent again', async () => {
      const { cache, store } = await setup();
      store.failAlways();
      await cache.set('k', 'v1');
      await waitFor(() => cache.stats().retries >= 1, { message: 'first batch to fail' });
      await cache.set('k', 'v2');
      store.recover();
      await cache.flush();
      const { cache: reader } = await setup({}, store);
      expect(await reader.get('k')).toBe('v2');
      expect(store.writtenKeys()).toEqual(['set:t:k']);
    });

    it('writes the remaining TTL, and a write that expired while queued becomes a delete', async () => {
      const { cache, store } = await setup();
      await store.inner.write([
        { kind: 'set', key: 't:k', value: Buffer.from('older'), expiresAt: Date.now() + 60_000 },
      ]);
      store.failAlways();
      await cache.set('k', 'short-lived', { ttl: 50 });
      await waitFor(async () => (await cache.get('k')) === undefined, {
        message: 'entry to expire',
      });
      store.recover();
      await cache.flush();
      expect(store.batches.flat()).toEqual([{ kind: 'del', key: 't:k' }]);
      expect(await store.inner.get('t:k')).toBeUndefined();
    });

    it('rejects bad arguments at once: undefined, a TTL over 365 days, storing nothing', async () => {
      const { cache } = await setup();
      await expect(cache.set('undef', undefined)).rejects.toThrow(CacheSerializationError);
      await expect(cache.set('forever', 1, { ttl: '366d' })).rejects.toThrow(/365 days/);
      await expect(
        cache.mset<unknown>([
          { key: 'a', value: 1 },
          { key: 'b', value: undefined },
        ]),
      ).rejects.toThrow(/"b"/);
      expect(cache.stats()).toMatchObject({ pending: 0, sets: 0 });
      expect(await cache.get('a')).toBeUndefined();
    });

    it('write-behind: rejects a value it cannot encode with CacheSerializationError naming the key and path, storing nothing of it', async () => {
      const { cache, store } = await setup();
      class Product {
        constructor(readonly id: number) {}
      }
      const circular: Record<string, unknown> = { ok: 1 };
      circular['nested'] = { self: circular };
      await cache.set('before', 1);
      const bad: Array<[string, unknown, RegExp]> = [
        ['circular', circular, /"circular".*circular/],
        ['fn', { run: () => 1 }, /run.*function/],
        ['symbol', { s: Symbol('x') }, /symbol/i],
        ['instance', { p: new Product(1) }, /Product/],
      ];
      for (const [key, value, message] of bad) {
        const error: unknown = await cache.set(key, value).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(CacheSerializationError);
        expect((error as CacheSerializationError).key).toBe(key);
        expect(String(error)).toMatch(message);
      }
      const msetError: unknown = await cache
        .mset<unknown>([
          { key: 'm-good', value: 1 },
          { key: 'm-bad', value: { f: () => 2 } },
        ])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((msetError as CacheSerializationError).key).toBe('m-bad');
      await cache.set('after', 2);
      await cache.flush();
      for (const [key] of bad) expect(await cache.get(key)).toBeUndefined();
      expect(await cache.get('m-good')).toBeUndefined();
      expect(await store.inner.get('t:before')).toBeInstanceOf(Buffer);
      expect(await store.inner.get('t:after')).toBeInstanceOf(Buffer);
      const written = store.writtenKeys();
      for (const key of ['t:circular', 't:fn', 't:symbol', 't:instance', 't:m-good', 't:m-bad']) {
        expect(written).not.toContain(`set:${key}`);
      }
      expect(cache.stats()).toMatchObject({ pending: 0, dropped: 0, sets: 2 });
    });

    it('write-behind: keeps what the value was at set(): a later mutation reaches neither L2 nor other instances', async () => {
      const { cache, store } = await setup();
      const value = { price: 10 };
      await cache.set('k', value);
      value.price = 99;
      await cache.flush();
      const { cache: other } = await setup({ l1: false }, store);
      expect(await other.get('k')).toEqual({ price: 10 });
    });

    it('write-through: rejects a value it cannot serialize with CacheSerializationError naming the key, storing nothing', async () => {
      const { cache, store } = await setup({ writeBehind: { enabled: false } });
      const circular: Record<string, unknown> = {};
      circular['self'] = circular;
      await expect(cache.set('bad-key', circular)).rejects.toThrow(CacheSerializationError);
      await expect(cache.set('bad-key', circular)).rejects.toThrow(/bad-key/);
      await expect(cache.set('fn', () => 1)).rejects.toThrow(CacheSerializationError);
      await expect(
        cache.mset<unknown>([
          { key: 'a', value: 1 },
          { key: 'b', value: Symbol('x') },
        ]),
      ).rejects.toThrow(/"b"/);
      expect(cache.stats()).toMatchObject({ pending: 0, sets: 0 });
      expect(await cache.get('bad-key')).toBeUndefined();
      expect(await cache.get('a')).toBeUndefined();
      expect(await store.inner.get('t:a')).toBeUndefined();
      await cache.set('good', 1);
      expect(await cache.get('good')).toBe(1);
    });

    it('writes through when write-behind is disabled, and rejects when L2 fails', async () => {
      const { cache, store } = await setup({ writeBehind: { enabled: false } });
      await cache.set('k', 'v');
      expect(await store.inner.get('t:k')).toBeInstanceOf(Buffer);
      store.failNext(1);
      await expect(cache.set('k2', 'v')).rejects.toBeInstanceOf(CacheL2Error);
    });
  });

  describe('overflow', () => {
    it("drops the oldest queued writes past maxPending with 'drop-oldest', reporting each", async () => {
      const { cache, store } = await setup({
        writeBehind: { maxPending: 10, maxBatchSize: 5, overflow: 'drop-oldest' },
      });
      const drops = cache.events$.pipe(
        filter((e: CacheEvent) => e.type === 'drop'),
        take(15),
        toArray(),
      );
      const dropped = firstValueFrom(drops);
      store.failAlways();
      for (let i = 0; i < 25; i++) await cache.set(`k${i}`, i);
      expect(cache.stats().pending).toBeLessThanOrEqual(10);
      expect(cache.stats().dropped).toBe(15);
      expect((await dropped).map((e) => (e as { key: string }).key)).toContain('k0');
      store.recover();
      await cache.flush();
      const { cache: reader } = await setup({}, store);
      expect(await reader.get('k24')).toBe(24);
      expect(await reader.get('k0')).toBeUndefined();
    });

    it("rejects the new write with 'reject', leaving L1 unchanged", async () => {
      const { cache, store } = await setup({
        writeBehind: { maxPending: 5, maxBatchSize: 5, overflow: 'reject' },
      });
      store.failAlways();
      for (let i = 0; i < 5; i++) await cache.set(`k${i}`, i);
      await expect(cache.set('k5', 5)).rejects.toBeInstanceOf(CacheOverflowError);
      expect(await cache.get('k5')).toBeUndefined();
      await cache.set('k1', 'rewrite of a queued key is allowed');
    });
  });

  describe('del()', () => {
    it('removes the key from both tiers and cancels its queued write', async () => {
      const { cache, store } = await setup({ writeBehind: { flushIntervalMs: 100 } });
      await cache.set('k', 'v');
      await cache.del('k');
      await cache.flush();
      expect(await cache.get('k')).toBeUndefined();
      expect(store.writtenKeys()).toEqual(['del:t:k']);
    });

    it('lands after a batch of the same key already in flight', async () => {
      const { cache, store } = await setup({ l2TimeoutMs: 2_000 });
      await cache.set('k', 'v');
      store.stall();
      const flushing = cache.flush();
      await waitFor(() => cache.stats().pending === 1 && store.batches.length === 0, {
        message: 'batch in flight',
      });
      const deleting = cache.del('k');
      store.recover();
      await Promise.all([flushing, deleting]);
      expect(store.writtenKeys()).toEqual(['set:t:k', 'del:t:k']);
      expect(await store.inner.get('t:k')).toBeUndefined();
    });

    it('resolves when L2 is down and the delete lands once L2 is back', async () => {
      const { cache, store } = await setup();
      await cache.set('k', 'v');
      await cache.flush();
      store.failAlways();
      await cache.del('k');
      expect(cache.stats().pending).toBe(1);
      store.recover();
      await cache.flush();
      expect(await store.inner.get('t:k')).toBeUndefined();
    });
  });

  describe('getOrSet()', () => {
    it('runs the factory once for 1,000 concurrent misses of one key', async () => {
      const { cache } = await setup();
      let runs = 0;
      const factory = async (): Promise<string> => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return 'value';
      };
      const results = await Promise.all(
        Array.from({ length: 1000 }, () => cache.getOrSet('k', factory)),
      );
      expect(runs).toBe(1);
      expect(new Set(results)).toEqual(new Set(['value']));
      expect(await cache.getOrSet('k', factory)).toBe('value');
      expect(runs).toBe(1);
    });

    it('rejects every waiter with the factory error and caches nothing', async () => {
      const { cache } = await setup();
      let runs = 0;
      const boom = new Error('origin down');
      const factory = async (): Promise<string> => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw boom;
      };
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, () => cache.getOrSet('k', factory)),
      );
      expect(runs).toBe(1);
      for (const result of results) expect(result).toEqual({ status: 'rejected', reason: boom });
      expect(cache.stats().sets).toBe(0);
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.getOrSet('k', () => 'recovered')).toBe('recovered');
    });

    it('does not deadlock when a factory asks for its own key', async () => {
      const { cache } = await setup();
      const inner = (): Promise<string> => cache.getOrSet('k', () => 'inner value');
      const outer = await cache.getOrSet('k', async () => `outer of ${await inner()}`);
      expect(outer).toBe('outer of inner value');
      expect(await cache.get('k')).toBe('outer of inner value');
    });

    it('returns undefined from the factory without caching it', async () => {
      const { cache } = await setup();
      expect(await cache.getOrSet('k', () => undefined)).toBeUndefined();
      expect(cache.stats().sets).toBe(0);
    });
  });

  describe('getOrSet() with lock', () => {
    it('takes the key’s lock once on a miss, writes the value and frees the lock with it', async () => {
      const { cache, store } = await setup();
      let runs = 0;
      const values = await Promise.all(
        Array.from({ length: 20 }, () => cache.getOrSet('k', async () => ++runs, { lock: true })),
      );
      expect(values).toEqual(Array.from({ length: 20 }, () => 1));
      expect(cache.stats()).toMatchObject({ lockAcquired: 1, lockWaits: 0, lockFallbacks: 0 });
      // Sent at once, not after flushIntervalMs, and carrying the release of the lock.
      const write = store.batches.flat().find((w) => w.key === 't:k');
      expect(write).toMatchObject({ kind: 'set', releases: { key: 't|l:{t:k}' } });
      await expect(store.inner.locks!.acquire('t|l:{t:k}', 'next', 1_000)).resolves.toBe(true);
      // A hit never touches the lock.
      await cache.getOrSet('k', async () => ++runs, { lock: true });
      expect(cache.stats().lockAcquired).toBe(1);
    });

    it('falls back to a local run, counted and reported, when L2 fails', async () => {
      const { cache, store } = await setup();
      const events: CacheEvent[] = [];
      cache.events$.subscribe((event) => events.push(event));
      store.failAlways();
      await expect(cache.getOrSet('k', async () => 'local', { lock: true })).resolves.toBe('local');
      expect(cache.stats().lockFallbacks).toBe(1);
      expect(events).toContainEqual({ type: 'lock-fallback', key: 'k', reason: 'l2-error' });
    });

    it('falls back, once checked, when lock keys cannot live beside value keys', async () => {
      const inner = new MemoryStore();
      let checks = 0;
      Object.defineProperty(inner, 'locks', {
        value: {
          ...inner.locks,
          colocated: () => {
            checks++;
            return Promise.resolve(false); // a twemproxy pool without hash_tag
          },
        },
      });
      const { cache } = await setup({}, new ChaosStore(inner));
      const events: CacheEvent[] = [];
      cache.events$.subscribe((event) => events.push(event));
      await cache.getOrSet('a', async () => 1, { lock: true });
      await cache.getOrSet('b', async () => 2, { lock: true });
      expect(checks).toBe(1);
      expect(cache.stats()).toMatchObject({ lockFallbacks: 2, lockAcquired: 0 });
      expect(events.filter((event) => event.type === 'lock-fallback')).toEqual([
        { type: 'lock-fallback', key: 'a', reason: 'unsupported' },
        { type: 'lock-fallback', key: 'b', reason: 'unsupported' },
      ]);
    });

    it('falls back when the store has no locks, and refuses a bad lock option', async () => {
      const inner = new MemoryStore();
      Object.defineProperty(inner, 'locks', { value: undefined }); // like a custom store without
      const { cache } = await setup({}, new ChaosStore(inner));
      await expect(cache.getOrSet('k', async () => 1, { lock: true })).resolves.toBe(1);
      expect(cache.stats().lockFallbacks).toBe(1);
      await expect(
        cache.getOrSet('x', async () => 1, { lock: 'yes' as never }),
      ).rejects.toMatchObject({ code: 'CACHE_OPTIONS', option: 'lock' });
    });
  });

  describe('getOrSet() with stale values', () => {
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('serves the expired value at once within staleWhileRevalidate and refreshes it once in the background', async () => {
      const { cache } = await setup();
      let runs = 0;
      // The factory takes long enough that serving without waiting for it is clear on a loaded
      // machine (it took 30 ms against a bound of 25: a 5 ms margin).
      const factoryMs = 250;
      const factory = async (): Promise<number> => {
        runs++;
        await pause(factoryMs);
        return runs;
      };
      // A TTL the refreshed value outlives a poll of a loaded test run by (it was 50 ms: once a
      // stalled event loop let it expire before the poll, the refresh looked lost).
      const options = { ttl: 250, staleWhileRevalidate: '5s' } as const;
      expect(await cache.getOrSet('k', factory, options)).toBe(1);
      expect(await cache.get('k')).toBe(1);
      await pause(270);
      // Expired: plain get() misses, getOrSet serves the stale value without waiting.
      expect(await cache.get('k')).toBeUndefined();
      const started = performance.now();
      const stale = await Promise.all(
        Array.from({ length: 20 }, () => cache.getOrSet('k', factory, options)),
      );
      expect(performance.now() - started).toBeLessThan(factoryMs / 2);
      expect(new Set(stale)).toEqual(new Set([1]));
      await waitFor(async () => (await cache.get('k')) === 2, { message: 'background refresh' });
      expect(runs).toBe(2);
    });

    it('serves the last value within grace when the factory throws, and backs off before retrying', async () => {
      const { cache } = await setup();
      let runs = 0;
      let failing = false;
      const factory = async (): Promise<string> => {
        runs++;
        if (failing) throw new Error('origin down');
        return 'good';
      };
      const options = { ttl: 30, grace: '10s' } as const;
      expect(await cache.getOrSet('k', factory, options)).toBe('good');
      await pause(50);
      failing = true;
      expect(await cache.getOrSet('k', factory, options)).toBe('good');
      expect(runs).toBe(2);
      // Within the backoff the factory is not called again.
      expect(await cache.getOrSet('k', factory, options)).toBe('good');
      expect(runs).toBe(2);
    });

    it('rethrows the factory error past the grace window', async () => {
      const { cache } = await setup();
      expect(await cache.getOrSet('k', () => 'v', { ttl: 30, grace: 40 })).toBe('v');
      await pause(100);
      await expect(
        cache.getOrSet('k', () => Promise.reject(new Error('origin down')), { ttl: 30, grace: 40 }),
      ).rejects.toThrow('origin down');
    });

    it('returns the stale value after timeout and stores the slow result when it arrives', async () => {
      const { cache } = await setup();
      await cache.getOrSet('k', () => 'old', { ttl: 30, grace: '10s' });
      await pause(50);
      const started = performance.now();
      const value = await cache.getOrSet(
        'k',
        async () => {
          await pause(300);
          return 'new';
        },
        { ttl: '1m', grace: '10s', timeout: 50 },
      );
      expect(value).toBe('old');
      expect(performance.now() - started).toBeLessThan(200);
      await waitFor(async () => (await cache.get('k')) === 'new', {
        message: 'slow factory result stored',
      });
    });

    it('waits for a slow factory when there is no stale value', async () => {
      const { cache } = await setup();
      const value = await cache.getOrSet(
        'k',
        async () => {
          await pause(80);
          return 'slow';
        },
        { timeout: 10 },
      );
      expect(value).toBe('slow');
    });

    it('keeps the stale window in L2, so another instance serves it stale too', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: a } = await setup({}, store);
      const { cache: b } = await setup({}, store);
      await a.getOrSet('k', () => 'v1', { ttl: 30, staleWhileRevalidate: '5s' });
      await a.flush();
      await pause(50);
      let refreshed = 0;
      expect(
        await b.getOrSet(
          'k',
          () => {
            refreshed++;
            return 'v2';
          },
          { ttl: '1m', staleWhileRevalidate: '5s' },
        ),
      ).toBe('v1');
      await waitFor(() => refreshed === 1, { message: 'B to refresh in the background' });
    });
  });

  describe('invalidateTags()', () => {
    it('reads as a miss at once, before its version write lands, and keeps its new version', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: a } = await setup({ l2TimeoutMs: 2_000 }, store);
      const { cache: b } = await setup({ l1: false }, store);
      await a.set('red', 'before', { tags: ['color'] });
      await a.set('plain', 'untagged');
      await a.flush();
      store.holdWrites();
      const invalidating = a.invalidateTags(['color']);
      expect(await a.get('red')).toBeUndefined();
      expect(await a.get('plain')).toBe('untagged');
      await a.set('blue', 'after', { tags: ['color'] });
      store.releaseWrites();
      await invalidating;
      await a.flush();
      expect(await b.get('blue')).toBe('after');
      expect(await b.get('red')).toBeUndefined();
    });

    it('sends a write tagged with a tag new to this instance once, stamped with the tag version another instance made', async () => {
      const { cache: first, store } = await setup();
      await first.set('a', 1, { tags: ['new-tag'] });
      await first.flush();
      const { cache: second } = await setup({ l1: false }, store);
      const landed: number[] = [];
      second.events$.subscribe((event) => {
        if (event.type === 'flush') landed.push(event.count);
      });
      const batchesBefore = store.batches.length;
      await second.set('b', 2, { tags: ['new-tag'] });
      await second.flush();
      // One write, one landed batch (one bus message): the tag's version was learnt before it went.
      expect(
        store.batches
          .slice(batchesBefore)
          .flat()
          .map((write) => write.key),
      ).toEqual(['t:b']);
      expect(landed).toEqual([1]);
      const { cache: reader } = await setup({ l1: false }, store);
      expect(await reader.mget(['a', 'b'])).toEqual([1, 2]);
      await first.invalidateTags(['new-tag']);
      expect(await reader.mget(['a', 'b'])).toEqual([undefined, undefined]);
    });

    it('makes entries with the tag miss here and on another instance, and leaves others alone', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: a } = await setup({}, store);
      const { cache: b } = await setup({ l1: false }, store);
      await a.set('p1', 'one', { tags: ['product:1', 'products'] });
      await a.set('p2', 'two', { tags: ['product:2', 'products'] });
      await a.set('plain', 'untagged');
      await a.flush();
      expect(await b.mget(['p1', 'p2', 'plain'])).toEqual(['one', 'two', 'untagged']);
      await a.invalidateTags(['product:1']);
      expect(await a.get('p1')).toBeUndefined();
      expect(await a.get('p2')).toBe('two');
      expect(await b.get('p1')).toBeUndefined();
      expect(await b.get('p2')).toBe('two');
      await a.invalidateTags(['products']);
      expect(await b.mget(['p1', 'p2', 'plain'])).toEqual([undefined, undefined, 'untagged']);
      expect(await a.get('p2')).toBeUndefined();
    });

    it('keeps an entry set after the invalidation', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: a } = await setup({}, store);
      const { cache: b } = await setup({ l1: false }, store);
      await a.set('k', 'old', { tags: ['t'] });
      await a.invalidateTags(['t']);
      await a.set('k', 'new', { tags: ['t'] });
      await a.flush();
      expect(await a.get('k')).toBe('new');
      expect(await b.get('k')).toBe('new');
    });

    it('hides a write still queued when its tag is invalidated', async () => {
      const { cache } = await setup({ l1: false, writeBehind: { flushIntervalMs: 10_000 } });
      await cache.set('k', 'v', { tags: ['t'] });
      await cache.invalidateTags(['t']);
      expect(await cache.get('k')).toBeUndefined();
    });

    it('rejects tags that are not non-empty strings', async () => {
      const { cache } = await setup();
      await expect(cache.set('k', 1, { tags: [''] })).rejects.toThrow(
        /tag must be a non-empty string/,
      );
      await expect(cache.invalidateTags([3 as unknown as string])).rejects.toThrow(/tag/);
    });
  });

  describe('clear()', () => {
    it('makes every entry of the namespace miss on every instance, and no other namespace', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: a } = await setup({}, store);
      const { cache: b } = await setup({ l1: false }, store);
      const { cache: other } = await setup({ namespace: 'other' }, store);
      await a.mset([
        { key: 'x', value: 1 },
        { key: 'y', value: 2, tags: ['t'] },
      ]);
      await other.set('x', 'other namespace');
      await Promise.all([a.flush(), other.flush()]);
      await a.clear();
      expect(await a.mget(['x', 'y'])).toEqual([undefined, undefined]);
      expect(await b.mget(['x', 'y'])).toEqual([undefined, undefined]);
      expect(await b.get('x')).toBeUndefined();
      const { cache: otherReader } = await setup({ namespace: 'other', l1: false }, store);
      expect(await otherReader.get('x')).toBe('other namespace');
      await a.set('x', 'after clear');
      await a.flush();
      expect(await b.get('x')).toBe('after clear');
    });

    it('hides writes queued before it, here and elsewhere', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: a } = await setup(
        { l1: false, writeBehind: { flushIntervalMs: 10_000 } },
        store,
      );
      await a.set('k', 'queued before clear');
      await a.clear();
      expect(await a.get('k')).toBeUndefined();
      await a.flush();
      const { cache: b } = await setup({ l1: false }, store);
      expect(await b.get('k')).toBeUndefined();
    });

    it('reads as a miss at once, before its version write lands, and keeps its new version', async () => {
      const store = new ChaosStore(new MemoryStore());
      const { cache: a } = await setup({ l2TimeoutMs: 2_000 }, store);
      const { cache: b } = await setup({ l1: false }, store);
      await a.set('p', 'before clear');
      await a.flush();
      store.holdWrites(); // the new namespace version is slow to reach Redis
      const clearing = a.clear();
      // L2 still holds the old version and the old entry: neither may count here.
      expect(await a.get('p')).toBeUndefined();
      expect(await a.mget(['p'])).toEqual([undefined]);
      await a.set('q', 'after clear');
      expect(await a.get('q')).toBe('after clear');
      store.releaseWrites();
      await clearing;
      await a.flush();
      // Written after clear(), so stamped with its version: readable everywhere once it lands.
      expect(await b.get('q')).toBe('after clear');
      expect(await b.get('p')).toBeUndefined();
      // Landed, the bump no longer holds back L2's answers: another instance's clear counts here.
      await b.set('r', 'before the second clear');
      await b.flush();
      await b.clear();
      expect(await a.get('r')).toBeUndefined();
    });
  });

  describe('circuit breaker', () => {
    it('opens after consecutive failures, then skips L2 at once, and closes after a good probe', async () => {
      const { cache, store } = await setup({
        l2TimeoutMs: 100,
        circuitBreaker: { failureThreshold: 3, cooldownMs: 200 },
      });
      const states: string[] = [];
      cache.events$.subscribe((e) => {
        if (e.type === 'breaker') states.push(e.state);
      });
      store.stall();
      for (let i = 0; i < 3; i++) expect(await cache.get(`k${i}`)).toBeUndefined();
      expect(cache.stats()).toMatchObject({ breaker: 'open', breakerOpens: 1 });
      const started = performance.now();
      expect(await cache.get('other')).toBeUndefined();
      // Well under l2TimeoutMs (100): L2 is not asked.
      expect(performance.now() - started).toBeLessThan(50);
      await cache.set('queued', 1);
      expect(cache.stats().pending).toBe(1);
      store.recover();
      await waitFor(() => cache.stats().breaker === 'closed', {
        timeoutMs: 3_000,
        message: 'breaker to close',
      });
      await cache.flush();
      expect(cache.stats().pending).toBe(0);
      expect(states).toEqual(['open', 'half-open', 'closed']);
    });

    it('opens again when the probe fails', async () => {
      const { cache, store } = await setup({
        l2TimeoutMs: 50,
        circuitBreaker: { failureThreshold: 1, cooldownMs: 50 },
      });
      store.failAlways();
      await cache.get('a');
      expect(cache.stats().breaker).toBe('open');
      await waitFor(
        async () => {
          await cache.get('b');
          return cache.stats().breakerOpens >= 2;
        },
        { message: 'a failed probe to re-open the breaker' },
      );
      expect(cache.stats().breaker).toBe('open');
    });
  });

  describe('hostile keys and values', () => {
    it('rejects keys that are too long or contain control characters, and keeps serving', async () => {
      const { cache } = await setup({ maxKeyLength: 10 });
      await expect(cache.get('x'.repeat(11))).rejects.toThrow(/maxKeyLength is 10/);
      await expect(cache.set('a\nb', 1)).rejects.toBeInstanceOf(CacheKeyError);
      await expect(cache.del('tab\there')).rejects.toThrow(/control character/);
      await expect(cache.mget(['ok', '\u0000'])).rejects.toBeInstanceOf(CacheKeyError);
      await cache.set('fine key ü', 1);
      expect(await cache.get('fine key ü')).toBe(1);
    });

    it('refuses a value larger than maxValueBytes with a typed error naming the key', async () => {
      const { cache } = await setup({ maxValueBytes: 1_000, writeBehind: { enabled: false } });
      await expect(cache.set('big', 'x'.repeat(2_000))).rejects.toThrow(
        /Value of "big" is \d+ bytes serialized; maxValueBytes is 1000/,
      );
      expect(cache.stats()).toMatchObject({ sets: 0, pending: 0 });
      await cache.set('small', 'x'.repeat(100));
      expect(await cache.get('small')).toHaveLength(100);

      // Write-behind rejects it too, before it enters L1 or the queue.
      const { cache: behind, store } = await setup({ maxValueBytes: 1_000 });
      await expect(behind.set('big', 'x'.repeat(2_000))).rejects.toMatchObject({
        key: 'big',
        message: expect.stringMatching(/Value of "big" is \d+ bytes serialized/),
      });
      await behind.flush();
      expect(await behind.get('big')).toBeUndefined();
      expect(behind.stats()).toMatchObject({ sets: 0, pending: 0 });
      expect(await store.inner.get('t:big')).toBeUndefined();
    });
  });

  describe('flush()', () => {
    it('rejects with CacheFlushTimeoutError when L2 stays down', async () => {
      const { cache, store } = await setup();
      store.failAlways();
      await cache.set('k', 'v');
      await expect(cache.flush(200)).rejects.toBeInstanceOf(CacheFlushTimeoutError);
      expect(cache.stats().pending).toBe(1);
    });
  });

  describe('close()', () => {
    it('drains every queued write before resolving', async () => {
      const { cache, store } = await setup({ writeBehind: { flushIntervalMs: 10_000 } });
      await Promise.all(Array.from({ length: 500 }, (_, i) => cache.set(`k${i}`, i)));
      expect(await cache.close()).toMatchObject({ unwritten: 0 });
      expect(store.batches.flat()).toHaveLength(500);
    });

    it('reports how many writes it could not write within the shutdown timeout', async () => {
      const { cache, store } = await setup({ writeBehind: { shutdownTimeoutMs: 100 } });
      store.failAlways();
      await cache.set('a', 1);
      await cache.set('b', 2);
      expect(await cache.close()).toMatchObject({ unwritten: 2 });
      expect(cache.stats().dropped).toBe(2);
    });

    it('waits one probe of L2, not shutdownTimeoutMs, when L2 is known down, and counts what it could not write', async () => {
      const { cache, store } = await setup({
        l2TimeoutMs: 50,
        circuitBreaker: { failureThreshold: 1, cooldownMs: 200 },
        writeBehind: { shutdownTimeoutMs: 10_000 },
      });
      store.failAlways();
      await cache.set('a', 1);
      await waitFor(() => cache.stats().breaker === 'open', { message: 'the breaker to open' });
      const started = performance.now();
      const closed = await cache.close();
      expect(closed).toMatchObject({ unwritten: 1, l2Down: true });
      // One probe: the 200 ms cool-down and two 50 ms calls.
      expect(closed.waitedMs).toBeGreaterThanOrEqual(290);
      expect(closed.waitedMs).toBeLessThan(400);
      expect(performance.now() - started).toBeLessThan(1_000);
    });

    it('cuts the wait to one probe when L2 turns out to be down during the drain', async () => {
      const { cache, store } = await setup({
        l2TimeoutMs: 50,
        circuitBreaker: { failureThreshold: 3, cooldownMs: 200 },
        writeBehind: { shutdownTimeoutMs: 10_000, retryBaseDelayMs: 5, retryMaxDelayMs: 20 },
      });
      store.failAlways();
      await cache.set('a', 1);
      expect(cache.stats().breaker).toBe('closed'); // not known down when close() starts
      const closed = await cache.close();
      expect(closed).toMatchObject({ unwritten: 1, l2Down: true });
      expect(closed.waitedMs).toBeLessThan(1_500);
    });

    it('still drains everything when L2 comes back during that probe', async () => {
      const { cache, store } = await setup({
        l2TimeoutMs: 50,
        circuitBreaker: { failureThreshold: 1, cooldownMs: 100 },
        writeBehind: { shutdownTimeoutMs: 10_000, retryBaseDelayMs: 5, retryMaxDelayMs: 20 },
      });
      store.failAlways();
      await cache.set('a', 1);
      await waitFor(() => cache.stats().breaker === 'open', { message: 'the breaker to open' });
      setTimeout(() => store.recover(), 20);
      expect(await cache.close()).toMatchObject({ unwritten: 0 });
      expect(store.batches.flat().map((write) => write.key)).toContain('t:a');
    });
  });

  describe('events$', () => {
    it('emits hits, misses and flushes', async () => {
      const { cache } = await setup({ writeBehind: { flushIntervalMs: 1 } });
      const events = firstValueFrom(cache.events$.pipe(take(3), toArray()));
      await cache.get('k');
      await cache.set('k', 1);
      await cache.get('k');
      await cache.flush();
      expect((await events).map((e) => e.type)).toEqual(['miss', 'hit', 'flush']);
    });
  });
});
