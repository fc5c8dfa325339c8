import type { PendingWrite } from '../write-behind/pending-write.js';
import { LRUCache } from 'lru-cache';
import type { L2Ensured, L2EnsureRequest, L2Read } from '../contracts/l2-store.interface.js';
import {
  ABSENT_VERSION,
  namespaceVersionKey,
  newRepairToken,
  tagVersionKey,
  VERSION_TTL_MS,
} from '../keys/version-keys.js';

/** A token this instance knows for one version key. */
export interface KnownToken {
  readonly token: string;
  /** `performance.now()` when learnt: a token learnt later wins. */
  readonly at: number;
  /** `Date.now()` when L2 last showed (or took) this token; 0 for never. */
  readonly confirmedAt: number;
}

const UNKNOWN: KnownToken = Object.freeze({ token: ABSENT_VERSION, at: 0, confirmedAt: 0 });

/** How long {@link KnownVersions.note} reuses its last answer for the same Buffer, in ms. */
const NOTE_REUSE_MS = 100;

/** A version key found missing is re-created at most once per this many milliseconds. */
const REPAIR_INTERVAL_MS = 1_000;

/** Most tag tokens an instance remembers. */
const KNOWN_TAGS_MAX = 100_000;

/**
 * The version tokens this instance knows (the namespace key's and each tag key's), how far it
 * trusts them, and the repair of version keys found lost. Kept apart from stamping and checking
 * (VersionRegistry) because the write-behind batches (BatchVersionGuard) need this part only.
 *
 * - A token counts as *trusted* while L2 showed (or took) it within `trustMs` (`l1.ttl`): it then
 *   stands in for a version key L2 cannot answer for (its shard is down).
 * - A version key found *missing* was lost (see version-keys.ts): nothing is current against it,
 *   and it is re-created at once (`SET NX`), with the trusted token (so every entry stamped with it
 *   reads again) or a fresh repair token.
 */
export class KnownVersions {
  readonly namespaceKey: string;
  private readonly tagKeyPrefix: string;
  private namespaceToken: KnownToken = UNKNOWN;
  /**
   * The tag tokens, the least recently used forgotten beyond `tagCapacity` (a forgotten token is
   * read again from L2). Bounded by `maxSize` at one unit per entry rather than by `max`: with
   * `max`, lru-cache allocates its arrays for every entry up front, 2.8 MB and 16-20 ms per cache
   * instance for 100,000 (measured), where an instance usually knows a few tags.
   */
  private readonly known: LRUCache<string, KnownToken>;
  /** Version keys being re-created, or re-created a moment ago, with when. */
  private readonly repairs = new Map<string, number>();
  /**
   * Version keys bumped here (`clear()`, `invalidateTags()`) whose write has not landed yet, with
   * the token written. Until it lands L2 still answers the old token, which must not replace the
   * bump: a read made right after `clear()` would take the old entries for current again.
   */
  private readonly unlanded = new Map<string, string>();
  /**
   * The version key answer {@link note} decoded last (see there). It keeps that reply Buffer, a
   * view into one socket read of the client, alive until the next read: bounded, and cheaper than
   * clearing it after every batch.
   */
  private lastNoted:
    | {
        readonly key: string;
        readonly raw: Buffer;
        readonly token: string;
        readonly startedAt: number;
      }
    | undefined;

  constructor(
    private readonly source: {
      ensure(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]>;
    },
    namespace: string,
    /** Milliseconds a confirmed token stands in for a version key L2 cannot answer for. */
    private readonly trustMs: number,
    /** Most tag tokens remembered. */
    tagCapacity = KNOWN_TAGS_MAX,
  ) {
    this.known = new LRUCache({ maxSize: tagCapacity, sizeCalculation: () => 1 });
    this.namespaceKey = namespaceVersionKey(namespace);
    this.tagKeyPrefix = tagVersionKey(namespace, '');
  }

  tagKey(tag: string): string {
    return this.tagKeyPrefix + tag;
  }

  /** The namespace token this instance knows (`ABSENT_VERSION` when none). */
  get namespace(): string {
    return this.namespaceToken.token;
  }

  /** What this instance knows for the version key of `tag`, `undefined` when nothing. */
  tag(tag: string): KnownToken | undefined {
    return this.known.get(tag);
  }

  /** Takes `known` as the namespace token: newest knowledge (a bump, another instance's change). */
  setNamespace(known: KnownToken): void {
    this.namespaceToken = known;
    this.unlanded.delete(this.namespaceKey);
  }

  /** Takes `known` as the token of `tag`: newest knowledge. */
  setTag(tag: string, known: KnownToken): void {
    this.known.set(tag, known);
    if (this.unlanded.size > 0) this.unlanded.delete(this.tagKey(tag));
  }

  /** This instance bumped `versionKey` to `token` (already taken as known); its write is queued. */
  bumped(versionKey: string, token: string): void {
    this.unlanded.set(versionKey, token);
  }

