import { assertArray } from './argument-checks.js';
import type { Decoded } from './entry-codec.js';
import {
  EncodedValue,
  StaleableValue,
  traceFound,
  WrappedValue,
  type FoundEntry,
} from './found-entry.js';
import type { ReadMark } from './in-flight-reads.js';
import type { ReadBatcher } from './read-batcher.js';
import type { TierParts } from './tier-parts.js';
import type { FreshVersions } from './version-registry.js';
import { assertKey } from '../keys/key-rules.js';
import type { L2Read } from '../contracts/l2-store.interface.js';
import type { CacheTraceContext } from '../tracing/cache-channels.js';
import type { PendingWrite } from '../write-behind/pending-write.js';

/** {@link ReadPath.l1Hit}: L1 holds nothing for the key. */
export const NOT_IN_L1 = Symbol('not in L1');
/** {@link ReadPath.l1Hit}: L1 holds the key past its TTL (a stale window of getOrSet). */
export const STALE_IN_L1 = Symbol('stale in L1');
/** {@link ReadPath.remote}: L2 did not answer (failed, timed out, breaker open). */
export const L2_UNANSWERED = Symbol('L2 unanswered');
/** A payload written here that could not be decoded (reported). */
const UNREADABLE = Symbol('unreadable payload');

/**
 * The read path: L1, then a write of ours still queued, then L2 (one MGET with the version keys
 * the values are checked against), filling L1 with what L2 answers.
 *
 * - A key whose shard is down (an `Error` in its place) is a miss for that key alone, reported,
 *   and fills nothing.
 * - An answer that raced a local write or invalidation of the key does not refill L1.
 */
export class ReadPath {
  constructor(
    private readonly parts: TierParts,
    private readonly reader: ReadBatcher,
    /** The newest write of a full key not yet in L2 (the write-behind queue's `peek`). */
    private readonly pendingWrite: (fullKey: string) => PendingWrite | undefined,
  ) {}

  /**
   * The fresh L1 value of `key`, counted and reported as an L1 hit; or {@link NOT_IN_L1} /
   * {@link STALE_IN_L1}. The one place an L1 hit is counted.
   */
  l1Hit(key: string): unknown {
    let value = this.parts.l1?.get(key);
    if (value === undefined) return NOT_IN_L1;
    if (value instanceof WrappedValue) {
      const local = value instanceof EncodedValue ? this.decodeLocal(key, value) : value;
      if (local === undefined) return NOT_IN_L1;
      if (local instanceof StaleableValue) {
        if (local.freshUntil <= Date.now()) return STALE_IN_L1;
        value = local.value;
      } else {
        value = local;
      }
    }
    this.parts.report.l1Hit(key);
    return value;
  }

  /**
   * What L1 holds for `key` as a found entry (a value written here decoded on this first read),
   * or `undefined`.
   */
  private fromL1(key: string): FoundEntry | undefined {
    const held = this.parts.l1?.get(key);
    const local = held instanceof EncodedValue ? this.decodeLocal(key, held) : held;
    if (local === undefined) return undefined;
    return local instanceof StaleableValue
      ? { value: local.value, freshUntil: local.freshUntil, tier: 'l1' }
      : { value: local, freshUntil: Infinity, tier: 'l1' };
  }

  /**
   * Decodes a value this instance wrote, held encoded in L1 until now, and puts the value (in its
   * StaleableValue when it has a stale window) in its place. `undefined`, with the entry dropped,
   * when it cannot be decoded (reported) or has expired.
   */
  private decodeLocal(key: string, held: EncodedValue): unknown {
    const value = this.readPayload(key, held.payload);
    if (value === UNREADABLE) {
      this.parts.l1?.delete(key);
      return undefined;
    }
    const local =
      held.freshUntil === undefined ? value : new StaleableValue(value, held.freshUntil);
    this.parts.l1?.replace(key, held, local, held.payload.length);
    return local;
  }

  /** The value of `key`: L1, else L2 (filling L1), else `undefined`. Never throws for L2 trouble. */
  async get<T>(key: string): Promise<T | undefined> {
    assertKey(key, this.parts.options.maxKeyLength);
    const hit = this.l1Hit(key);
    if (hit !== NOT_IN_L1 && hit !== STALE_IN_L1) return hit as T;
    const found = hit === NOT_IN_L1 ? await this.remote(key) : undefined;
    const fresh = isFresh(found, Date.now()) ? found : undefined;
    this.parts.report.read(key, fresh);
    return fresh?.value as T | undefined;
  }

  /**
   * {@link get}, filling `trace` with where the answer came from. Kept apart from `get` (not an
   * optional parameter of it) so that the untraced L1 hit, the hottest path, pays nothing for it
   * (measured: about 3 % of an L1 hit).
   */
  async getTraced<T>(key: string, trace: CacheTraceContext): Promise<T | undefined> {
    assertKey(key, this.parts.options.maxKeyLength);
    const hit = this.l1Hit(key);
    if (hit !== NOT_IN_L1 && hit !== STALE_IN_L1) {
      traceFound(trace, { value: hit, freshUntil: Infinity, tier: 'l1' });
      return hit as T;
    }
    const found = hit === NOT_IN_L1 ? await this.remote(key, trace) : undefined;
    const fresh = isFresh(found, Date.now()) ? found : undefined;
    this.parts.report.read(key, fresh);
    traceFound(trace, fresh);
    return fresh?.value as T | undefined;
  }

