import { JsonSerializer } from '../../../lib/serialization/json.serializer.js';

const serializer = new JsonSerializer();

function roundTrip<T>(value: T): T {
  return serializer.deserialize(serializer.serialize(value)) as T;
}

function payloadOf(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/**
 * Own entries as nested arrays. Jest's equality reads `constructor` to compare types, which an
 * object with an own `constructor` key defeats; pairs compare those objects faithfully.
 */
function ownPairs(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  return Object.keys(value).map((key) => [
    key,
    ownPairs(Object.getOwnPropertyDescriptor(value, key)?.value),
  ]);
}

function modeOf(value: unknown): string {
  return serializer.serialize(value).toString('latin1', 0, 3);
}

describe(JsonSerializer.name, () => {
  afterEach(() => {
    // A failed prototype-pollution test must not leak into the next ones.
    delete (Object.prototype as Record<string, unknown>).polluted;
  });

  describe('serialize()', () => {
    it('returns "j1:" + JSON.stringify + newline when the value is plain JSON', () => {
      const value = {
        id: 7,
        name: 'ünïcode ✓',
        tags: ['a', 'b'],
        nested: { ok: true, none: null },
      };

      const payload = serializer.serialize(value);

      expect(Buffer.isBuffer(payload)).toBe(true);
      expect(payload.toString('utf8')).toBe(`j1:${JSON.stringify(value)}\n`);
    });

    it('returns a "j1t" payload when the value contains a type JSON cannot hold', () => {
      expect(modeOf({ at: new Date(0) })).toBe('j1t');
      expect(modeOf([1, NaN])).toBe('j1t');
      expect(modeOf({ a: undefined })).toBe('j1t');
      expect(modeOf(10n)).toBe('j1t');
      expect(modeOf(Object.create(null))).toBe('j1t');
    });

    it('returns a plain payload when an object only has keys that look like tags', () => {
      expect(modeOf({ $t: 'Date', v: 1 })).toBe('j1:');
    });

    it('throws naming the value when the top-level value is undefined', () => {
      expect(() => serializer.serialize(undefined)).toThrow(/value is undefined/);
    });

    it('throws naming the path when a nested value is a function', () => {
      const value = { items: [{}, {}, { fn: () => 1 }] };

      expect(() => serializer.serialize(value)).toThrow(TypeError);
      expect(() => serializer.serialize(value)).toThrow('value.items[2].fn is a function');
    });

    it('throws naming the path when the function sits after a special type', () => {
      const value = { at: new Date(0), list: [1, { cb: function named() {} }] };

      expect(() => serializer.serialize(value)).toThrow('value.list[1].cb is a function');
    });

    it('throws when the top-level value is a function or a symbol', () => {
      expect(() => serializer.serialize(() => 1)).toThrow('value is a function');
      expect(() => serializer.serialize(Symbol('s'))).toThrow('value is a symbol');
    });

    it('throws naming the path when a nested value is a symbol', () => {
      expect(() => serializer.serialize({ a: { 'odd key': Symbol('x') } })).toThrow(
        'value.a["odd key"] is a symbol',
      );
    });

    it('throws naming the path and the ancestor when the value is circular', () => {
      const root: Record<string, unknown> = { name: 'root' };
      root.self = root;
      const deep: { a: { b: Record<string, unknown> } } = { a: { b: {} } };
      deep.a.b.back = deep.a;

      expect(() => serializer.serialize(root)).toThrow(
        'value.self is a circular reference (back to value)',
      );
      expect(() => serializer.serialize(deep)).toThrow(
        'value.a.b.back is a circular reference (back to value.a)',
      );
    });

    it('throws when a cycle runs through an array, a Map and a Set', () => {
      const list: unknown[] = [];
      list.push(new Map([['k', new Set([list])]]));

      expect(() => serializer.serialize(list)).toThrow(
        'value[0].get("k")[Set item #0] is a circular reference (back to value)',
      );
    });

    it('returns separate equal copies when an object is shared without a cycle', () => {
      const shared = { n: 1 };

      const decoded = roundTrip({ a: shared, b: shared, list: [shared, shared] });

      expect(decoded).toEqual({ a: { n: 1 }, b: { n: 1 }, list: [{ n: 1 }, { n: 1 }] });
      expect(decoded.a).not.toBe(decoded.b);
    });

    it('throws naming the class when the value holds a class instance', () => {
      class User {
        constructor(readonly id: number) {}
      }

      expect(() => serializer.serialize({ owner: new User(1) })).toThrow(
        /value\.owner is an instance of User, which cannot be restored as the same class/,
      );
    });

    it('throws for built-in classes it cannot restore exactly', () => {
      class Registry extends Map<string, number> {}
      class List extends Array<number> {}
      const cases: Array<[unknown, string]> = [
        [new WeakMap(), 'value.x is an instance of WeakMap'],
        [new WeakSet(), 'value.x is an instance of WeakSet'],
        [/re/g, 'value.x is an instance of RegExp'],
        [new Error('e'), 'value.x is an instance of Error'],
        [new Int32Array(2), 'value.x is an instance of Int32Array'],
        [new ArrayBuffer(2), 'value.x is an instance of ArrayBuffer'],
        [new Registry(), 'value.x is an instance of Registry'],
        [new List(), 'value.x is an instance of List'],
        [new String('boxed'), 'value.x is an instance of String'],
        [Promise.resolve(1), 'value.x is a Promise'],
      ];

      for (const [x, message] of cases) {
        expect(() => serializer.serialize({ x })).toThrow(message);
      }
    });

    it('throws naming the Map entry when a Map key or value is unsupported', () => {
      const badKey = new Map<unknown, unknown>([
        ['ok', 1],
        [() => 1, 2],
      ]);
      const badValue = new Map<unknown, unknown>([[{ id: 1 }, Symbol('v')]]);

      expect(() => serializer.serialize({ m: badKey })).toThrow(
        'value.m[Map entry #1 key] is a function',
      );
      expect(() => serializer.serialize({ m: badValue })).toThrow(
        'value.m[Map entry #0 value] is a symbol',
      );
    });
  });

  describe('deserialize()', () => {
    it('returns strings exactly, including unicode, empty and lone surrogates', () => {
      for (const value of ['', 'plain', 'ünïcode ✓ 𝄞 中文', '\uD800 lone', 'quote " \\ \n\t']) {
        expect(roundTrip(value)).toBe(value);
        expect(roundTrip({ value }).value).toBe(value);
      }
    });

    it('returns numbers exactly, including NaN, Infinity, -Infinity and -0', () => {
      const numbers = [0, -0, 1.5, -42, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, NaN];
      for (const value of [...numbers, Infinity, -Infinity]) {
        expect(Object.is(roundTrip(value), value)).toBe(true);
        expect(Object.is(roundTrip([value])[0], value)).toBe(true);
        expect(Object.is(roundTrip({ n: value }).n, value)).toBe(true);
      }
    });

    it('returns booleans and null exactly', () => {
      expect(roundTrip(true)).toBe(true);
      expect(roundTrip(false)).toBe(false);
      expect(roundTrip(null)).toBeNull();
      expect(roundTrip([true, false, null])).toStrictEqual([true, false, null]);
    });

    it('returns undefined as an own property when it sits inside an object or array', () => {
      const decoded = roundTrip({ a: undefined, b: [undefined, 1] });

      expect(Object.hasOwn(decoded, 'a')).toBe(true);
      expect(decoded.a).toBeUndefined();
      expect(decoded.b).toHaveLength(2);
      expect(0 in decoded.b).toBe(true);
      expect(decoded.b[0]).toBeUndefined();
    });

    it('returns holes as holes when the array is sparse', () => {
      const sparse = [1, , 3, , undefined];
      sparse.length = 7;

      const decoded = roundTrip({ sparse }).sparse;

      expect(decoded).toHaveLength(7);
      expect([0, 1, 2, 3, 4, 5, 6].map((i) => i in decoded)).toEqual([
        true,
        false,
        true,
        false,
        true,
        false,
        false,
      ]);
      expect(decoded).toStrictEqual(sparse);
    });

    it('returns nested plain objects and arrays with Object.prototype', () => {
      const value = { a: { b: { c: [1, { d: 'e' }, []] } }, empty: {} };

      const decoded = roundTrip(value);

      expect(decoded).toStrictEqual(value);
      expect(Object.getPrototypeOf(decoded.a.b)).toBe(Object.prototype);
    });

    it('returns a null-prototype object when one was stored', () => {
      const bare = Object.create(null) as Record<string, unknown>;
      bare.x = 1;
      bare.nested = { y: 2 };

      const decoded = roundTrip({ bare }).bare;

      expect(Object.getPrototypeOf(decoded)).toBeNull();
      expect(Object.keys(decoded)).toEqual(['x', 'nested']);
      expect(decoded.x).toBe(1);
      expect(Object.getPrototypeOf(decoded.nested)).toBe(Object.prototype);
    });

    it('returns Dates with the same time, including an invalid Date', () => {
      const valid = roundTrip(new Date(1_700_000_000_123));
      const invalid = roundTrip({ d: new Date('not a date') }).d;

      expect(valid).toBeInstanceOf(Date);
      expect(valid.getTime()).toBe(1_700_000_000_123);
      expect(invalid).toBeInstanceOf(Date);
      expect(Number.isNaN(invalid.getTime())).toBe(true);
    });

    it('returns BigInts exactly, beyond the safe integer range', () => {
      for (const value of [0n, -1n, 2n ** 64n + 1n, -(10n ** 40n)]) {
        const decoded = roundTrip({ value }).value;
        expect(typeof decoded).toBe('bigint');
        expect(decoded).toBe(value);
      }
    });

    it('returns Maps with every kind of key, in insertion order', () => {
      const objectKey = { id: 1, tags: ['x'] };
      const map = new Map<unknown, unknown>([
        ['s', 1],
        [2, 'two'],
        [true, null],
        [null, undefined],
        [3n, new Date(5)],
        [objectKey, { v: 1 }],
        [[1, 2], 'array key'],
        [NaN, 'nan'],
      ]);

      const decoded = roundTrip(map);

      expect(decoded).toBeInstanceOf(Map);
      expect(decoded.size).toBe(map.size);
      const entries = [...decoded.entries()];
      expect(entries.slice(0, 5)).toStrictEqual([...map.entries()].slice(0, 5));
      expect(entries[5]).toStrictEqual([{ id: 1, tags: ['x'] }, { v: 1 }]);
      expect(entries[5]![0]).not.toBe(objectKey);
      expect(entries[6]).toStrictEqual([[1, 2], 'array key']);
      expect(decoded.get(NaN)).toBe('nan');
      expect(decoded.has(null)).toBe(true);
    });

    it('returns Sets with their items in insertion order', () => {
      const set = new Set<unknown>(['a', 1, -0, NaN, null, { o: 1 }, new Set([1n])]);

      const decoded = roundTrip(set);

      expect(decoded).toBeInstanceOf(Set);
      expect(decoded).toStrictEqual(set);
      expect([...decoded][5]).toStrictEqual({ o: 1 });
    });

    it('returns a Buffer when a Buffer was stored', () => {
      const bytes = Buffer.from([0, 1, 2, 250, 255]);

      const decoded = roundTrip({ bytes, empty: Buffer.alloc(0) });

      expect(Buffer.isBuffer(decoded.bytes)).toBe(true);
      expect(decoded.bytes.equals(bytes)).toBe(true);
      expect(Buffer.isBuffer(decoded.empty)).toBe(true);
      expect(decoded.empty).toHaveLength(0);
    });

    it('returns a plain Uint8Array (not a Buffer) when a Uint8Array was stored', () => {
      const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
      const view = backing.subarray(2, 5);

      const decoded = roundTrip({ view }).view;

      expect(Buffer.isBuffer(decoded)).toBe(false);
      expect(Object.getPrototypeOf(decoded)).toBe(Uint8Array.prototype);
      expect([...decoded]).toEqual([1, 2, 3]);
      expect(decoded.byteOffset).toBe(0);
      expect(decoded.buffer.byteLength).toBe(3);
    });

    it('returns any nesting of the supported types exactly', () => {
      const value = {
        users: new Map<string, unknown>([
          [
            'u1',
            {
              joined: new Date(1000),
              roles: new Set(['admin', 'dev']),
              balance: 123456789012345678901234567890n,
              avatar: Buffer.from('png'),
              raw: new Uint8Array([1]),
              history: [{ at: new Date(2000), delta: -0 }, undefined, { score: -Infinity }],
            },
          ],
        ]),
        sets: [new Set([new Map([[new Date(3), [NaN]]])])],
      };

      const decoded = roundTrip(value);

      expect(decoded).toStrictEqual(value);
      const user = decoded.users.get('u1') as {
        avatar: unknown;
        raw: unknown;
        history: Array<{ delta: number } | undefined>;
      };
      expect(Buffer.isBuffer(user.avatar)).toBe(true);
      expect(Buffer.isBuffer(user.raw)).toBe(false);
      expect(Object.is(user.history[0]!.delta, -0)).toBe(true);
    });

    it('returns objects whose keys collide with the type tags as plain objects', () => {
      const lookalikes = [
        { $t: 'Date', v: 1 },
        { $t: 'hole' },
        { $t: 'undefined' },
        { $t: 'Object', v: { $t: 'Date', v: 2 } },
        { $t: 'NullProto', v: {} },
        { $t: 'nonsense', v: [1] },
        { $t: 5 },
      ];

      for (const lookalike of lookalikes) {
        expect(roundTrip(lookalike)).toStrictEqual(lookalike);
        // Next to a Date the payload is tagged: the lookalike must still come back as data.
        const decoded = roundTrip({
          at: new Date(0),
          list: [lookalike],
          m: new Map([[1, lookalike]]),
        });
        expect(decoded.list[0]).toStrictEqual(lookalike);
        expect(decoded.m.get(1)).toStrictEqual(lookalike);
        expect(decoded.at).toBeInstanceOf(Date);
      }
    });

    it('returns a lookalike object with special values inside it exactly', () => {
      const value = { $t: 'Date', v: new Date(7), other: undefined };

      const decoded = roundTrip(value);

      expect(decoded).toStrictEqual(value);
      expect(decoded.v).toBeInstanceOf(Date);
      expect(Object.hasOwn(decoded, 'other')).toBe(true);
    });

    it('returns __proto__, constructor and prototype as own data properties', () => {
      const value = JSON.parse(
        '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"prototype":3}',
      ) as Record<string, unknown>;
      const withSpecial = { ...value } as Record<string, unknown>;
      Object.defineProperty(withSpecial, '__proto__', {
        value: { polluted: 1, at: new Date(0) },
        enumerable: true,
        configurable: true,
        writable: true,
      });

      for (const input of [value, withSpecial, { wrapped: withSpecial, n: NaN }]) {
        const decoded = roundTrip<Record<string, unknown>>(input);
        expect(ownPairs(decoded)).toEqual(ownPairs(input));
        expect(Number.isNaN(decoded.n)).toBe('n' in input);
      }
      const decoded = roundTrip(withSpecial);
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
      expect(Object.hasOwn(decoded, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toStrictEqual({
        polluted: 1,
        at: new Date(0),
      });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('returns without polluting any prototype when a payload carries __proto__ keys', () => {
      const payloads = [
        'j1:{"__proto__":{"polluted":1}}\n',
        'j1:[{"constructor":{"prototype":{"polluted":1}}}]\n',
        'j1t{"__proto__":{"polluted":1},"d":{"$t":"Date","v":0}}\n',
        'j1t{"x":{"$t":"Object","v":{"$t":1,"__proto__":{"polluted":1}}}}\n',
        'j1t{"x":{"$t":"NullProto","v":{"__proto__":{"polluted":1}}}}\n',
        'j1t{"m":{"$t":"Map","v":[[{"__proto__":{"polluted":1}},{"__proto__":{"polluted":2}}]]}}\n',
        'j1t{"__proto__":{"$t":"Set","v":[]}}\n',
      ];

      for (const text of payloads) {
        const decoded = serializer.deserialize(payloadOf(text)) as Record<string, unknown>;
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.getPrototypeOf(decoded)).toBe(
          Array.isArray(decoded) ? Array.prototype : Object.prototype,
        );
      }
      const tagged = serializer.deserialize(
        payloadOf('j1t{"__proto__":{"$t":"Set","v":[]}}\n'),
      ) as Record<string, unknown>;
      expect(Object.getOwnPropertyDescriptor(tagged, '__proto__')?.value).toBeInstanceOf(Set);
      expect(Object.getPrototypeOf(tagged)).toBe(Object.prototype);
    });

    it('throws naming a foreign payload when the prefix is not "j1"', () => {
      const foreign = [
        Buffer.alloc(0),
        Buffer.from([0x82, 0xa1, 0x61, 0x01]),
        payloadOf('{"a":1}'),
        payloadOf('j'),
      ];

      for (const payload of foreign) {
        expect(() => serializer.deserialize(payload)).toThrow(/Not a JsonSerializer payload/);
      }
    });

    it('throws naming the version when the payload comes from another format version', () => {
      expect(() => serializer.deserialize(payloadOf('j2:{}\n'))).toThrow(
        /Unsupported JsonSerializer format version "2"/,
      );
    });

    it('throws when the mode byte is unknown', () => {
      expect(() => serializer.deserialize(payloadOf('j1x{}\n'))).toThrow(/unknown mode byte/);
    });

    it('throws at every cut when the payload is truncated', () => {
      const payloads = [
        serializer.serialize(12345),
        serializer.serialize({ a: [1, 'two'], b: null }),
        serializer.serialize({ at: new Date(0), big: 10n, m: new Map([[1, 2]]) }),
      ];

      for (const payload of payloads) {
        for (let cut = 0; cut < payload.length; cut++) {
          expect(() => serializer.deserialize(payload.subarray(0, cut))).toThrow();
        }
      }
    });

    it('throws when the JSON text is corrupt or the bytes are not UTF-8', () => {
      expect(() => serializer.deserialize(payloadOf('j1:{"a":1,}\n'))).toThrow(
        /JsonSerializer payload is corrupt/,
      );
      const invalidUtf8 = Buffer.concat([
        payloadOf('j1:"'),
        Buffer.from([0xc3, 0x28]),
        payloadOf('"\n'),
      ]);
      expect(() => serializer.deserialize(invalidUtf8)).toThrow(/not valid UTF-8/);
    });

    it('throws when a tagged payload holds an unknown or malformed tag', () => {
      const corrupt = [
        'j1t{"$t":"Regex","v":"x"}\n',
        'j1t{"$t":"bigint","v":""}\n',
        'j1t{"$t":"bigint","v":"1.5"}\n',
        'j1t{"$t":"number","v":"42"}\n',
        'j1t{"$t":"Date","v":"yesterday"}\n',
        'j1t{"$t":"Map","v":[[1]]}\n',
        'j1t{"$t":"Map","v":{}}\n',
        'j1t{"$t":"Set","v":1}\n',
        'j1t{"$t":"Buffer","v":"not base64!"}\n',
        'j1t{"$t":"Object","v":[1]}\n',
        'j1t{"$t":"NullProto","v":null}\n',
        'j1t{"x":{"$t":"hole"}}\n',
      ];

      for (const text of corrupt) {
        expect(() => serializer.deserialize(payloadOf(text))).toThrow(
          /JsonSerializer payload is corrupt/,
        );
      }
    });
  });
});
