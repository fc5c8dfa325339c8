import { namespaceVersionKey, tagVersionKey } from '../../../lib/keys/version-keys.js';
import { landedChange } from '../../../lib/tiering/landed-change.js';
import type { PendingWrite } from '../../../lib/write-behind/pending-write.js';

const set = (key: string, value: string, seq = 1): PendingWrite => ({
  kind: 'set',
  key,
  payload: value,
  expiresAt: Date.now() + 60_000,
  seq,
});

describe('landedChange()', () => {
  it("turns entry writes and deletes of the namespace into the caller's keys", () => {
    const change = landedChange(
      [set('shop:user:1', 'x'), { kind: 'del', key: 'shop:user:2', seq: 2 }],
      'shop',
    );
    expect(change).toEqual({ keys: ['user:1', 'user:2'] });
  });

  it('reads tag tokens from tag version keys and a clear from the namespace version key', () => {
    const change = landedChange(
      [
        set(tagVersionKey('shop', 'products'), 'token-p'),
        set(tagVersionKey('shop', 'a:b|c'), 'token-x'),
        set(namespaceVersionKey('shop'), 'token-ns'),
        set('shop:k', 'v'),
      ],
      'shop',
    );
    expect(change).toEqual({
      keys: ['k'],
      tags: { products: 'token-p', 'a:b|c': 'token-x' },
      clear: 'token-ns',
    });
  });

  it('ignores other namespaces', () => {
    const change = landedChange(
      [set('shopping:k', 'v'), set(namespaceVersionKey('other'), 'n'), set('other:k', 'v')],
      'shop',
    );
    expect(change).toEqual({ keys: [] });
  });
});
