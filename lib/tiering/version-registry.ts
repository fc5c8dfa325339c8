import { LRUCache } from 'lru-cache';
import type { L2Ensured, L2EnsureRequest, L2Read } from '../contracts/l2-store.interface.js';
import { ABSENT_VERSION, newVersionToken, type VersionStamp } from '../keys/version-keys.js';
import { KnownVersions } from './known-versions.js';

export type { VersionStamp };

/**
 * Version tokens to check one read against, read in the same round trip as its values.
 * `undefined`: nothing can be current against that key (it was lost, or it is unavailable and this
 * instance has no token it may trust).
 */
/** Shared answers of the untagged path (never mutated). */
const NO_TAGS: readonly string[] = Object.freeze([]);
const NO_TAG_TOKENS: ReadonlyMap<string, string | undefined> = new Map();

export interface FreshVersions {
  readonly namespace: string | undefined;
  readonly tags: ReadonlyMap<string, string | undefined>;
}

/** What the registry needs of L2. */
export interface VersionSource {
  /**
   * Reads version keys. Goes through the read batcher: the tag versions that many entries of one
   * read need are then fetched once, in one MGET per tick, not once per entry.
   */
  mget(keys: readonly string[]): Promise<L2Read[]>;
  ensure(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]>;
  /** Reports an L2 failure the caller did not see (it read a miss instead). */
  failed(operation: string, error: unknown): void;
}

/**
 * The version tokens behind `clear()` and `invalidateTags()`, and how reads check them.
 *
 * - Reads are checked against tokens read *in the same round trip* as the value: the namespace
 *   version key and the version keys of the tags the entry had the last time this instance saw
 *   the key (a bounded hint map) go in the value's MGET. Only a tagged key seen for the first
 *   time, or whose tags changed, costs a second MGET. So an invalidation that landed in L2 is
 *   never missed by an L2 read, on any instance.
 * - Writes are stamped with the tokens this instance knows, without waiting for L2. A stamp
 *   older than the current token reads as a miss (never as stale data).
 * - A version key that L2 cannot answer for (its shard is down) falls back to the token this
 *   instance last confirmed, if it confirmed it within `trustMs` (`l1.ttl`); otherwise the read
 *   misses. A version key found *missing* reads as a miss and is re-created (KnownVersions).
 *   Writers learn the outcome with their next batch (see batch-version.guard.ts).
 */
export class VersionRegistry {
  readonly namespaceKey: string;
  /** The tokens this instance knows, and the repair of lost version keys. */
  readonly known: KnownVersions;
  private readonly hints: LRUCache<string, readonly string[]>;
  private untaggedStamp: VersionStamp = Object.freeze({ g: ABSENT_VERSION });
  private untaggedFresh: FreshVersions = Object.freeze({
    namespace: undefined,
    tags: NO_TAG_TOKENS,
  });

  constructor(
    private readonly source: VersionSource,
    namespace: string,
    hintCapacity: number,
    /** Milliseconds a confirmed token stands in for a version key L2 cannot answer for. */
    trustMs: number,
  ) {
    this.known = new KnownVersions(source, namespace, trustMs);
    this.namespaceKey = this.known.namespaceKey;
    this.hints = new LRUCache({ max: Math.max(1_000, hintCapacity) });
  }

  /** Makes sure the namespace version key exists (at start-up), and learns its token. */
  async start(): Promise<void> {
    await this.known.ensure([this.namespaceKey]);
  }

  /** {@link hintedTags} of one key. */
  hintedTagsOf(key: string): readonly string[] {
    return this.hints.size === 0 ? NO_TAGS : (this.hints.get(key) ?? NO_TAGS);
  }

  /**
   * The tokens to check a read of `n` keys against, from its answers `raws` (the values, then the
   * namespace key, then the keys of `tags`), read at `startedAt`.
   */
  freshVersions(
    raws: readonly L2Read[],
    n: number,
    tags: readonly string[],
    startedAt: number,
  ): FreshVersions {
    const namespace = this.known.note(this.namespaceKey, raws[n], startedAt);
    if (tags.length > 0) {
      return { namespace, tags: this.noteTags(tags, raws.slice(n + 1), startedAt) };
    }
    // The untagged read: one shared answer per namespace token rather than an object per read.
    if (this.untaggedFresh.namespace !== namespace) {
      this.untaggedFresh = Object.freeze({ namespace, tags: NO_TAG_TOKENS });
    }
    return this.untaggedFresh;
  }

  /** The tags last seen on these keys, whose version keys should travel with their read. */
  hintedTags(keys: readonly string[]): readonly string[] {
    // Nothing tagged seen yet: the common read of an untagged cache asks the hints nothing.
    if (this.hints.size === 0) return NO_TAGS;
    const tags = new Set<string>();
    for (const key of keys) for (const tag of this.hints.get(key) ?? []) tags.add(tag);
    return [...tags];
  }

  tagKey(tag: string): string {
    return this.known.tagKey(tag);
  }

  /** The tokens to check a read against, from the tag keys read at `startedAt`. */
  private noteTags(
    tags: readonly string[],
    raws: readonly L2Read[],
    startedAt: number,
  ): ReadonlyMap<string, string | undefined> {
    if (tags.length === 0) return NO_TAG_TOKENS;
    const fresh = new Map<string, string | undefined>();
    tags.forEach((tag, i) => fresh.set(tag, this.known.note(this.tagKey(tag), raws[i], startedAt)));
    return fresh;
  }

