import { randomBytes } from 'node:crypto';

/**
 * Names and tokens of the version (generation) keys behind `clear()` and `invalidateTags()`.
 *
 * Every entry is stamped with the namespace's version token and the version token of each of
 * its tags when it is set; an entry whose stamp differs from the current token reads as a miss.
 * Invalidating is one SET of a fresh token, so it works on every topology, twemproxy included,
 * with no KEYS or SCAN.
 *
 * A version key is created with the namespace (or with the first entry of a tag) and kept: a key
 * found missing was lost (a restart without persistence, eviction, a failover that lost the last
 * writes), and nothing stamped before can be trusted against it. The first instance that notices
 * re-creates it atomically (`SET NX`): with the token it last saw, when it saw it within `l1.ttl`,
 * or else with a fresh *repair* token (see {@link newRepairToken}).
 *
 * NOTE: version keys live under `${namespace}|`, and entries under `${namespace}:`; a namespace
 * may contain neither `|` nor `:`, so no user key can ever collide with a version key.
 */

/**
 * The token an instance stamps with when it knows none for the key yet (it could not read L2).
 * Never stored: a version key holds a real token, so an entry stamped `ABSENT_VERSION` is current
 * only once its writer learnt the key's token and re-stamped it (see the write-behind queue).
 */
export const ABSENT_VERSION = '0';

/** What an entry is stamped with: the namespace token and one token per tag. */
export type VersionStamp = {
  /** Namespace version token at `set()`. */
  readonly g: string;
  /** Tag → version token at `set()`. Absent when the entry has no tags. */
  readonly t?: Readonly<Record<string, string>>;
};

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

/** A fresh, unique version token, as `clear()` and `invalidateTags()` write. */
export function newVersionToken(): string {
  return `${Date.now().toString(36)}.${randomBytes(6).toString('hex')}`;
}

/**
 * A fresh token that re-creates a lost version key when no trusted token is known. Marked (`~`) so
 * that a writer whose entries carry the token it knew can tell a repair (its entries are still
 * good: re-stamp them) from an invalidation it has not heard of yet (they are not).
 */
export function newRepairToken(): string {
  return `~${newVersionToken()}`;
}

/** Whether `token` was made by {@link newRepairToken}. */
export function isRepairToken(token: string): boolean {
  return token.startsWith('~');
}
