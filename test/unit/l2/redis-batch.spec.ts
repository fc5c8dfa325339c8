import { expiryArgs } from '../../../lib/l2/redis/redis-batch.js';

describe('expiryArgs()', () => {
  it('sends the absolute expiry as PXAT when the server takes it', () => {
    expect(expiryArgs(1_800_000_000_123, true)).toEqual(['PXAT', 1_800_000_000_123]);
  });

  it('sends what remains as PX on a server without PXAT, never less than 1 ms', () => {
    const [unit, ms] = expiryArgs(Date.now() + 5_000, false);
    expect(unit).toBe('PX');
    expect(ms).toBeGreaterThan(4_900);
    expect(ms).toBeLessThanOrEqual(5_000);
    expect(expiryArgs(Date.now() - 10, false)).toEqual(['PX', 1]);
  });
});
