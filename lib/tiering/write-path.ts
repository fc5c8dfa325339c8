import { assertArray, assertTag } from './argument-checks.js';
import type { Prepared } from './entry-codec.js';
import { EncodedValue } from './found-entry.js';
import type { SetOptions } from './read-through.js';
import type { TierParts } from './tier-parts.js';
import { CacheError } from '../errors/cache.errors.js';
import { assertKey } from '../keys/key-rules.js';
import { VERSION_TTL_MS } from '../keys/version-keys.js';
import type { L2LockRef } from '../contracts/l2-store.interface.js';
import type { PendingSet, PendingWrite } from '../write-behind/pending-write.js';
import type { WriteBehindFlusher } from '../write-behind/write-behind.flusher.js';
import type { CacheTraceContext } from '../tracing/cache-channels.js';

/** Shared by every write-behind `set()`: it resolves once queued, which is at once. */
const RESOLVED: Promise<void> = Promise.resolve();

/** One entry of `mset`. */
export interface MsetEntry<T = unknown> extends SetOptions {
  key: string;
  value: T;
}

/**
 * The write path: every change goes to L1 at once and to L2 through the write-behind queue, whose
 * serial lane orders sets, deletes and version bumps. Values are encoded here, by the caller's
 * call, so a value that cannot be stored is refused before anything changes. No caller waits for
 * L2 longer than `l2TimeoutMs`.
 */
export class WritePath {
  constructor(
    private readonly parts: TierParts,
    private readonly flusher: WriteBehindFlusher,
  ) {}