  /** Whether any key has remembered tags (untagged writes need not clear a hint otherwise). */
  get hasTagHints(): boolean {
    return this.hints.size > 0;
  }

  /** Remembers the tags of `key`, so its next read fetches their versions with the value. */
  rememberTags(key: string, tags: readonly string[] | undefined): void {
    if (tags !== undefined && tags.length > 0) this.hints.set(key, tags);
    else if (this.hints.size > 0) this.hints.delete(key);
  }

  /**
   * Whether an entry stamped `stamp` is current, against tokens read with it. Tags whose tokens
   * did not come with the read are read now (one more MGET). An L2 failure there counts as stale.
   */
  isCurrent(stamp: VersionStamp | undefined, fresh: FreshVersions): boolean | Promise<boolean> {
    // Synchronous unless tag versions must be read: no promise per entry on the common path.
    if (stamp === undefined || fresh.namespace === undefined || stamp.g !== fresh.namespace) {
      return false;
    }
    if (stamp.t === undefined) return true;
    const stampTags = stamp.t;
    const tags = Object.keys(stampTags);
    const missing = tags.filter((tag) => !fresh.tags.has(tag));
    if (missing.length === 0) return tags.every((tag) => fresh.tags.get(tag) === stampTags[tag]);
    return this.readTagsAndCheck(tags, missing, stampTags, fresh);
  }

  /** Synchronous check against what this instance knows (for its own writes not yet flushed). */
  matchesKnown(stamp: VersionStamp | undefined): boolean {
    if (stamp === undefined || stamp.g !== this.known.namespace) return false;
    for (const [tag, token] of Object.entries(stamp.t ?? {})) {
      if (this.known.knownOf(this.tagKey(tag)).token !== token) return false;
    }
    return true;
  }

  /** The stamp for an entry set now with `tags`. */
  stamp(tags: readonly string[] | undefined): VersionStamp {
    const g = this.known.namespace;
    if (tags === undefined || tags.length === 0) {
      // One shared object per namespace token: untagged sets allocate nothing here.
      // Frozen, so the envelope encoder can reuse its JSON.
      if (this.untaggedStamp.g !== g) this.untaggedStamp = Object.freeze({ g });
      return this.untaggedStamp;
    }
    const t: Record<string, string> = {};
    const unknown: string[] = [];
    for (const tag of tags) {
      const known = this.known.tag(tag);
      if (known === undefined) unknown.push(tag);
      t[tag] = known?.token ?? ABSENT_VERSION;
    }
    if (unknown.length > 0) void this.learnTags(unknown);
    return { g, t };
  }

  /** Bumps the namespace token locally; returns the key and token to write to L2. */
  bumpNamespace(): { key: string; token: string } {
    const token = newVersionToken();
    // Trusted from now on: this instance decides the token (its write is on the way).
    this.known.setNamespace({ token, at: performance.now(), confirmedAt: Date.now() });
    this.known.bumped(this.namespaceKey, token);
    return { key: this.namespaceKey, token };
  }

  /** Bumps tag tokens locally; returns the keys and tokens to write to L2. */
  bumpTags(tags: readonly string[]): Array<{ key: string; token: string }> {
    return [...new Set(tags)].map((tag) => {
      const token = newVersionToken();
      this.known.setTag(tag, { token, at: performance.now(), confirmedAt: Date.now() });
      this.known.bumped(this.tagKey(tag), token);
      return { key: this.tagKey(tag), token };
    });
  }

  /**
   * Tokens that are in L2 now: another instance's invalidations (from the invalidation bus), or
   * this instance's once they landed. Newest knowledge.
   */
  learnRemote(
    namespaceToken: string | undefined,
    tags: Readonly<Record<string, string>> | undefined,
  ): void {
    const now = Date.now();
    const at = performance.now();
    if (namespaceToken !== undefined) {
      this.known.setNamespace({ token: namespaceToken, at, confirmedAt: now });
    }
    for (const [tag, token] of Object.entries(tags ?? {})) {
      this.known.setTag(tag, { token, at, confirmedAt: now });
    }
  }

  /** `isCurrent` when some tag tokens did not come with the read: one more MGET for them. */
  private async readTagsAndCheck(
    tags: readonly string[],
    missing: readonly string[],
    stampTags: Readonly<Record<string, string>>,
    fresh: FreshVersions,
  ): Promise<boolean> {
    let fetched: ReadonlyMap<string, string | undefined>;
    const startedAt = performance.now();
    try {
      fetched = this.noteTags(
        missing,
        await this.source.mget(missing.map((tag) => this.tagKey(tag))),
        startedAt,
      );
    } catch (error: unknown) {
      this.source.failed('tag versions', error);
      return false;
    }
    return tags.every((tag) => (fresh.tags.get(tag) ?? fetched.get(tag)) === stampTags[tag]);
  }

  /** Background read of tag tokens for stamping; a failure leaves them unknown (safe). */
  private async learnTags(tags: readonly string[]): Promise<void> {
    const startedAt = performance.now();
    try {
      this.noteTags(tags, await this.source.mget(tags.map((tag) => this.tagKey(tag))), startedAt);
    } catch {
      // Stamps stay ABSENT_VERSION until a write batch learns the tokens (batch-version.guard.ts).
    }
  }
}