  /**
   * Writes that landed, or were dropped: a bump of a version key they carried no longer holds back
   * L2's answers. A landed bump counts as learnt now, so answers to reads sent before it landed
   * (the old token) are still ignored.
   */
  settle(writes: readonly PendingWrite[], landed: boolean): void {
    for (const write of writes) {
      if (write.kind !== 'set' || write.stamp !== undefined) continue; // entries carry a stamp
      const token = typeof write.payload === 'string' ? write.payload : write.payload.toString();
      if (this.unlanded.get(write.key) !== token) continue;
      this.unlanded.delete(write.key);
      if (landed && this.knownOf(write.key).token === token) {
        this.learn(write.key, { token, at: performance.now(), confirmedAt: Date.now() });
      }
    }
  }

  /** Whether a bump of this instance waits for its write (see {@link settle}). */
  get hasUnlanded(): boolean {
    return this.unlanded.size > 0;
  }

  /** What this instance knows for a version key (namespace or tag key). */
  knownOf(versionKey: string): KnownToken {
    if (versionKey === this.namespaceKey) return this.namespaceToken;
    return this.known.get(versionKey.slice(this.tagKeyPrefix.length)) ?? UNKNOWN;
  }

  /**
   * The token to re-create a missing version key with: the one this instance knows, if L2 showed
   * it within `trustMs`, else a fresh repair token.
   */
  candidateFor(versionKey: string): string {
    const known = this.knownOf(versionKey);
    return this.trusted(known) ? known.token : newRepairToken();
  }

  /** Records that L2 holds `token` under `versionKey`, as seen by a call started at `startedAt`. */
  confirm(versionKey: string, token: string, startedAt: number): void {
    const known = this.knownOf(versionKey);
    // A token bumped here while the call was in flight is newer than what the call saw; so is one
    // bumped here whose write has not landed yet, whenever the call started.
    if (known.token !== token && (startedAt < known.at || this.isUnlanded(versionKey))) return;
    this.learn(versionKey, { token, at: Math.max(startedAt, known.at), confirmedAt: Date.now() });
  }

  private learn(versionKey: string, learnt: KnownToken): void {
    if (versionKey === this.namespaceKey) this.namespaceToken = learnt;
    else this.known.set(versionKey.slice(this.tagKeyPrefix.length), learnt);
  }

  /**
   * Makes sure the version keys exist (re-creating lost ones, for `VERSION_TTL_MS`) and learns
   * their tokens.
   */
  async ensure(versionKeys: readonly string[]): Promise<void> {
    const startedAt = performance.now();
    const expiresAt = Date.now() + VERSION_TTL_MS;
    const answers = await this.source.ensure(
      versionKeys.map((key) => ({ key, candidate: this.candidateFor(key), expiresAt })),
    );
    versionKeys.forEach((key, i) => {
      const answer = answers[i];
      if (typeof answer === 'string') this.confirm(key, answer, startedAt);
    });
  }

  /**
   * The token one version key read (started at `startedAt`) gives a read to check against:
   * L2's token (confirmed); when the key is unavailable, the trusted token; when it is missing,
   * nothing (`undefined`), and the key is repaired.
   */
  note(versionKey: string, raw: L2Read, startedAt: number): string | undefined {
    if (raw instanceof Error) {
      const known = this.knownOf(versionKey);
      return this.trusted(known) ? known.token : undefined;
    }
    if (raw === undefined) {
      this.repair(versionKey);
      return undefined;
    }
    // A bump of ours still on its way is newer than what L2 answered: reads check against it.
    if (this.isUnlanded(versionKey)) return this.unlanded.get(versionKey);
    // Every read of one batched MGET gets the same Buffer for a version key: decode and confirm
    // it once per batch, not once per read (the first read's confirmation stands for the rest).
    // Bounded in time (and well within `trustMs`), so that a store handing out one Buffer for
    // every read still confirms its token.
    const last = this.lastNoted;
    if (
      last !== undefined &&
      last.raw === raw &&
      last.key === versionKey &&
      startedAt - last.startedAt < Math.min(NOTE_REUSE_MS, this.trustMs / 2)
    ) {
      return last.token;
    }
    const token = raw.toString('utf8');
    this.confirm(versionKey, token, startedAt);
    this.lastNoted = { key: versionKey, raw, token, startedAt };
    return token;
  }

  private isUnlanded(versionKey: string): boolean {
    return this.unlanded.size > 0 && this.unlanded.has(versionKey);
  }

  private trusted(known: KnownToken): boolean {
    return known.token !== ABSENT_VERSION && Date.now() - known.confirmedAt <= this.trustMs;
  }

  /** Re-creates a lost version key in the background, at most once per interval per key. */
  private repair(versionKey: string): void {
    const last = this.repairs.get(versionKey);
    const now = Date.now();
    if (last !== undefined && now - last < REPAIR_INTERVAL_MS) return;
    this.repairs.set(versionKey, now);
    if (this.repairs.size > 1_000) this.repairs.delete(this.repairs.keys().next().value!);
    // A failure leaves it to the next read or write batch that meets the key.
    this.ensure([versionKey]).catch(() => undefined);
  }
}
