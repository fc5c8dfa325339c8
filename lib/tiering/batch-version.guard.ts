import type { L2Ensured, L2EnsureRequest } from '../contracts/l2-store.interface.js';
import {
  ABSENT_VERSION,
  isRepairToken,
  VERSION_TTL_MS,
  type VersionStamp,
} from '../keys/version-keys.js';
import type { BatchCheck, BatchGuard } from '../write-behind/flusher-ports.js';
import type { PendingSet, PendingWrite } from '../write-behind/pending-write.js';
import type { KnownVersions } from './known-versions.js';

/** How long a tag's version key outlives the entries of the batch that created it, in ms. */
const TAG_KEY_MARGIN_MS = 3_600_000;

/**
 * Keeps each write-behind batch valid against the version keys its entries were stamped with, so
 * that a lost version key (a restart without persistence, eviction, a failover) costs at most a
 * round of misses, never the cache:
 *
 * 1. Before a batch is sent, every version key its entries carry (the namespace key, their tags'
 *    keys) is made sure of in the same round trip (`L2Store.ensure`, `SET NX` then `GET`): a lost
 *    key is re-created with the token this instance trusts (then everything stamped with it is
 *    valid again), or a fresh repair token.
 * 2. Once L2 answered, this instance learns the tokens. When a key now holds a *repair* token
 *    (someone re-created it after a loss, and nobody invalidated since), an entry stamped with the
 *    token this instance still knows, or stamped before it knew any, is re-stamped and sent
 *    again: it was good. An entry whose key holds an invalidation (a token that is not a repair
 *    token) is left as it is: it may predate the invalidation, so it must read as a miss.
 */
export class BatchVersionGuard implements BatchGuard {
  constructor(private readonly versions: KnownVersions) {}

  check(writes: readonly PendingWrite[]): BatchCheck | undefined {
    let sets: PendingSet[] | undefined;
    let first = false;
    // Version key → expiry it is created with when absent.
    const keys = new Map<string, number>();
    for (const write of writes) {
      if (write.kind !== 'set' || write.stamp === undefined) continue;
      (sets ??= []).push(write);
      keys.set(this.versions.namespaceKey, Date.now() + VERSION_TTL_MS);
      if (write.stamp.g === ABSENT_VERSION) first = true;
      for (const tag in write.stamp.t) {
        if (write.stamp.t[tag] === ABSENT_VERSION) first = true;
        // A tag key created here must outlive the entries stamped with it; it can expire after
        // them (a later one re-creates it), so tags used once do not stay in Redis for a year.
        const key = this.versions.tagKey(tag);
        const wanted = Math.min(write.expiresAt + TAG_KEY_MARGIN_MS, Date.now() + VERSION_TTL_MS);
        if ((keys.get(key) ?? 0) < wanted) keys.set(key, wanted);
      }
    }
    if (sets === undefined) return undefined;
    const requests: L2EnsureRequest[] = [];
    const knownAtSend = new Map<string, string>();
    for (const [key, expiresAt] of keys) {
      requests.push({ key, candidate: this.versions.candidateFor(key), expiresAt });
      knownAtSend.set(key, this.versions.knownOf(key).token);
    }
    const startedAt = performance.now();
    const batch = sets;
    return {
      requests,
      first,
      settle: (answers) => this.settle(batch, requests, answers, knownAtSend, startedAt),
    };
  }

  private settle(
    sets: readonly PendingSet[],
    requests: readonly L2EnsureRequest[],
    answers: readonly L2Ensured[] | undefined,
    knownAtSend: ReadonlyMap<string, string>,
    startedAt: number,
  ): PendingSet[] {
    if (answers === undefined) return [];
    const held = new Map<string, string>();
    requests.forEach(({ key }, i) => {
      const answer = answers[i];
      if (typeof answer !== 'string') return;
      held.set(key, answer);
      this.versions.confirm(key, answer, startedAt);
    });
    let changed = false;
    /** The token an entry should carry for `key`, given what L2 holds. */
    const tokenFor = (key: string, stamped: string): string => {
      const now = held.get(key);
      if (now === undefined || now === stamped) return stamped;
      // Only a repair token: anything else is an invalidation the entry may predate.
      if (!isRepairToken(now)) return stamped;
      if (stamped !== ABSENT_VERSION && stamped !== knownAtSend.get(key)) return stamped;
      changed = true;
      return now;
    };
    const resend: PendingSet[] = [];
    for (const write of sets) {
      const stamp = write.stamp!;
      changed = false;
      const g = tokenFor(this.versions.namespaceKey, stamp.g);
      let t: Record<string, string> | undefined;
      if (stamp.t !== undefined) {
        t = {};
        for (const [tag, token] of Object.entries(stamp.t)) {
          t[tag] = tokenFor(this.versions.tagKey(tag), token);
        }
      }
      if (!changed) continue;
      const next: VersionStamp = t === undefined ? { g } : { g, t };
      // The stamp goes into the envelope when the write is sent: the payload stays as it is.
      resend.push({ ...write, stamp: next });
    }
    return resend;
  }
}
