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

    it('replace() swaps the held form for the value, keeping expiry, size and tags, unless the entry changed', async () => {
      const tier = new LocalTier({ max: 100, maxBytes: 100, ttlMs: 60_000 });
      const held = { encoded: true };
      tier.set('k', held, Date.now() + 150, 60, ['t']);
      tier.replace('k', held, { id: 1 }, 60);
      expect(tier.get('k')).toEqual({ id: 1 });
      tier.set('other', 'o', Date.now() + 60_000, 50); // 60 + 50 > 100: the size was kept
      expect(tier.get('k')).toBeUndefined();

      const tagged = { encoded: true };
      tier.set('t', tagged, Date.now() + 150, 10, ['red']);
      tier.replace('t', tagged, null, 10);
      expect(tier.get('t')).toBeNull();
      tier.deleteTagged(['red']); // the tags were kept
      expect(tier.get('t')).toBeUndefined();

      const expiring = { encoded: true };
      tier.set('e', expiring, Date.now() + 100, 10);
      tier.replace('e', expiring, 'decoded', 10);
      await waitFor(() => tier.get('e') === undefined, {
        timeoutMs: 2_000,
        message: 'e expired at its own TTL, not later',
      });

      tier.set('n', 'newer', Date.now() + 60_000, 10);
      tier.replace('n', held, 'stale decode', 10); // not the form held: no effect
      expect(tier.get('n')).toBe('newer');
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

    it('gives each entry its own expiry and size, whatever the entries set before it had', async () => {
      const tier = new LocalTier({ max: 10, maxBytes: 100, ttlMs: 60_000 });
      tier.set('short', 's', Date.now() + 80, 60);
      tier.set('long', 'l', Date.now() + 60_000, 30);
      await waitFor(() => tier.get('short') === undefined, {
        timeoutMs: 2_000,
        message: 'the short entry expired',
      });
      expect(tier.get('long')).toBe('l');
      // 30 + 60 bytes fit in 100: the long entry's own size counts, not the short one's.
      tier.set('next', 'n', Date.now() + 60_000, 60);
      expect(tier.get('long')).toBe('l');
      expect(tier.get('next')).toBe('n');
    });

    it('does not store an entry that already expired, and drops the older value', () => {
      const tier = new LocalTier({ max: 10, maxBytes: 1000, ttlMs: 1000 });
      tier.set('k', 'old', Date.now() + 1000, 1);
      tier.set('k', 'new', Date.now() - 1, 1);
      expect(tier.get('k')).toBeUndefined();
    });
  });
});
