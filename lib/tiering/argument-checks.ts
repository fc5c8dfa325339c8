import { CacheError } from '../errors/cache.errors.js';

/** Throws unless `value` is an array. No type narrowing: `Array.isArray` would widen to `any[]`. */
export function assertArray(value: unknown, message: string): void {
  if (!Array.isArray(value)) throw new CacheError(message);
}

export function assertTag(tag: unknown): void {
  if (typeof tag !== 'string' || tag.length === 0) {
    throw new CacheError(
      `A tag must be a non-empty string, got ${typeof tag === 'string' ? 'an empty string' : typeof tag}`,
    );
  }
}
