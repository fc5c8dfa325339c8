import { LRUCache } from 'lru-cache';
import {
  ABSENT_VERSION,
  namespaceVersionKey,
  newVersionToken,
  tagVersionKey,
} from '../keys/version-keys.js';
import type { RemoteTier } from './remote-tier.js';

/** What an entry is stamped with: the namespace token and one token per tag. */
export type VersionStamp = {
  /** Namespace version token at `set()`. */
  readonly g: string;
  /** Tag → version token at `set()`. Absent when the entry has no tags. */
  readonly t?: Readonly<Record<string, string>>;
};

/** Version tokens read from L2 together with the values of one read. */
export interface FreshVersions {
  readonly namespace: string;
  readonly tags: ReadonlyMap<string, string>;
}

interface KnownToken {
  readonly token: string;
  /** `performance.now()` when learnt: a token learnt later wins. */
  readonly at: number;
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
 *   older than the current token reads as a miss (never as stale data), so the worst an unknown
 *   or outdated token costs is a miss; unknown tags are fetched in the background.
 */
export class VersionRegistry {
  readonly namespaceKey: string;
  private namespaceToken: KnownToken = { token: ABSENT_VERSION, at: 0 };
  /** Bounded: a forgotten token is read again from L2. */
  private readonly known = new LRUCache<string, KnownToken>({ max: 100_000 });
  private readonly hints: LRUCache<string, readonly string[]>;
  private untaggedStamp: VersionStamp = Object.freeze({ g: ABSENT_VERSION });

  constructor(
    private readonly remote: RemoteTier,
    private readonly namespace: string,
    hintCapacity: number,
  ) {
    this.namespaceKey = namespaceVersionKey(namespace);
    this.hints = new LRUCache({ max: Math.max(1_000, hintCapacity) });
  }

  /** Records the namespace token read from L2 at `startedAt` (`undefined`: key absent). */
  noteNamespace(raw: Buffer | undefined, startedAt: number): string {
    const token = raw === undefined ? ABSENT_VERSION : raw.toString('utf8');
    if (startedAt >= this.namespaceToken.at) this.namespaceToken = { token, at: startedAt };
    return token;
  }

  /** Reads the namespace token (at start-up, so the first writes are stamped right). */
  async refreshNamespace(): Promise<void> {
    const startedAt = performance.now();
    const [raw] = await this.remote.mget([this.namespaceKey]);
    this.noteNamespace(raw, startedAt);
  }

  /** The tags last seen on these keys, whose version keys should travel with their read. */
  hintedTags(keys: readonly string[]): string[] {
    const tags = new Set<string>();
    for (const key of keys) for (const tag of this.hints.get(key) ?? []) tags.add(tag);
    return [...tags];
  }

  tagKey(tag: string): string {
    return tagVersionKey(this.namespace, tag);
  }

  /** Records tag tokens read from L2 at `startedAt` and returns them as fresh versions. */
  noteTags(
    tags: readonly string[],
    raws: ReadonlyArray<Buffer | undefined>,
    startedAt: number,
  ): Map<string, string> {
    const fresh = new Map<string, string>();
    tags.forEach((tag, i) => {
      const raw = raws[i];
      const token = raw === undefined ? ABSENT_VERSION : raw.toString('utf8');
      fresh.set(tag, token);
      // A token bumped here while the read was in flight is newer than what the read saw.
      if (startedAt >= (this.known.get(tag)?.at ?? -1))
        this.known.set(tag, { token, at: startedAt });
    });
    return fresh;
  }

  /** Remembers the tags of `key`, so its next read fetches their versions with the value. */
  /** Whether any key has remembered tags (untagged writes need not clear a hint otherwise). */
  get hasTagHints(): boolean {
    return this.hints.size > 0;
  }

  rememberTags(key: string, tags: readonly string[] | undefined): void {
    if (tags !== undefined && tags.length > 0) this.hints.set(key, tags);
    else this.hints.delete(key);
  }