  /**
   * Stores `value`: L1 now; L2 through the write-behind queue (resolves once queued) or, with
   * write-behind disabled, directly (resolves once L2 has it).
   *
   * The value is encoded here, in every mode: one that cannot be encoded (circular, a function, a
   * symbol, a class instance) or is larger than `maxValueBytes` rejects, and nothing of it enters
   * L1 or the queue. L1 and the queue keep the serialized value, so a caller mutating it afterwards
   * changes nothing in L2.
   * @throws CacheKeyError, CacheOptionsError (ttl) or CacheError (tags) for bad arguments
   * @throws CacheSerializationError for `undefined` or a value that cannot be encoded
   * @throws CacheValueTooLargeError for a value over `maxValueBytes`
   * @throws CacheOverflowError when the queue is full and `overflow` is `'reject'`
   */
  set<T>(key: string, value: T, options?: SetOptions, trace?: CacheTraceContext): Promise<void> {
    // Not `async`: a write-behind set is synchronous work, and this is the hottest write path.
    try {
      const { codec } = this.parts;
      const entry = codec.encoded(codec.prepare(key, value, options?.ttl, options?.tags));
      if (trace !== undefined) {
        trace.itemSize = codec.framedLength(entry);
        trace.ttlMs = entry.expiresAt - entry.at;
      }
      return this.parts.options.writeBehind.enabled ? this.storeOne(entry) : this.store([entry]);
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new CacheError(String(error)));
    }
  }

  /**
   * `set` for many entries. Every entry is checked and encoded first: one bad argument or value
   * rejects them all, and nothing is stored.
   */
  async mset<T>(entries: ReadonlyArray<MsetEntry<T>>): Promise<void> {
    assertArray(entries, 'mset() takes an array of { key, value }');
    const { codec } = this.parts;
    const prepared = entries.map((entry) =>
      codec.encoded(codec.prepare(entry.key, entry.value, entry.ttl, entry.tags)),
    );
    await this.store(prepared);
  }

  /**
   * Stores a value `getOrSet` produced, kept `keepStaleMs` past its TTL. With `releases` (a
   * single-flight holder's lock), the write is sent at once, even in write-behind mode, and ends
   * the lock in the same step: the value is in L2 before the lock goes. Its L2 failures are
   * reported, not thrown: the write stays queued and is retried like any other.
   */
  storeProduced(
    key: string,
    value: unknown,
    options: SetOptions | undefined,
    keepStaleMs: number,
    releases?: L2LockRef,
  ): Promise<void> {
    const { codec, options: cacheOptions, report } = this.parts;
    const entry = codec.encoded(
      codec.prepare(key, value, options?.ttl, options?.tags, keepStaleMs),
    );
    if (releases === undefined) return this.store([entry]);
    this.flusher.checkCapacity(entry.fullKey, entry.key);
    const write: PendingWrite = { ...this.stage(entry), releases };
    this.parts.counters.sets++;
    const sent = this.flusher
      .writeNow([write], cacheOptions.l2TimeoutMs)
      .catch((error: unknown) => report.l2Failed('set', key, error));
    return cacheOptions.writeBehind.enabled ? RESOLVED : sent;
  }

  /**
   * Deletes from L1 and L2 and cancels queued writes of the keys. Resolves once L2 applied the
   * delete, or, when L2 fails or does not answer within `l2TimeoutMs`, once the delete is queued
   * for retry (it lands before any later write of the key).
   */
  async del(keys: string | readonly string[]): Promise<void> {
    const { options, l1, reads, prefix, counters, report } = this.parts;
    const list = typeof keys === 'string' ? [keys] : keys;
    assertArray(list, 'del() takes a key or an array of keys');
    list.forEach((key) => assertKey(key, options.maxKeyLength));
    const writes = list.map((key): PendingWrite => {
      l1?.delete(key);
      reads.markDirty(key);
      return { kind: 'del', key: prefix + key, seq: this.flusher.nextSeq() };
    });
    counters.deletes += list.length;
    try {
      await this.flusher.writeNow(writes, options.l2TimeoutMs);
    } catch (error: unknown) {
      report.l2Failed('del', list.length === 1 ? list[0] : undefined, error);
    }
  }

  /**
   * Every entry of the namespace reads as a miss afterwards, here at once and on every other
   * instance from its next L2 read (their L1 copies go with the invalidation bus). One SET of a
   * new namespace version: no KEYS or SCAN. Resolves once L2 has the new version, or, when L2 is
   * failing or slower than `l2TimeoutMs`, once it is queued for retry.
   */
  async clear(): Promise<void> {
    const { key, token } = this.parts.versions.bumpNamespace();
    this.parts.l1?.clear();
    this.parts.reads.markAllDirty();
    await this.writeVersions([{ key, token }], 'clear');
  }

  /** Every entry set with one of `tags` reads as a miss afterwards. Resolves like `clear()`. */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    assertArray(tags, 'invalidateTags() takes an array of tags');
    tags.forEach((tag) => assertTag(tag));
    if (tags.length === 0) return;
    const bumped = this.parts.versions.bumpTags(tags);
    this.parts.l1?.deleteTagged(tags);
    await this.writeVersions(bumped, 'invalidateTags');
  }

  /** Version keys go through the same serial lane as data writes, so ordering holds. */
  private async writeVersions(
    versions: ReadonlyArray<{ key: string; token: string }>,
    operation: string,
  ): Promise<void> {
    const expiresAt = Date.now() + VERSION_TTL_MS;
    const writes = versions.map(({ key, token }): PendingWrite => ({
      kind: 'set',
      key,
      payload: token,
      expiresAt,
      seq: this.flusher.nextSeq(),
    }));
    try {
      await this.flusher.writeNow(writes, this.parts.options.l2TimeoutMs);
    } catch (error: unknown) {
      this.parts.report.l2Failed(operation, undefined, error);
    }
  }

  /**
   * Writes L1 and queues (or, write-through, sends) the L2 writes of encoded entries. Throws
   * synchronously for a full queue; nothing is stored then. Write-through waits at most
   * `l2TimeoutMs` (the write stays queued and is retried when L2 is slower or failing).
   */
  private store(entries: readonly Prepared[]): Promise<void> {
    for (const entry of entries) this.flusher.checkCapacity(entry.fullKey, entry.key);
    const writes = new Array<PendingWrite>(entries.length);
    for (let i = 0; i < entries.length; i++) writes[i] = this.stage(entries[i]!);
    this.parts.counters.sets += entries.length;
    if (this.parts.options.writeBehind.enabled) {
      for (const write of writes) this.flusher.enqueue(write);
      return RESOLVED;
    }
    return this.flusher.writeNow(writes, this.parts.options.l2TimeoutMs);
  }

  /** `store` of one write-behind entry: the hottest write path, without arrays. */
  private storeOne(entry: Prepared): Promise<void> {
    this.flusher.checkCapacity(entry.fullKey, entry.key);
    const write = this.stage(entry);
    this.parts.counters.sets++;
    this.flusher.enqueue(write);
    return RESOLVED;
  }

  /** Writes L1 for an encoded `entry` and makes its queued write. */
  private stage(entry: Prepared): PendingSet {
    const { l1, versions, reads, codec } = this.parts;
    const write = codec.pendingSet(entry, this.flusher.nextSeq());
    // L1 holds the payload the queue holds (one copy) until the first read here decodes it.
    const held = new EncodedValue(write.payload, write.freshUntil);
    l1?.set(entry.key, held, entry.expiresAt, write.payload.length, entry.tags, entry.at);
    if (entry.tags !== undefined || versions.hasTagHints)
      versions.rememberTags(entry.key, entry.tags);
    reads.markDirty(entry.key);
    return write;
  }
}
