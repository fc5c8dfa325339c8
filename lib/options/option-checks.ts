import { CacheOptionsError } from '../errors/cache.errors.js';
import type { RedisNode } from './cache-options.interface.js';

/**
 * The checks every options validator of the library uses (the module's, the metrics', health's,
 * HTTP's), so that every bad option fails the same way: a `CacheOptionsError` naming the option,
 * what it must be, and what it was (never a password: URLs are not echoed).
 */

/** JSON of a value for an error message, without throwing on cycles or BigInt. */
function show(value: unknown): string {
  try {
    return typeof value === 'string'
      ? JSON.stringify(value)
      : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

/** Throws: `option` must be `expected`, and was `value`. */
export function fail(option: string, expected: string, value: unknown): never {
  throw new CacheOptionsError(option, `${option} must be ${expected}, got ${show(value)}`);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` as an object of options (`{}` when undefined); throws for anything else. */
export function objectOption(value: unknown, option: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isObject(value)) fail(option, 'an object', value);
  return value;
}

/** Throws for a key of `value` not in `allowed`, naming it with its path. */
export function checkKeys(
  value: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const where = path === '' ? key : `${path}.${key}`;
      throw new CacheOptionsError(
        where,
        `Unknown option ${where}; expected one of: ${allowed.join(', ')}`,
      );
    }
  }
}

/** An integer >= `min`, or `fallback` when undefined. */
export function integer(value: unknown, option: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(option, `an integer >= ${min}`, value);
  }
  return value;
}

/** A boolean, or `fallback` when undefined. */
export function flag(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(option, 'a boolean', value);
  return value;
}

export function nonEmptyString(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(option, 'a non-empty string', value);
  return value;
}

/** One of `choices`, or `fallback` when undefined. */
export function oneOf<T extends string>(
  value: unknown,
  option: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly unknown[]).includes(value)) {
    fail(option, choices.map((choice) => `'${choice}'`).join(' or '), value);
  }
  return value as T;
}

export function optionalObject(value: unknown, option: string): void {
  if (value !== undefined && !isObject(value)) fail(option, 'an object', value);
}

/** A non-empty array of `{ host, port }`. */
export function nodes(value: unknown, option: string): RedisNode[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail(option, 'a non-empty array of { host, port }', value);
  }
  return value.map((node: unknown, i) => {
    if (!isObject(node)) fail(`${option}[${i}]`, '{ host, port }', node);
    nonEmptyString(node['host'], `${option}[${i}].host`);
    integer(node['port'], `${option}[${i}].port`, 1, 0);
    if (node['port'] === undefined || (node['port'] as number) > 65535) {
      fail(`${option}[${i}].port`, 'a port number (1-65535)', node['port']);
    }
    return node as unknown as RedisNode;
  });
}

/** A redis:// or rediss:// URL; the error never echoes it (it may carry a password). */
export function redisUrl(value: unknown, option: string): void {
  const url = nonEmptyString(value, option);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CacheOptionsError(option, `${option} is not a valid redis:// or rediss:// URL`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new CacheOptionsError(
      option,
      `${option} must use redis:// or rediss://, got ${parsed.protocol}//`,
    );
  }
}