  /**
   * Whether an entry stamped `stamp` is current, against tokens read with it. Tags whose tokens
   * did not come with the read are read now (one more MGET). An L2 failure there counts as stale.
   */
  isCurrent(stamp: VersionStamp | undefined, fresh: FreshVersions): boolean | Promise<boolean> {
    // Synchronous unless tag versions must be read: no promise per entry on the common path.
    if (stamp === undefined) return fresh.namespace === ABSENT_VERSION;
    if (stamp.g !== fresh.namespace) return false;
    if (stamp.t === undefined) return true;
    const stampTags = stamp.t;
    const tags = Object.keys(stampTags);
    const missing = tags.filter((tag) => !fresh.tags.has(tag));
    if (missing.length === 0) return tags.every((tag) => fresh.tags.get(tag) === stampTags[tag]);
    return this.readTagsAndCheck(tags, missing, stampTags, fresh);
  }

  /** `isCurrent` when some tag tokens did not come with the read: one more MGET for them. */
  private async readTagsAndCheck(
    tags: readonly string[],
    missing: readonly string[],
    stampTags: Readonly<Record<string, string>>,
    fresh: FreshVersions,
  ): Promise<boolean> {
    let fetched: Map<string, string>;
    const startedAt = performance.now();
    try {
      fetched = this.noteTags(
        missing,
        await this.remote.mget(missing.map((tag) => this.tagKey(tag))),
        startedAt,
      );
    } catch {
      return false;
    }
    return tags.every((tag) => (fresh.tags.get(tag) ?? fetched.get(tag)) === stampTags[tag]);
  }

  /** Synchronous check against what this instance knows (for its own writes not yet flushed). */
  matchesKnown(stamp: VersionStamp | undefined): boolean {
    if (stamp === undefined) return this.namespaceToken.token === ABSENT_VERSION;
    if (stamp.g !== this.namespaceToken.token) return false;
    for (const [tag, token] of Object.entries(stamp.t ?? {})) {
      if ((this.known.get(tag)?.token ?? ABSENT_VERSION) !== token) return false;
    }
    return true;
  }

  /** The stamp for an entry set now with `tags`. */
  stamp(tags: readonly string[] | undefined): VersionStamp {
    const g = this.namespaceToken.token;
    if (tags === undefined || tags.length === 0) {
      // One shared object per namespace token: untagged sets allocate nothing here.
      // Frozen, so the envelope encoder can reuse its JSON.
      if (this.untaggedStamp.g !== g) this.untaggedStamp = Object.freeze({ g });
      return this.untaggedStamp;
    }
    const t: Record<string, string> = {};
    const unknown: string[] = [];
    for (const tag of tags) {
      const known = this.known.get(tag);
      if (known === undefined) unknown.push(tag);
      t[tag] = known?.token ?? ABSENT_VERSION;
    }
    if (unknown.length > 0) void this.learnTags(unknown);
    return { g, t };
  }

  /** Bumps the namespace token locally; returns the key and token to write to L2. */
  bumpNamespace(): { key: string; token: string } {
    this.namespaceToken = { token: newVersionToken(), at: performance.now() };
    return { key: this.namespaceKey, token: this.namespaceToken.token };
  }

  /** Bumps tag tokens locally; returns the keys and tokens to write to L2. */
  bumpTags(tags: readonly string[]): Array<{ key: string; token: string }> {
    return [...new Set(tags)].map((tag) => {
      const token = newVersionToken();
      this.known.set(tag, { token, at: performance.now() });
      return { key: this.tagKey(tag), token };
    });
  }

  /** Tokens another instance bumped (from the invalidation bus): newest knowledge. */
  learnRemote(
    namespaceToken: string | undefined,
    tags: Readonly<Record<string, string>> | undefined,
  ): void {
    const at = performance.now();
    if (namespaceToken !== undefined) this.namespaceToken = { token: namespaceToken, at };
    for (const [tag, token] of Object.entries(tags ?? {})) this.known.set(tag, { token, at });
  }

  /** Background read of tag tokens for stamping; a failure leaves them unknown (safe). */
  private async learnTags(tags: readonly string[]): Promise<void> {
    const startedAt = performance.now();
    try {
      this.noteTags(tags, await this.remote.mget(tags.map((tag) => this.tagKey(tag))), startedAt);
    } catch {
      // Stamps stay ABSENT_VERSION: entries written meanwhile may read as misses elsewhere.
    }
  }
}
