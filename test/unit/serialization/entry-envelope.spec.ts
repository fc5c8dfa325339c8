import { CacheCorruptEntryError } from '../../../lib/errors/cache.errors.js';
import { CacheError } from '../../../lib/errors/cache.errors.js';
import { decodeEnvelope, encodeEnvelope } from '../../../lib/serialization/entry-envelope.js';

const KEY = 'shop:product:1';

function corruptionOf(raw: Buffer): CacheCorruptEntryError {
  try {
    decodeEnvelope(KEY, raw);
  } catch (error) {
    if (error instanceof CacheCorruptEntryError) return error;
    throw error;
  }
  throw new Error('decodeEnvelope accepted a corrupt value');
}

describe('EntryEnvelope', () => {
  describe('encodeEnvelope()', () => {
    it('returns bytes that decode to the same entry when there is no meta', () => {
      const payload = Buffer.from('j1:{"a":1}\n');

      const decoded = decodeEnvelope(
        KEY,
        encodeEnvelope({ expiresAt: 1_700_000_000_123, payload }),
      );

      expect(decoded.expiresAt).toBe(1_700_000_000_123);
      expect(decoded.payload.equals(payload)).toBe(true);
      expect('meta' in decoded).toBe(false);
    });

    it('returns bytes that decode to the same entry when there is meta', () => {
      const meta = { tags: ['product:1', 'ünïcode'], versions: { 'product:1': 3 } };
      const payload = Buffer.from([1, 2, 3]);

      const decoded = decodeEnvelope(KEY, encodeEnvelope({ expiresAt: 42.5, payload, meta }));

      expect(decoded.expiresAt).toBe(42.5);
      expect(decoded.payload.equals(payload)).toBe(true);
      expect(decoded.meta).toStrictEqual(meta);
    });

    it('returns the same bytes as without meta when meta is empty', () => {
      const payload = Buffer.from('x');

      const withEmpty = encodeEnvelope({ expiresAt: 1, payload, meta: {} });

      expect(withEmpty.equals(encodeEnvelope({ expiresAt: 1, payload }))).toBe(true);
      expect('meta' in decodeEnvelope(KEY, withEmpty)).toBe(false);
    });

    it('returns a 15-byte header followed by the payload when there is no meta', () => {
      const raw = encodeEnvelope({ expiresAt: 0, payload: Buffer.from('abc') });

      expect(raw).toHaveLength(18);
      expect(raw[0]).toBe(0xdc);
      expect(raw[1]).toBe(1);
      expect(raw.subarray(15).toString()).toBe('abc');
    });

    it('returns an entry that keeps Infinity and an empty payload', () => {
      const decoded = decodeEnvelope(
        KEY,
        encodeEnvelope({ expiresAt: Infinity, payload: Buffer.alloc(0) }),
      );

      expect(decoded.expiresAt).toBe(Infinity);
      expect(decoded.payload).toHaveLength(0);
    });

    it('throws a RangeError when expiresAt is NaN', () => {
      expect(() => encodeEnvelope({ expiresAt: NaN, payload: Buffer.alloc(0) })).toThrow(
        RangeError,
      );
    });
  });

  describe('decodeEnvelope()', () => {
    const meta = { tags: ['t'] };
    const valid = encodeEnvelope({ expiresAt: 1000, payload: Buffer.from('payload'), meta });

    it('returns the payload as a view into the raw bytes (no copy)', () => {
      const decoded = decodeEnvelope(KEY, valid);

      expect(decoded.payload.buffer).toBe(valid.buffer);
      expect(decoded.payload.byteOffset).toBe(valid.byteOffset + valid.length - 7);
      expect(decoded.payload.toString()).toBe('payload');
    });

    it('throws CacheCorruptEntryError naming the key when the magic byte is wrong', () => {
      const raw = Buffer.from(valid);
      raw[0] = 0x7b;

      const error = corruptionOf(raw);

      expect(error).toBeInstanceOf(CacheError);
      expect(error.key).toBe(KEY);
      expect(error.message).toMatch(/L2 entry "shop:product:1" is corrupt: bad magic byte 0x7b/);
    });

    it('throws when the value is empty', () => {
      expect(corruptionOf(Buffer.alloc(0)).message).toMatch(/empty value/);
    });

    it('throws at every cut when the header is truncated', () => {
      for (let cut = 1; cut < 15; cut++) {
        expect(corruptionOf(valid.subarray(0, cut)).message).toMatch(/truncated header/);
      }
    });

    it('throws naming the version when the version byte is unknown', () => {
      const raw = Buffer.from(valid);
      raw[1] = 2;

      expect(corruptionOf(raw).message).toMatch(/unsupported envelope version 2/);
    });

    it('throws when flags this version does not know are set', () => {
      const raw = Buffer.from(valid);
      raw[2] = 0x81;

      expect(corruptionOf(raw).message).toMatch(/unknown flags 0x81/);
    });

    it('throws when expiresAt is NaN', () => {
      const raw = Buffer.from(valid);
      raw.writeDoubleBE(NaN, 3);

      expect(corruptionOf(raw).message).toMatch(/expiresAt is NaN/);
    });

    it('throws when the meta length runs past the end of the value', () => {
      const raw = Buffer.from(valid);
      raw.writeUInt32BE(0xffff_fff0, 15);

      expect(corruptionOf(raw).message).toMatch(/meta length 4294967280 runs past the end/);
      expect(corruptionOf(valid.subarray(0, 17)).message).toMatch(/truncated meta length/);
    });

    it('throws when the meta is empty, not JSON, or not a JSON object', () => {
      const withMeta = (text: string): Buffer => {
        const metaBytes = Buffer.from(text);
        const head = Buffer.alloc(19);
        head[0] = 0xdc;
        head[1] = 1;
        head[2] = 1;
        head.writeDoubleBE(1, 3);
        head.writeUInt32BE(0, 11);
        head.writeUInt32BE(metaBytes.length, 15);
        return Buffer.concat([head, metaBytes]);
      };

      expect(corruptionOf(withMeta('')).message).toMatch(/empty meta/);
      const notJson = corruptionOf(withMeta('{"tags":'));
      expect(notJson.message).toMatch(/meta is not valid JSON/);
      expect(notJson.cause).toBeInstanceOf(SyntaxError);
      for (const text of ['[1]', 'null', '3', '"s"']) {
        expect(corruptionOf(withMeta(text)).message).toMatch(/meta is not a JSON object/);
      }
    });

    it('throws at every cut when the payload is truncated', () => {
      for (let cut = valid.length - 7; cut < valid.length; cut++) {
        expect(corruptionOf(valid.subarray(0, cut)).message).toMatch(/truncated or extended/);
      }
    });

    it('throws when bytes were appended after the payload', () => {
      const raw = Buffer.concat([valid, Buffer.from('!')]);

      expect(corruptionOf(raw).message).toMatch(/payload length is 8 bytes, the header says 7/);
    });

    it('returns meta with __proto__ as an own key without polluting any prototype', () => {
      const evil = JSON.parse('{"__proto__":{"polluted":1},"tags":["a"]}') as Record<
        string,
        unknown
      >;

      const decoded = decodeEnvelope(
        KEY,
        encodeEnvelope({ expiresAt: 1, payload: Buffer.alloc(0), meta: evil }),
      );

      expect(Object.hasOwn(decoded.meta!, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(decoded.meta)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
});
