import { CacheOptionsError } from '../errors/cache.errors.js';

/** A duration string: a non-negative number followed by one unit: `ms`, `s`, `m`, `h` or `d`. */
export type DurationString =
  `${number}ms` | `${number}s` | `${number}m` | `${number}h` | `${number}d`;

/**
 * A duration: milliseconds as a number, or a {@link DurationString}.
 * `'5 minutes'` does not type-check; at run time it is rejected at startup.
 * @example 500, '500ms', '30s', '5m', '1h', '1d'
 */
export type Duration = number | DurationString;

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a {@link Duration} into whole milliseconds (rounded up, so '1.5ms' is 2).
 * @param option dotted option path, named in the error
 * @throws CacheOptionsError for a negative, non-finite or unparsable value
 */
export function parseDuration(value: unknown, option: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new CacheOptionsError(
        option,
        `${option} must be a non-negative number of milliseconds or a string like '30s', got ${String(value)}`,
      );
    }
    return Math.ceil(value);
  }
  if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value);
    const unit = match?.[2];
    if (match?.[1] !== undefined && unit !== undefined) {
      return Math.ceil(Number(match[1]) * (UNIT_MS[unit] ?? 1));
    }
  }
  throw new CacheOptionsError(
    option,
    `${option} must be milliseconds or a string of a number and one unit ('500ms', '30s', '5m', '1h', '1d'), got ${JSON.stringify(value) ?? String(value)}`,
  );
}
