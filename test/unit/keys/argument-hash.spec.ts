import {
  hashArguments,
  hashString,
  hashValue,
  stableSerialize,
  UnhashableValueError,
} from '../../../lib/keys/argument-hash.js';

describe('stableSerialize()', () => {
  it('returns the same text for objects whose keys were added in another order', () => {
    const a = { id: 7, filter: { colour: 'red', size: 'L' }, tags: ['x', 'y'] };
    const b = { tags: ['x', 'y'], filter: { size: 'L', colour: 'red' }, id: 7 };
    expect(stableSerialize(a)).toBe(stableSerialize(b));
  });

  it('tells strings from numbers, booleans, null and undefined', () => {
    const texts = ['1', 1, 1n, true, 'true', null, 'null', undefined].map(stableSerialize);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it('keeps array order but sorts Map and Set entries', () => {
    expect(stableSerialize([1, 2])).not.toBe(stableSerialize([2, 1]));
    expect(
      stableSerialize(
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      ),
    ).toBe(
      stableSerialize(
        new Map([
          ['b', 2],
          ['a', 1],
        ]),
      ),
    );
    expect(stableSerialize(new Set([1, 2]))).toBe(stableSerialize(new Set([2, 1])));
  });

  it('serializes Dates by time, Buffers by bytes and toJSON objects by their JSON', () => {
    expect(stableSerialize(new Date(5))).toBe(stableSerialize(new Date(5)));
    expect(stableSerialize(new Date(5))).not.toBe(stableSerialize(new Date(6)));
    expect(stableSerialize(Buffer.from('ab'))).not.toBe(stableSerialize(Buffer.from('ac')));
    const id = { toJSON: () => 'abc123' };
    expect(stableSerialize(id)).toBe(stableSerialize('abc123'));
  });

  it('ignores properties holding undefined, as JSON does', () => {
    expect(stableSerialize({ a: 1, b: undefined })).toBe(stableSerialize({ a: 1 }));
  });

  it('treats a class instance like a plain object with the same fields', () => {
    class Query {
      constructor(
        readonly page: number,
        readonly q: string,
      ) {}
    }
    expect(stableSerialize(new Query(2, 'chair'))).toBe(stableSerialize({ q: 'chair', page: 2 }));
  });

  it('accepts the same object twice (not a cycle)', () => {
    const shared = { id: 1 };
    expect(() => stableSerialize([shared, shared])).not.toThrow();
  });

  it('throws UnhashableValueError naming the path of a function, symbol or cycle', () => {
    expect(() => stableSerialize([1, { cb: () => 1 }])).toThrow(/function.*\[1\]\.cb/);
    expect(() => stableSerialize(Symbol('s'))).toThrow(UnhashableValueError);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => stableSerialize(cyclic)).toThrow(/circular/);
  });
});

describe('hashArguments()', () => {
  it('returns 16 hex characters, stable across calls', () => {
    const hash = hashArguments(['a', { b: 1 }]);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(hashArguments(['a', { b: 1 }])).toBe(hash);
  });

  it('ignores trailing undefined arguments', () => {
    expect(hashArguments([1, undefined])).toBe(hashArguments([1]));
    expect(hashArguments([undefined, 1])).not.toBe(hashArguments([1]));
  });

  it('hashes the stable serialization of the argument list', () => {
    const args = ['a', 1, null, { b: [1n, new Date(3)] }, true];
    expect(hashArguments(args)).toBe(hashString(stableSerialize(args)));
    expect(hashArguments([])).toBe(hashString(stableSerialize([])));
  });

  it('names the argument that cannot be hashed', () => {
    expect(() => hashArguments(['a', () => 1])).toThrow(/function.*at \[1\]/);
  });

  it('does not depend on object key order', () => {
    expect(hashArguments([{ a: 1, b: 2 }])).toBe(hashArguments([{ b: 2, a: 1 }]));
  });

  it('spreads 10,000 distinct argument lists over 10,000 distinct hashes', () => {
    const hashes = new Set<string>();
    for (let i = 0; i < 10_000; i++) hashes.add(hashArguments([i, `user-${i % 7}`]));
    expect(hashes.size).toBe(10_000);
  });
});

describe('hashValue()', () => {
  it('is the hash of the stable serialization', () => {
    expect(hashValue({ a: 1 })).toBe(hashString(stableSerialize({ a: 1 })));
  });
});
