import { hashPartOf, lockKeyOf } from '../../../lib/keys/lock-keys.js';
import { clusterKeySlot } from '../../../lib/l2/cluster/cluster-slots.js';

describe('hashPartOf()', () => {
  it('follows the Redis hash tag rule', () => {
    expect(hashPartOf('user:{42}:profile')).toBe('42');
    expect(hashPartOf('a{b}c{d}')).toBe('b'); // the first tag only
    expect(hashPartOf('plain')).toBe('plain');
    expect(hashPartOf('x{}y')).toBe('x{}y'); // an empty tag hashes the whole key
    expect(hashPartOf('open{only')).toBe('open{only');
    expect(hashPartOf('}{a}')).toBe('a');
  });
});

describe('lockKeyOf()', () => {
  const keys = ['product:1', 'user:{42}:profile', 'open{only', 'ключ:é', 'Class.method:3f2a'];

  it.each(keys)(
    'puts the lock of %j in its value key’s Cluster slot, under the namespace',
    (key) => {
      const lock = lockKeyOf('shop', key);
      expect(lock).toBeDefined();
      expect(lock!.startsWith('shop|l:')).toBe(true);
      expect(clusterKeySlot(lock!)).toBe(clusterKeySlot(`shop:${key}`));
      expect(hashPartOf(lock!)).toBe(hashPartOf(`shop:${key}`));
    },
  );

  it('gives every key its own lock key', () => {
    const locks = new Set(keys.map((key) => lockKeyOf('shop', key)));
    expect(locks.size).toBe(keys.length);
    expect(lockKeyOf('shop', 'user:{42}:a')).not.toBe(lockKeyOf('shop', 'user:{42}:b'));
  });

  it('has no lock key for a key without a tag that holds a closing brace', () => {
    expect(lockKeyOf('shop', 'a}b')).toBeUndefined();
    expect(lockKeyOf('shop', 'x{}y')).toBeUndefined();
    expect(lockKeyOf('shop', '{}empty-tag-then{tag}')).toBeUndefined(); // the empty tag rules
  });
});
