import { CacheCorruptEntryError } from '../../../lib/errors/cache.errors.js';
import { CacheError } from '../../../lib/errors/cache.errors.js';
import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import { CacheSerializationError } from '../../../lib/errors/cache.errors.js';
import { CacheValueTooLargeError } from '../../../lib/errors/cache.errors.js';
import type { DistributedCacheModuleOptions } from '../../../lib/options/cache-options.interface.js';
import { resolveCacheOptions } from '../../../lib/options/options.validator.js';
import { encodeEnvelope } from '../../../lib/serialization/entry-envelope.js';
import { EntryCodec, type Prepared, type Stamper } from '../../../lib/tiering/entry-codec.js';
import type { PendingSet } from '../../../lib/write-behind/pending-write.js';
import type { VersionStamp } from '../../../lib/tiering/version-registry.js';

/** Stamps like the registry would: namespace token `g1`, every tag at token `v1`. */
const stamper: Stamper = {
  stamp: (tags): VersionStamp =>
    tags === undefined || tags.length === 0
      ? { g: 'g1' }
      : { g: 'g1', t: Object.fromEntries(tags.map((tag) => [tag, 'v1'])) },
};

function codec(options: DistributedCacheModuleOptions = {}): EntryCodec {
  return new EntryCodec(resolveCacheOptions({ namespace: 't', ...options }), 't:', stamper);
}

/** The bytes the write-behind queue sends for `entry`: its payload framed by the codec. */
function encode(c: EntryCodec, entry: Prepared): Buffer {
  return c.frame(c.pendingSet(c.encoded(entry), 1));
}

