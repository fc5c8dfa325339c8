import { randomBytes } from 'node:crypto';

/**
 * Names and tokens of the version (generation) keys behind `clear()` and `invalidateTags()`.
 *
 * Every entry is stamped with the namespace's version token and the version token of each of
 * its tags when it is set; an entry whose stamp differs from the current token reads as a miss.
 * Invalidating is one SET of a fresh token, so it works on every topology, twemproxy included,
 * with no KEYS or SCAN.
 *
 * NOTE: version keys live under `${namespace}|`, and entries under `${namespace}:`; a namespace
 * may contain neither `|` nor `:`, so no user key can ever collide with a version key.
 */

/** The token of a version key that does not exist (never invalidated, or expired). */
export const ABSENT_VERSION = '0';

/**
 * Lifetime of a version key. Longer than any entry may live ({@link MAX_ENTRY_TTL_MS}): when a
 * version key expires, every entry stamped with it has already expired, so the key falling back to
 * {@link ABSENT_VERSION} can never revive an invalidated entry. Version keys still carry a TTL, so
 * copies orphaned by a twemproxy ejection expire.
 */
export const VERSION_TTL_MS = 400 * 86_400_000;

/** Longest TTL an entry may have: 365 days. */
export const MAX_ENTRY_TTL_MS = 365 * 86_400_000;

/** Key holding the namespace's version token (bumped by `clear()`). */
export function namespaceVersionKey(namespace: string): string {
  return `${namespace}|v`;
}

/** Key holding a tag's version token (bumped by `invalidateTags()`). */
export function tagVersionKey(namespace: string, tag: string): string {
  return `${namespace}|t:${tag}`;
}

/** A fresh, unique version token. */
export function newVersionToken(): string {
  return `${Date.now().toString(36)}.${randomBytes(6).toString('hex')}`;
}
