import { LocalTier } from '../../../lib/l1/local-tier.js';
import { waitFor } from '../../support/poll.js';

describe('LocalTier', () => {
  describe('set()', () => {
    it('keeps null as a value, distinct from a miss', () => {
      const tier = new LocalTier({ max: 10, maxBytes: 1000, ttlMs: 10_000 });
      tier.set('n', null, Date.now() + 10_000, 4);
      expect(tier.get('n')).toBeNull();
      expect(tier.get('missing')).toBeUndefined();
    });

    it('evicts the least recently used entry past max entries', () => {
      const tier = new LocalTier({ max: 2, maxBytes: 1000, ttlMs: 10_000 });
      const expiresAt = Date.now() + 10_000;
      tier.set('a', 1, expiresAt, 1);
      tier.set('b', 2, expiresAt, 1);
      tier.get('a');
      tier.set('c', 3, expiresAt, 1);
      expect(tier.get('a')).toBe(1);
      expect(tier.get('b')).toBeUndefined();
      expect(tier.get('c')).toBe(3);
    });

    it('evicts past maxBytes and refuses an entry larger than all of L1', () => {
      const tier = new LocalTier({ max: 100, maxBytes: 100, ttlMs: 10_000 });
      const expiresAt = Date.now() + 10_000;
      tier.set('a', 'a', expiresAt, 60);
      tier.set('b', 'b', expiresAt, 60);
      expect(tier.get('a')).toBeUndefined();
      expect(tier.get('b')).toBe('b');
      tier.set('b', 'huge', expiresAt, 101);
      expect(tier.get('b')).toBeUndefined();
    });

    it('resize() corrects a guessed size: evicts older entries past maxBytes, keeps the TTL, ignores a replaced value', async () => {
      const tier = new LocalTier({ max: 100, maxBytes: 100, ttlMs: 60_000 });
      const a = { id: 'a' };
      const b = { id: 'b' };
      tier.set('a', a, Date.now() + 60_000, 10);
      tier.set('b', b, Date.now() + 120, 10);
      tier.resize('b', b, 70);
      expect(tier.get('a')).toBe(a);
      tier.resize('a', a, 40); // 40 + 70 > 100: the least recently used other entry goes
      expect(tier.get('a')).toBe(a);
      expect(tier.get('b')).toBeUndefined();

      tier.set('c', 'c', Date.now() + 100, 10);
      tier.resize('c', 'c', 20);
      await waitFor(() => tier.get('c') === undefined, {
        timeoutMs: 2_000,
        message: 'c expired at its own TTL, not later',
      });

      tier.set('d', 'new', Date.now() + 60_000, 10);
      tier.resize('d', 'old', 1_000); // not the value held: no effect
      expect(tier.get('d')).toBe('new');
      tier.resize('d', 'new', 101); // larger than all of L1
      expect(tier.get('d')).toBeUndefined();
    });

    it('deleteIf() deletes only while the entry still holds that value', () => {
      const tier = new LocalTier({ max: 10, maxBytes: 1000, ttlMs: 10_000 });
      tier.set('k', 'old', Date.now() + 10_000, 1);
      tier.set('k', 'new', Date.now() + 10_000, 1);
      tier.deleteIf('k', 'old');
      expect(tier.get('k')).toBe('new');
      tier.deleteIf('k', 'new');
      expect(tier.get('k')).toBeUndefined();
      tier.set('n', null, Date.now() + 10_000, 1);
      tier.deleteIf('n', null);
      expect(tier.get('n')).toBeUndefined();
    });

    it('never keeps an entry past its own expiry, even with a longer L1 TTL', async () => {
      const tier = new LocalTier({ max: 10, maxBytes: 1000, ttlMs: 60_000 });
      const start = Date.now();
      tier.set('k', 'v', start + 80, 1);
      expect(tier.get('k')).toBe('v');
      await waitFor(() => tier.get('k') === undefined, {
        timeoutMs: 2_000,
        message: 'entry expired',
      });
      expect(Date.now() - start).toBeGreaterThanOrEqual(79);
    });

    it('caps an entry at the L1 TTL when its own TTL is longer', async () => {
      const tier = new LocalTier({ max: 10, maxBytes: 1000, ttlMs: 80 });
      tier.set('k', 'v', Date.now() + 60_000, 1);
      expect(tier.get('k')).toBe('v');
      await waitFor(() => tier.get('k') === undefined, {
        timeoutMs: 2_000,
        message: 'L1 TTL capped',
      });
    });

    it('does not store an entry that already expired, and drops the older value', () => {
      const tier = new LocalTier({ max: 10, maxBytes: 1000, ttlMs: 1000 });
      tier.set('k', 'old', Date.now() + 1000, 1);
      tier.set('k', 'new', Date.now() - 1, 1);
      expect(tier.get('k')).toBeUndefined();
    });
  });
});
