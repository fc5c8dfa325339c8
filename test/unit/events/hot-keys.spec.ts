import { HotKeys } from '../../../lib/events/hot-keys.js';

describe('HotKeys (sampled space-saving)', () => {
  it('finds the most read keys of a skewed stream in constant memory', () => {
    const hot = new HotKeys(100, 1);
    // 10 hot keys read 1,000 times each among 50,000 reads of 5,000 cold keys.
    for (let round = 0; round < 1_000; round++) {
      for (let h = 0; h < 10; h++) hot.record(`hot:${h}`);
      for (let c = 0; c < 50; c++) hot.record(`cold:${(round * 50 + c) % 5_000}`);
    }
    const top = hot.top(10);
    expect(top.map((entry) => entry.key).sort()).toEqual(
      Array.from({ length: 10 }, (_, h) => `hot:${h}`).sort(),
    );
    for (const entry of top) {
      // Space-saving overcounts by at most `error`, never undercounts.
      expect(entry.reads).toBeGreaterThanOrEqual(1_000);
      expect(entry.reads - entry.error).toBeLessThanOrEqual(1_000);
    }
    expect(hot.top(1_000).length).toBe(100); // never more than its capacity
  });

  it('counts one read in sampleEvery and scales the estimate back up', () => {
    const hot = new HotKeys(10, 10);
    for (let i = 0; i < 1_000; i++) hot.record('a');
    expect(hot.top(1)).toEqual([{ key: 'a', reads: 1_000, error: 0 }]);
  });
});
