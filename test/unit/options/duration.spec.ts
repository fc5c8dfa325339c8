import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import { parseDuration } from '../../../lib/options/duration.js';

describe('parseDuration()', () => {
  it.each([
    [0, 0],
    [1500, 1500],
    [1.2, 2],
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1_500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
  ])('turns %p into %p milliseconds', (input, expected) => {
    expect(parseDuration(input, 'ttl')).toBe(expected);
  });

  it.each([
    ['5 minutes'],
    ['5'],
    ['-1s'],
    [''],
    ['1w'],
    [-1],
    [Number.NaN],
    [Infinity],
    [null],
    [{}],
  ])('rejects %p with an error naming the option and the value', (input) => {
    let caught: unknown;
    try {
      parseDuration(input, 'l1.ttl');
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CacheOptionsError);
    expect((caught as CacheOptionsError).option).toBe('l1.ttl');
    expect((caught as Error).message).toContain('l1.ttl');
    expect((caught as Error).message).toContain(
      typeof input === 'number' ? String(input) : JSON.stringify(input),
    );
  });
});
