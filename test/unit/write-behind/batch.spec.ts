import { backoffDelay, toL2Writes } from '../../../lib/write-behind/batch.js';
import { storePayload } from '../../../lib/write-behind/flusher-ports.js';

describe('toL2Writes()', () => {
  const payload = 'v';
  const value = Buffer.from(payload);

  it('sends the absolute expiry fixed at set(), however late the batch goes out', () => {
    const [write] = toL2Writes(
      [{ kind: 'set', key: 'k', payload, expiresAt: 1001, seq: 1 }],
      500,
      storePayload,
    );
    expect(write).toEqual({ kind: 'set', key: 'k', value, expiresAt: 1001 });
    const [late] = toL2Writes(
      [{ kind: 'set', key: 'k', payload, expiresAt: 1001, seq: 1 }],
      1000,
      storePayload,
    );
    expect(late).toEqual({ kind: 'set', key: 'k', value, expiresAt: 1001 });
  });

  it('turns an entry that expired while queued into a delete', () => {
    const writes = toL2Writes(
      [
        { kind: 'set', key: 'a', payload, expiresAt: 1000, seq: 1 },
        { kind: 'set', key: 'b', payload, expiresAt: 900, seq: 2 },
        { kind: 'del', key: 'c', seq: 3 },
      ],
      1000,
      storePayload,
    );
    expect(writes).toEqual([
      { kind: 'del', key: 'a' },
      { kind: 'del', key: 'b' },
      { kind: 'del', key: 'c' },
    ]);
  });
});

describe('backoffDelay()', () => {
  it('stays between the base and the doubling ceiling, capped by the maximum', () => {
    for (let attempt = 1; attempt <= 40; attempt++) {
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, 50, 2000);
        expect(delay).toBeGreaterThanOrEqual(50);
        expect(delay).toBeLessThanOrEqual(Math.min(2000, 50 * 2 ** (attempt - 1)));
      }
    }
  });

  it('spreads retries (jitter)', () => {
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(6, 50, 2000)));
    expect(delays.size).toBeGreaterThan(5);
  });
});