  /** Values of `keys` in order; L1 first, then one L2 call for the rest. */
  async mget<T>(keys: readonly string[], trace?: CacheTraceContext): Promise<Array<T | undefined>> {
    const result = await this.mgetValues<T>(keys);
    if (trace !== undefined) trace.hits = result.filter((value) => value !== undefined).length;
    return result;
  }

  private async mgetValues<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
    assertArray(keys, 'mget() takes an array of keys');
    keys.forEach((key) => assertKey(key, this.parts.options.maxKeyLength));
    const { report, reads, versions } = this.parts;
    const result = new Array<T | undefined>(keys.length);
    const remoteAt: number[] = [];
    const now = Date.now();
    keys.forEach((key, i) => {
      const found = this.fromL1(key) ?? this.pendingValue(key);
      if (found === null) {
        remoteAt.push(i);
        return;
      }
      const fresh = found !== undefined && found.freshUntil > now ? found : undefined;
      report.read(key, fresh);
      result[i] = fresh?.value as T | undefined;
    });
    if (remoteAt.length === 0) return result;
    const remoteKeys = remoteAt.map((i) => keys[i]!);
    const marks = remoteKeys.map((key) => reads.begin(key));
    try {
      const tags = versions.hintedTags(remoteKeys);
      const startedAt = performance.now();
      let raws: L2Read[] | undefined;
      try {
        raws = await this.reader.mget(this.readKeys(remoteKeys, tags));
      } catch (error: unknown) {
        this.readFailed('mget', remoteKeys.length === 1 ? remoteKeys[0] : undefined, error);
      }
      const fresh = raws && this.noteRead(remoteKeys.length, tags, raws, startedAt);
      const accepted = remoteKeys.map((key, j) => this.accept(key, raws?.[j], marks[j], fresh));
      const found = accepted.some((entry) => entry instanceof Promise)
        ? await Promise.all(accepted.map((entry) => Promise.resolve(entry)))
        : (accepted as Array<FoundEntry | undefined>);
      const at = Date.now();
      remoteAt.forEach((i, j) => {
        const entry = found[j];
        const fresh = entry !== undefined && entry.freshUntil > at ? entry : undefined;
        report.read(remoteKeys[j]!, fresh);
        result[i] = fresh?.value as T | undefined;
      });
      return result;
    } finally {
      remoteKeys.forEach((key, j) => reads.end(key, marks[j]));
    }
  }

  /**
   * The entry under `key`, fresh or stale: L1, a queued write, else L2 ({@link L2_UNANSWERED} when
   * L2 did not answer). Counts nothing.
   */
  lookup(
    key: string,
    trace?: CacheTraceContext,
  ): Promise<FoundEntry | undefined | typeof L2_UNANSWERED> {
    const local = this.fromL1(key);
    return local !== undefined ? Promise.resolve(local) : this.remote(key, trace);
  }

  /**
   * A write of ours not yet flushed, else what L2 holds for `key` now (filling L1), without asking
   * L1: what `get` reads on an L1 miss and a single-flight waiter polls. {@link L2_UNANSWERED} when
   * L2 did not answer. Counts nothing.
   *
   * NOTE: one async step between the caller and the read batcher (no helper `async` functions in
   * between): each would cost a promise and a microtask per read, measured on the L2 hit path.
   */
  async remote(
    key: string,
    trace?: CacheTraceContext,
  ): Promise<FoundEntry | undefined | typeof L2_UNANSWERED> {
    // One full key for the queue lookup and the MGET: built (and hashed) once per read.
    const fullKey = this.parts.prefix + key;
    const pending = this.pendingValue(key, fullKey);
    if (pending !== null) return pending;
    const { reads, versions } = this.parts;
    const mark = reads.begin(key);
    try {
      const tags = versions.hintedTagsOf(key);
      const startedAt = performance.now();
      let raws: L2Read[];
      try {
        raws = await this.reader.mget(
          tags.length === 0
            ? [fullKey, versions.namespaceKey] // the common read, without spreads
            : this.readKeys([key], tags),
        );
      } catch (error: unknown) {
        this.readFailed('get', key, error, trace);
        return L2_UNANSWERED;
      }
      const fresh = this.noteRead(1, tags, raws, startedAt);
      const raw = raws[0];
      if (trace !== undefined && raw instanceof Error) trace.l2Error = raw;
      const found = this.accept(key, raw, mark, fresh);
      return found instanceof Promise ? await found : found;
    } finally {
      reads.end(key, mark);
    }
  }

  /**
   * The keys of one MGET: the values, then the versions they are checked against (the namespace
   * version and the versions of the tags these keys had when last seen).
   */
  private readKeys(keys: readonly string[], tags: readonly string[]): string[] {
    const { versions, prefix } = this.parts;
    return [
      ...keys.map((key) => prefix + key),
      versions.namespaceKey,
      ...tags.map((tag) => versions.tagKey(tag)),
    ];
  }

  /** Counts an answered L2 read of `n` keys; the version tokens its values are checked against. */
  private noteRead(
    n: number,
    tags: readonly string[],
    raws: readonly L2Read[],
    startedAt: number,
  ): FreshVersions {
    const { counters } = this.parts;
    counters.l2Reads++;
    counters.l2ReadMsTotal += performance.now() - startedAt;
    return this.parts.versions.freshVersions(raws, n, tags, startedAt);
  }

  /** An L2 read that failed: reported; the caller reads misses. */
  private readFailed(
    operation: string,
    key: string | undefined,
    error: unknown,
    trace?: CacheTraceContext,
  ): void {
    this.parts.report.l2Failed(operation, key, error);
    if (trace !== undefined) trace.l2Error = error;
  }

  /**
   * Read-your-writes: a write of ours still queued for L2 is newer than anything L2 holds.
   * Rare path (L1 disabled, or the entry left L1 before its flush). `null`: nothing queued.
   */
  private pendingValue(
    key: string,
    fullKey = this.parts.prefix + key,
  ): FoundEntry | undefined | null {
    const write = this.pendingWrite(fullKey);
    if (!write) return null; // nothing queued: ask L2
    if (write.kind === 'del' || write.expiresAt <= Date.now()) return undefined;
    if (!this.parts.versions.matchesKnown(write.stamp)) return undefined;
    const value = this.readPayload(key, write.payload);
    if (value === UNREADABLE) return undefined;
    return { value, freshUntil: write.freshUntil ?? write.expiresAt, tier: 'l1' };
  }

  /** A payload written here, decoded; one that cannot be is reported (`decode` error). */
  private readPayload(key: string, payload: string | Buffer): unknown {
    try {
      return this.parts.codec.deserialize(key, payload);
    } catch (error: unknown) {
      this.parts.report.l2Failed('decode', key, error);
      return UNREADABLE;
    }
  }

  /**
   * Decodes an L2 answer, checks its version stamp, and, unless a local write raced the read,
   * fills L1 with the remaining TTL. `fresh` is undefined when L2 did not answer; an `Error` in
   * place of the value means the key's shard is down: a miss for this key alone, reported.
   */
  private accept(
    key: string,
    raw: L2Read,
    mark: ReadMark | undefined,
    fresh: FreshVersions | undefined,
  ): FoundEntry | undefined | Promise<FoundEntry | undefined> {
    // Not `async`: an L2 hit is checked synchronously unless tag versions must be read, so a
    // batch of hits costs no promise per entry here.
    if (raw === undefined || fresh === undefined) return undefined;
    if (raw instanceof Error) {
      this.parts.report.l2Failed('get', key, raw);
      return undefined;
    }
    const decoded = this.decode(key, raw);
    if (!decoded) return undefined;
    const tags = decoded.stamp?.t === undefined ? undefined : Object.keys(decoded.stamp.t);
    this.parts.versions.rememberTags(key, tags);
    const current = this.parts.versions.isCurrent(decoded.stamp, fresh);
    return typeof current === 'boolean'
      ? this.admit(key, raw.length, decoded, tags, mark, current)
      : current.then((ok) => this.admit(key, raw.length, decoded, tags, mark, ok));
  }

  /** A decoded L2 entry, current or not: fills L1 unless a local write raced the read. */
  private admit(
    key: string,
    size: number,
    decoded: Decoded,
    tags: readonly string[] | undefined,
    mark: ReadMark | undefined,
    current: boolean,
  ): FoundEntry | undefined {
    if (!current) return undefined;
    if (!mark?.dirty) {
      const local =
        decoded.freshUntil < decoded.expiresAt
          ? new StaleableValue(decoded.value, decoded.freshUntil)
          : decoded.value;
      this.parts.l1?.set(key, local, decoded.expiresAt, size, tags);
    }
    return { value: decoded.value, freshUntil: decoded.freshUntil, tier: 'l2', size };
  }

  /** The entry in `raw`; a corrupt one is reported (`decode` error) and reads as a miss. */
  private decode(key: string, raw: Buffer): Decoded | undefined {
    try {
      return this.parts.codec.decode(key, raw);
    } catch (error: unknown) {
      this.parts.report.l2Failed('decode', key, error);
      return undefined;
    }
  }
}

/** Whether a found entry is one to serve at `now` (not past its fresh time). */
export function isFresh(
  found: FoundEntry | undefined | typeof L2_UNANSWERED,
  now: number,
): found is FoundEntry {
  return found !== undefined && found !== L2_UNANSWERED && found.freshUntil > now;
}