describe('EntryCodec', () => {
  describe('prepare()', () => {
    it('stamps the entry and prefixes its key, serializing nothing', () => {
      const before = Date.now();
      const entry = codec({ ttl: '1m' }).prepare('k', { a: 1 }, undefined, ['x']);
      expect(entry).toMatchObject({
        key: 'k',
        fullKey: 't:k',
        value: { a: 1 },
        stamp: { g: 'g1', t: { x: 'v1' } },
        tags: ['x'],
        payload: undefined,
      });
      expect(entry.freshUntil).toBeGreaterThanOrEqual(before + 60_000);
      expect(entry.expiresAt).toBe(entry.freshUntil);
    });

    it('keeps a stale window past the TTL, and the envelope tells when freshness ends', () => {
      const c = codec();
      const entry = c.prepare('k', 'v', '1s', undefined, 5_000);
      expect(entry.expiresAt).toBe(entry.freshUntil + 5_000);
      expect(c.decode('k', encode(c, entry))).toMatchObject({
        value: 'v',
        freshUntil: entry.freshUntil,
        expiresAt: entry.expiresAt,
      });
    });

    it('refuses undefined with CacheSerializationError', () => {
      expect(() => codec().prepare('k', undefined, undefined, undefined)).toThrow(
        CacheSerializationError,
      );
    });

    it('refuses a ttl over 365 days with CacheOptionsError', () => {
      expect(() => codec().prepare('k', 1, '366d', undefined)).toThrow(CacheOptionsError);
    });

    it('refuses tags that are not an array of non-empty strings with CacheError', () => {
      const c = codec();
      expect(() => c.prepare('k', 1, undefined, 'x' as unknown as string[])).toThrow(CacheError);
      expect(() => c.prepare('k', 1, undefined, [''])).toThrow(/non-empty string/);
      expect(() => c.prepare('k', 1, undefined, [1 as unknown as string])).toThrow(CacheError);
    });
  });

  describe('encode() and decode()', () => {
    it('round-trips a value with its expiry and version stamp', () => {
      const c = codec();
      const entry = c.prepare('k', { n: [1, 'two'] }, '1m', ['x']);
      const decoded = c.decode('k', encode(c, entry));
      expect(decoded).toEqual({
        value: { n: [1, 'two'] },
        expiresAt: entry.expiresAt,
        freshUntil: entry.expiresAt,
        stamp: { g: 'g1', t: { x: 'v1' } },
      });
    });

    it('round-trips freshUntil when a stale window is kept', () => {
      const c = codec();
      const entry = c.prepare('k', 'v', '1m', undefined, 30_000);
      const decoded = c.decode('k', encode(c, entry));
      expect(decoded).toMatchObject({
        value: 'v',
        expiresAt: entry.expiresAt,
        freshUntil: entry.freshUntil,
        stamp: { g: 'g1' },
      });
      expect(decoded!.freshUntil).toBeLessThan(decoded!.expiresAt);
    });

    it('encoded() serializes once and keeps the payload on the entry; deserialize() reads it back', () => {
      const c = codec();
      const value = { at: new Date(0), n: 1 };
      const entry = c.encoded(c.prepare('k', value, undefined, undefined));
      const payload = entry.payload;
      expect(typeof payload).toBe('string');
      expect(c.encoded(entry).payload).toBe(payload);
      expect(c.deserialize('k', payload!)).toEqual(value);
      expect(() => c.deserialize('k', 'not a payload')).toThrow(CacheCorruptEntryError);
    });

    it('frames a version key write (no stamp) as its bare payload', () => {
      const write: PendingSet = {
        kind: 'set',
        key: 't|v',
        payload: 'tok',
        expiresAt: Date.now() + 1_000,
        seq: 1,
      };
      expect(codec().frame(write)).toEqual(Buffer.from('tok'));
    });

    it('throws CacheSerializationError naming the key for a function value', () => {
      const c = codec();
      const entry = c.prepare('fn-key', { f: () => 1 }, undefined, undefined);
      expect(() => encode(c, entry)).toThrow(CacheSerializationError);
      expect(() => encode(c, entry)).toThrow(/"fn-key"/);
    });

    it('throws CacheValueTooLargeError over maxValueBytes', () => {
      const c = codec({ maxValueBytes: 100 });
      expect(() => encode(c, c.prepare('k', 'x'.repeat(50), undefined, undefined))).not.toThrow();
      const entry = c.prepare('big', 'x'.repeat(200), undefined, undefined);
      expect(() => encode(c, entry)).toThrow(CacheValueTooLargeError);
    });

    it('reads an expired entry as undefined', () => {
      const raw = encodeEnvelope({
        expiresAt: Date.now() - 1,
        payload: Buffer.from('j1:1\n'),
        meta: { g: 'g1' },
      });
      expect(codec().decode('k', raw)).toBeUndefined();
    });
  });

  describe('decode() of a foreign payload', () => {
    it('throws CacheCorruptEntryError for bytes that are not an envelope', () => {
      expect(() => codec().decode('k', Buffer.from('hello'))).toThrow(CacheCorruptEntryError);
    });

    it('wraps a serializer failure in CacheCorruptEntryError naming the key', () => {
      const raw = encodeEnvelope({
        expiresAt: Date.now() + 60_000,
        payload: Buffer.from('not json'),
      });
      let caught: unknown;
      try {
        codec().decode('k', raw);
      } catch (error: unknown) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CacheCorruptEntryError);
      expect((caught as CacheCorruptEntryError).key).toBe('k');
      expect((caught as Error).cause).toBeDefined();
    });

    it('reads a payload in place: a real U+FFFD decodes, invalid UTF-8 is corrupt', () => {
      const c = codec();
      const value = { text: 'caf\u00e9 \uFFFD \u{1F600}', n: 1 };
      const entry = c.prepare('k', value, '1m', undefined);
      expect(c.decode('k', encode(c, entry))!.value).toEqual(value);

      const framed = (payload: Buffer): Buffer =>
        encodeEnvelope({ expiresAt: Date.now() + 60_000, payload, meta: { g: 'g1' } });
      const invalid = Buffer.concat([
        Buffer.from('j1:"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"\n'),
      ]);
      const cutShort = Buffer.concat([
        Buffer.from('j1:"'),
        Buffer.from([0xe2, 0x82]),
        Buffer.from('\n'),
      ]);
      for (const payload of [invalid, cutShort]) {
        let caught: unknown;
        try {
          c.decode('k', framed(payload));
        } catch (error: unknown) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(CacheCorruptEntryError);
        expect(((caught as Error).cause as Error).message).toMatch(/not valid UTF-8/);
      }
    });

    it("reads each entry's own stamp when metas of the same length follow each other", () => {
      const c = codec();
      const raw = (g: string): Buffer =>
        encodeEnvelope({
          expiresAt: Date.now() + 60_000,
          payload: Buffer.from('j1:1\n'),
          meta: { g },
        });
      expect(c.decode('k', raw('aaaa'))!.stamp).toEqual({ g: 'aaaa' });
      expect(c.decode('k', raw('aaab'))!.stamp).toEqual({ g: 'aaab' });
      expect(c.decode('k', raw('aaab'))!.stamp).toEqual({ g: 'aaab' });
      expect(c.decode('k', raw('aaaa'))!.stamp).toEqual({ g: 'aaaa' });
    });

    it('throws CacheCorruptEntryError for a malformed version stamp', () => {
      const raw = encodeEnvelope({
        expiresAt: Date.now() + 60_000,
        payload: Buffer.from('j1:1\n'),
        meta: { g: 7 },
      });
      expect(() => codec().decode('k', raw)).toThrow(/malformed version stamp/);
    });
  });
});
