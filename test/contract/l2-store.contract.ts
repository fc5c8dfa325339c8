import { randomBytes, randomUUID } from 'node:crypto';
import { CacheBatchError } from '../../lib/errors/l2.errors.js';
import { lockKeyOf } from '../../lib/keys/lock-keys.js';
import type {
  L2LockRef,
  L2Locks,
  L2Read,
  L2Store,
  L2Write,
} from '../../lib/contracts/l2-store.interface.js';
import { waitFor } from '../support/poll.js';

/** What a contract run needs: a ready store, and how to dispose of it. */
export interface L2StoreFixture {
  store: L2Store;
  /** Closes the store and anything the fixture made for it. */
  cleanup: () => Promise<void>;
}

/** A long TTL for entries that must not expire during a test, in milliseconds. */
const LONG_TTL_MS = 60_000;

/**
 * The behaviour every L2Store must have, as one suite: run it against each backend so that they
 * all behave like Redis (the reference). `setup` is called before each test and must return a
 * connected store; the suite deletes the keys each test wrote, then calls `cleanup`.
 *
 * @example
 * describeL2StoreContract('MemoryStore', async () => {
 *   const store = new MemoryStore();
 *   return { store, cleanup: () => store.close() };
 * });
 */
export function describeL2StoreContract(name: string, setup: () => Promise<L2StoreFixture>): void {
  describe(`${name} (L2Store contract)`, () => {
    let fixture: L2StoreFixture | undefined;
    let prefix = '';
    let written: string[] = [];

    /** The store of the current test. */
    const store = (): L2Store => {
      if (fixture === undefined) throw new Error('L2Store contract: setup() did not run');
      return fixture.store;
    };
    /** A key unique to this test, remembered for clean-up. */
    const key = (suffix: string): string => {
      const full = `${prefix}${suffix}`;
      written.push(full);
      return full;
    };
    const set = (k: string, value: Buffer | string, ttlMs = LONG_TTL_MS): L2Write => ({
      kind: 'set',
      key: k,
      value: typeof value === 'string' ? Buffer.from(value) : value,
      expiresAt: Date.now() + ttlMs,
    });
    const del = (k: string): L2Write => ({ kind: 'del', key: k });
    const text = (value: L2Read): string | undefined =>
      value instanceof Error ? `error: ${value.message}` : value?.toString('utf8');

    beforeEach(async () => {
      prefix = `contract:${randomUUID()}:`;
      written = [];
      fixture = await setup();
    });

    afterEach(async () => {
      const current = fixture;
      fixture = undefined;
      if (current === undefined) return;
      try {
        // A test may have closed its store: then there is nothing to delete through it.
        await current.store.del(written).catch(() => undefined);
      } finally {
        await current.cleanup();
      }
    });

    it('has a description without secrets', () => {
      expect(typeof store().description).toBe('string');
      expect(store().description.length).toBeGreaterThan(0);
    });

    describe('get()', () => {
      it('returns undefined when the key is missing', async () => {
        await expect(store().get(key('missing'))).resolves.toBeUndefined();
      });

      it('round-trips every byte value, an empty value and a 1 MiB value exactly', async () => {
        const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const large = randomBytes(1024 * 1024);
        const [a, b, c] = [key('all-bytes'), key('empty'), key('large')];
        await store().write([set(a, allBytes), set(b, Buffer.alloc(0)), set(c, large)]);

        const got = await store().get(a);
        expect(Buffer.isBuffer(got)).toBe(true);
        expect(got?.equals(allBytes)).toBe(true);
        const empty = await store().get(b);
        expect(empty).toBeDefined();
        expect(empty?.length).toBe(0);
        expect((await store().get(c))?.equals(large)).toBe(true);
      });

      it('accepts keys with spaces, colons, newlines, NUL, braces and multi-byte characters', async () => {
        const odd = [
          'with space',
          'a:b:c',
          'line\nbreak\r\n',
          'tab\tand\u0000nul',
          '{hash}tag',
          'ключ',
          '鍵🔑',
          'é\u0301',
        ];
        const keys = odd.map((suffix) => key(suffix));
        await store().write(keys.map((k, i) => set(k, `value ${i}`)));
        for (const [i, k] of keys.entries()) {
          expect(text(await store().get(k))).toBe(`value ${i}`);
        }
        // Similar-looking keys stay distinct.
        await expect(store().get(key('with  space'))).resolves.toBeUndefined();
        await expect(store().get(key('e\u0301'))).resolves.toBeUndefined();
      });

      it('returns a copy: mutating a written or returned Buffer changes nothing stored', async () => {
        const k = key('copy');
        const value = Buffer.from('original');
        await store().write([set(k, value)]);
        value.fill(0);
        const first = await store().get(k);
        expect(text(first)).toBe('original');
        first?.fill(0);
        expect(text(await store().get(k))).toBe('original');
      });
    });

    describe('write()', () => {
      it('resolves for an empty batch', async () => {
        await expect(store().write([])).resolves.toBeUndefined();
      });

      it('honours expiresAt: present at once, gone at about expiresAt', async () => {
        const k = key('ttl');
        const started = Date.now();
        await store().write([set(k, 'short-lived', 300)]);
        expect(text(await store().get(k))).toBe('short-lived');
        await waitFor(async () => (await store().get(k)) === undefined, {
          timeoutMs: 3_000,
          intervalMs: 20,
          message: `key ${k} to expire after 300 ms`,
        });
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      });

      it('replaces the value and a long TTL with a short one on overwrite', async () => {
        const k = key('shorter');
        await store().write([set(k, 'v1', LONG_TTL_MS)]);
        await store().write([set(k, 'v2', 200)]);
        expect(text(await store().get(k))).toBe('v2');
        await waitFor(async () => (await store().get(k)) === undefined, {
          timeoutMs: 3_000,
          message: 'the overwritten key to expire with its new 200 ms TTL',
        });
      });

      it('replaces a short TTL with a long one on overwrite', async () => {
        const [k, marker] = [key('longer'), key('marker')];
        await store().write([set(k, 'v1', 200)]);
        await store().write([set(k, 'v2', LONG_TTL_MS), set(marker, 'm', 250)]);
        // The marker was written after k's first TTL started, with a longer TTL: once it is gone,
        // k's original 200 ms have passed for sure.
        await waitFor(async () => (await store().get(marker)) === undefined, {
          timeoutMs: 3_000,
          message: 'the 250 ms marker to expire',
        });
        expect(text(await store().get(k))).toBe('v2');
      });

      it('applies sets and dels of one key in batch order', async () => {
        const [setThenDel, delThenSet, setTwice, other] = [
          key('set-del'),
          key('del-set'),
          key('set-set'),
          key('other'),
        ];
        await store().write([set(delThenSet, 'old'), set(other, 'kept')]);
        await store().write([
          set(setThenDel, 'a'),
          del(delThenSet),
          set(setTwice, 'first'),
          del(setThenDel),
          set(delThenSet, 'new'),
          set(setTwice, 'second'),
        ]);
        await expect(store().get(setThenDel)).resolves.toBeUndefined();
        expect(text(await store().get(delThenSet))).toBe('new');
        expect(text(await store().get(setTwice))).toBe('second');
        expect(text(await store().get(other))).toBe('kept');
      });

      it('writes a batch of 10,000 keys that mget then reads back in order', async () => {
        const keys = Array.from({ length: 10_000 }, (_, i) => key(`bulk:${i}`));
        await store().write(keys.map((k, i) => set(k, `value-${i}`)));
        const values = await store().mget(keys);
        expect(values).toHaveLength(10_000);
        const wrong = values.findIndex((value, i) => text(value) !== `value-${i}`);
        // The answer found in the wrong place, so that a failure says what came back.
        expect({ wrong, found: wrong < 0 ? undefined : text(values[wrong]) }).toEqual({
          wrong: -1,
          found: undefined,
        });
      });

      it('rejects with CacheBatchError naming only a set whose expiresAt is not a whole number >= 1', async () => {
        const [a, bad, c, d] = [key('ok-a'), key('bad-ttl'), key('ok-c'), key('ok-d')];
        await store().write([set(d, 'to delete')]);
        const at = (k: string, value: string, expiresAt: number): L2Write => ({
          kind: 'set',
          key: k,
          value: Buffer.from(value),
          expiresAt,
        });
        const batch = [
          set(a, 'a'),
          at(bad, 'x', 0),
          set(c, 'c'),
          del(d),
          at(bad, 'y', Date.now() + 1000.5),
        ];
        const error: unknown = await store()
          .write(batch)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(CacheBatchError);
        expect((error as CacheBatchError).failedIndexes).toEqual([1, 4]);
        expect(text(await store().get(a))).toBe('a');
        expect(text(await store().get(c))).toBe('c');
        await expect(store().get(d)).resolves.toBeUndefined();
        await expect(store().get(bad)).resolves.toBeUndefined();
      });

      it('deletes the key for a set whose expiresAt has passed (as SET ... PXAT does)', async () => {
        const k = key('expired-on-the-way');
        await store().write([set(k, 'older')]);
        await store().write([
          { kind: 'set', key: k, value: Buffer.from('newer'), expiresAt: Date.now() - 1_000 },
        ]);
        await expect(store().get(k)).resolves.toBeUndefined();
      });
    });

    describe('ensure()', () => {
      it('sets an absent key to its candidate and keeps a present one, answering what each holds', async () => {
        const [present, absent] = [key('ensure-present'), key('ensure-absent')];
        await store().write([set(present, 'held')]);
        const expiresAt = Date.now() + LONG_TTL_MS;
        const answers = await store().ensure!([
          { key: present, candidate: 'candidate-1', expiresAt },
          { key: absent, candidate: 'candidate-2', expiresAt },
        ]);
        expect(answers).toEqual(['held', 'candidate-2']);
        expect(text(await store().get(present))).toBe('held');
        expect(text(await store().get(absent))).toBe('candidate-2');
      });
    });

    describe('locks', () => {
      /** A value key of this test (namespace `contract`) and its lock key, both cleaned up. */
      const lockPair = (suffix: string): { value: string; lock: string } => {
        const value = key(suffix);
        const lock = lockKeyOf('contract', value.slice('contract:'.length))!;
        written.push(lock);
        return { value, lock };
      };
      const releasing = (k: string, value: string, releases: L2LockRef): L2Write => ({
        kind: 'set',
        key: k,
        value: Buffer.from(value),
        expiresAt: Date.now() + LONG_TTL_MS,
        releases,
      });
      const locks = (): L2Locks => {
        const found = store().locks;
        if (found === undefined) throw new Error('this store has no locks');
        return found;
      };

      it('lets one token take a lock until its holder releases it', async () => {
        const { lock } = lockPair('lock-take');
        await expect(locks().acquire(lock, 'a', LONG_TTL_MS)).resolves.toBe(true);
        await expect(locks().acquire(lock, 'b', LONG_TTL_MS)).resolves.toBe(false);
        await locks().release(lock, 'b'); // not the holder: nothing happens
        await expect(locks().acquire(lock, 'c', LONG_TTL_MS)).resolves.toBe(false);
        await locks().release(lock, 'a');
        await expect(locks().acquire(lock, 'c', LONG_TTL_MS)).resolves.toBe(true);
      });

      it('frees a lock when its lease lapses, and renews only for the holder', async () => {
        const { lock } = lockPair('lock-lease');
        await expect(locks().acquire(lock, 'a', 400)).resolves.toBe(true);
        await expect(locks().renew(lock, 'b', 60_000)).resolves.toBe(false);
        await expect(locks().renew(lock, 'a', 1_500)).resolves.toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 600));
        // Past the first lease, inside the renewed one.
        await expect(locks().acquire(lock, 'b', LONG_TTL_MS)).resolves.toBe(false);
        await waitFor(() => locks().acquire(lock, 'b', LONG_TTL_MS), { timeoutMs: 3_000 });
        await expect(locks().renew(lock, 'a', 60_000)).resolves.toBe(false);
      });

      it('applies a releasing set only for the holder, and frees the lock with it', async () => {
        const tagged = lockPair('{user-7}:profile'); // a key with its own hash tag
        const plain = lockPair('lock-release');
        const other = key('lock-other');
        await locks().acquire(tagged.lock, 'holder', LONG_TTL_MS);
        await locks().acquire(plain.lock, 'someone-else', LONG_TTL_MS);
        await store().write([
          releasing(tagged.value, 'fresh', { key: tagged.lock, token: 'holder' }),
          releasing(plain.value, 'late', { key: plain.lock, token: 'holder' }),
          set(other, 'plain'),
        ]);
        expect(text(await store().get(tagged.value))).toBe('fresh');
        await expect(locks().acquire(tagged.lock, 'next', LONG_TTL_MS)).resolves.toBe(true);
        // The lease was not the writer's: its value is not written, the holder keeps the lock.
        await expect(store().get(plain.value)).resolves.toBeUndefined();
        await expect(locks().acquire(plain.lock, 'next', LONG_TTL_MS)).resolves.toBe(false);
        expect(text(await store().get(other))).toBe('plain');
      });

      it('puts lock keys beside their value keys', async () => {
        await expect(locks().colocated?.() ?? Promise.resolve(true)).resolves.toBe(true);
      });
    });

    describe('mget()', () => {
      it('returns values in key order with undefined for misses and repeats', async () => {
        const [a, b, missing] = [key('a'), key('b'), key('missing')];
        await store().write([set(a, 'A'), set(b, 'B')]);
        const values = await store().mget([b, missing, a, b]);
        expect(values.map(text)).toEqual(['B', undefined, 'A', 'B']);
      });

      it('returns an empty array for no keys', async () => {
        await expect(store().mget([])).resolves.toEqual([]);
      });
    });

    describe('del()', () => {
      it('deletes several keys, missing ones included, and leaves the others', async () => {
        const [a, b, c, missing] = [key('a'), key('b'), key('c'), key('missing')];
        await store().write([set(a, 'A'), set(b, 'B'), set(c, 'C')]);
        await store().del([a, missing, c]);
        expect((await store().mget([a, b, c])).map(text)).toEqual([undefined, 'B', undefined]);
      });

      it('resolves for no keys', async () => {
        await expect(store().del([])).resolves.toBeUndefined();
      });

      it('deletes a batch of 10,000 keys (spread across shards), leaving the keys not named', async () => {
        const keys = Array.from({ length: 10_000 }, (_, i) => key(`bulk-del:${i}`));
        const kept = key('bulk-del:kept');
        await store().write([...keys, kept].map((k) => set(k, 'v')));
        await store().del(keys);
        const values = await store().mget([...keys, kept]);
        expect(values.slice(0, 10_000).every((value) => value === undefined)).toBe(true);
        expect(text(values[10_000])).toBe('v');
      });
    });

    describe('close()', () => {
      it('makes later calls reject instead of hanging', async () => {
        await store().close();
        await expect(store().get(key('after-close'))).rejects.toThrow();
        await expect(store().write([set(key('after-close'), 'x')])).rejects.toThrow();
      });
    });
  });
}
