import type { LoggerService } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import { assertArray, assertTag } from './argument-checks.js';
import { CacheReporter } from './cache-reporter.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { EntryCodec, type Decoded, type Prepared } from './entry-codec.js';
import { StaleableValue, type FoundEntry } from './found-entry.js';
import { InFlightReads, type ReadMark } from './in-flight-reads.js';
import { landedChange, type LandedChange } from './landed-change.js';
import { ReadBatcher } from './read-batcher.js';
import { ReadThrough, type GetOrSetOptions, type SetOptions } from './read-through.js';
import { CacheError } from '../errors/cache.error.js';
import type { CacheEvent } from '../events/cache-event.js';
import { CacheCounters, type CacheStatsSnapshot } from '../events/cache-stats.js';
import { assertKey } from '../keys/key-rules.js';
import { LocalTier } from '../l1/local-tier.js';
import type { L2Store } from '../l2/l2-store.interface.js';
import type { ResolvedCacheOptions } from '../options/resolved-options.js';
import type { L2Read } from '../l2/l2-store.interface.js';
import { WriteBehindFlusher } from '../write-behind/write-behind.flusher.js';
import type { PendingWrite } from '../write-behind/pending-write.js';
import { BatchVersionGuard } from './batch-version.guard.js';
import { RemoteTier } from './remote-tier.js';
import { VERSION_TTL_MS } from '../keys/version-keys.js';
import { VersionRegistry, type FreshVersions } from './version-registry.js';

export type { GetOrSetOptions, LandedChange, SetOptions };

/** Shared by every write-behind `set()`: it resolves once queued, which is at once. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * How long a version token stands in for a version key L2 cannot answer for, with L1 disabled
 * (otherwise `l1.ttl`, the time an L1 entry may be stale anyway): the default `l1.ttl`.
 */
const VERSION_TRUST_WITHOUT_L1_MS = 30_000;

/** One entry of `mset`. */
export interface MsetEntry<T = unknown> extends SetOptions {
  key: string;
  value: T;
}

/**
 * The orchestrator: composes L1, the remote tier and the write-behind flusher, and narrates the
 * read and write paths. Backend-agnostic: it only sees the `L2Store` contract.
 */
export class TieredCache {
  readonly counters = new CacheCounters();
  private readonly l1: LocalTier | undefined;
  private readonly remote: RemoteTier;
  private readonly reader: ReadBatcher;
  private readonly flusher: WriteBehindFlusher;
  private readonly versions: VersionRegistry;
  private readonly codec: EntryCodec;
  private readonly report: CacheReporter;
  private readonly prefix: string;
  private readonly readThroughPolicy: ReadThrough;
  private readonly reads = new InFlightReads();
  private readonly landed = new Subject<LandedChange>();
  private readonly breaker: CircuitBreaker;

  /** Hits, misses, flushes, drops, errors, breaker changes and remote invalidations. */
  readonly events$: Observable<CacheEvent>;
  /** Changes of this instance that landed in L2, one per batch (for the invalidation bus). */
  readonly landed$: Observable<LandedChange> = this.landed.asObservable();

  constructor(
    private readonly options: ResolvedCacheOptions,
    store: L2Store,
    logger?: LoggerService,
  ) {
    this.prefix = `${options.namespace}:`;
    this.report = new CacheReporter(
      this.counters,
      this.prefix,
      options.writeBehind.maxPending,
      logger,
    );
    this.events$ = this.report.events$;
    this.l1 = options.l1 === false ? undefined : new LocalTier(options.l1);
    this.breaker = new CircuitBreaker(options.circuitBreaker);
    this.breaker.changes$.subscribe((state) => this.report.breaker(state, store.description));
    this.remote = new RemoteTier(store, options.l2TimeoutMs, this.breaker);
    this.reader = new ReadBatcher(this.remote);
    this.versions = new VersionRegistry(
      {
        mget: (keys) => this.reader.mget(keys),
        ensure: (requests) => this.remote.ensure(requests),
        failed: (operation, error) => this.report.l2Failed(operation, undefined, error),
      },
      options.namespace,
      options.l1 === false ? 10_000 : options.l1.max,
      options.l1 === false ? VERSION_TRUST_WITHOUT_L1_MS : options.l1.ttlMs,
    );
    this.codec = new EntryCodec(options, this.prefix, this.versions);
    this.flusher = new WriteBehindFlusher(
      this.remote,
      options.writeBehind,
      this.counters,
      new BatchVersionGuard(this.versions, (key, bytes, stamp) =>
        this.codec.restamp(key, bytes, stamp),
      ),
    );
    this.flusher.signals$.subscribe((signal) => {
      if (signal.type === 'landed' && this.landed.observed) {
        this.landed.next(landedChange(signal.writes, options.namespace));
      }
      this.report.flusher(signal);
    });
    this.readThroughPolicy = new ReadThrough({
      lookup: (key) => this.lookup(key),
      store: (key, value, setOptions, keepStaleMs) =>
        this.store([
          this.codec.encoded(
            this.codec.prepare(key, value, setOptions?.ttl, setOptions?.tags, keepStaleMs),
          ),
        ]),
      countRead: (key, served) => this.report.read(key, served),
      reportError: (operation, key, error) =>
        this.report.emit({ type: 'error', operation, key, error }),
    });
  }

  /** The value of `key`: L1, else L2 (filling L1), else `undefined`. Never throws for L2 trouble. */
  async get<T>(key: string): Promise<T | undefined> {
    assertKey(key, this.options.maxKeyLength);
    const local = this.l1?.get(key);
    if (local !== undefined && !(local instanceof StaleableValue)) {
      this.counters.l1Hits++;
      if (this.report.observed) this.report.emit({ type: 'hit', tier: 'l1', key });
      return local as T;
    }
    const found = local === undefined ? await this.readThrough(key) : fromLocal(local);
    const fresh = found !== undefined && found.freshUntil > Date.now() ? found : undefined;
    this.report.read(key, fresh);
    return fresh?.value as T | undefined;
  }

  /** Values of `keys` in order; L1 first, then one L2 call for the rest. */
  async mget<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
    assertArray(keys, 'mget() takes an array of keys');
    keys.forEach((key) => assertKey(key, this.options.maxKeyLength));
    const result = new Array<T | undefined>(keys.length);
    const remoteAt: number[] = [];
    const now = Date.now();
    keys.forEach((key, i) => {
      const local = this.l1?.get(key);
      const found = local !== undefined ? fromLocal(local) : this.pendingValue(key);
      if (found === null) {
        remoteAt.push(i);
        return;
      }
      const fresh = found !== undefined && found.freshUntil > now ? found : undefined;
      this.report.read(key, fresh);
      result[i] = fresh?.value as T | undefined;
    });
    if (remoteAt.length === 0) return result;
    const remoteKeys = remoteAt.map((i) => keys[i]!);
    const marks = remoteKeys.map((key) => this.reads.begin(key));
    try {
      const read = await this.readRemote(remoteKeys, 'mget');
      const accepted = remoteKeys.map((key, j) =>
        this.accept(key, read?.values[j], marks[j], read?.fresh),
      );
      const found = accepted.some((entry) => entry instanceof Promise)
        ? await Promise.all(accepted.map((entry) => Promise.resolve(entry)))
        : (accepted as Array<FoundEntry | undefined>);
      const at = Date.now();
      remoteAt.forEach((i, j) => {
        const entry = found[j];
        const fresh = entry !== undefined && entry.freshUntil > at ? entry : undefined;
        this.report.read(remoteKeys[j]!, fresh);
        result[i] = fresh?.value as T | undefined;
      });
      return result;
    } finally {
      remoteKeys.forEach((key, j) => this.reads.end(key, marks[j]));
    }
  }

  /**
   * Stores `value`: L1 now; L2 through the write-behind queue (resolves once queued) or, with
   * write-behind disabled, directly (resolves once L2 has it).
   *
   * The value is encoded here, in every mode: one that cannot be encoded (circular, a function, a
   * symbol, a class instance) or is larger than `maxValueBytes` rejects, and nothing of it enters
   * L1 or the queue. The queue keeps the encoded bytes, so a caller mutating the value afterwards
   * changes nothing in L2.
   * @throws CacheKeyError, CacheOptionsError (ttl) or CacheError (tags) for bad arguments
   * @throws CacheSerializationError for `undefined` or a value that cannot be encoded
   * @throws CacheValueTooLargeError for a value over `maxValueBytes`
   * @throws CacheOverflowError when the queue is full and `overflow` is `'reject'`
   */
  set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    // Not `async`: a write-behind set is synchronous work, and this is the hottest write path.
    try {
      const entry = this.codec.encoded(this.codec.prepare(key, value, options?.ttl, options?.tags));
      return this.options.writeBehind.enabled ? this.storeOne(entry) : this.store([entry]);
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
    const prepared = entries.map((entry) =>
      this.codec.encoded(this.codec.prepare(entry.key, entry.value, entry.ttl, entry.tags)),
    );
    await this.store(prepared);
  }

  /**
   * Deletes from L1 and L2 and cancels queued writes of the keys. Resolves once L2 applied the
   * delete, or, when L2 fails or does not answer within `l2TimeoutMs`, once the delete is queued
   * for retry (it lands before any later write of the key).
   */
  async del(keys: string | readonly string[]): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : keys;
    assertArray(list, 'del() takes a key or an array of keys');
    list.forEach((key) => assertKey(key, this.options.maxKeyLength));
    const writes = list.map((key): PendingWrite => {
      this.l1?.delete(key);
      this.reads.markDirty(key);
      return { kind: 'del', key: this.prefix + key, seq: this.flusher.nextSeq() };
    });
    this.counters.deletes += list.length;
    try {
      await this.flusher.writeNow(writes, this.options.l2TimeoutMs);
    } catch (error: unknown) {
      this.report.l2Failed('del', list.length === 1 ? list[0] : undefined, error);
    }
  }

  /**
   * Read-through with single-flight: concurrent misses of one key run `factory` once and share
   * its result or its error. `undefined` from the factory is returned but not cached. With
   * `staleWhileRevalidate`, `grace` and `timeout`, expired values can be served (see
   * GetOrSetOptions).
   */
  getOrSet<T>(key: string, factory: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    // Not `async`: on a miss every concurrent caller gets the flight's own promise, with no
    // wrapper promise (and its extra ticks) per caller when a stampede resolves.
    try {
      assertKey(key, this.options.maxKeyLength);
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new CacheError(String(error)));
    }
    const local = this.l1?.get(key);
    if (local !== undefined) {
      if (!(local instanceof StaleableValue)) {
        this.counters.l1Hits++;
        if (this.report.observed) this.report.emit({ type: 'hit', tier: 'l1', key });
        return Promise.resolve(local as T);
      }
      if (local.freshUntil > Date.now()) {
        this.counters.l1Hits++;
        if (this.report.observed) this.report.emit({ type: 'hit', tier: 'l1', key });
        return Promise.resolve(local.value as T);
      }
    }
    return this.readThroughPolicy.run(key, factory, options);
  }

  /**
   * Every entry of the namespace reads as a miss afterwards, here at once and on every other
   * instance from its next L2 read (their L1 copies go with the invalidation bus). One SET of a
   * new namespace version: no KEYS or SCAN. Resolves once L2 has the new version, or, when L2 is
   * failing, once it is queued for retry.
   */
  async clear(): Promise<void> {
    const { key, token } = this.versions.bumpNamespace();
    this.l1?.clear();
    this.reads.markAllDirty();
    await this.writeVersions([{ key, token }], 'clear');
  }

  /**
   * Every entry set with one of `tags` reads as a miss afterwards. Resolves like `clear()`.
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    assertArray(tags, 'invalidateTags() takes an array of tags');
    tags.forEach((tag) => assertTag(tag));
    if (tags.length === 0) return;
    const bumped = this.versions.bumpTags(tags);
    this.l1?.deleteTagged(tags);
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
      value: Buffer.from(token),
      expiresAt,
      seq: this.flusher.nextSeq(),
    }));
    try {
      await this.flusher.writeNow(writes, this.options.l2TimeoutMs);
    } catch (error: unknown) {
      this.report.l2Failed(operation, undefined, error);
    }
  }

  /**
   * Makes sure the namespace version key exists and learns its token (an L2 failure leaves it to
   * the first read or write batch).
   */
  async start(): Promise<void> {
    try {
      await this.versions.start();
    } catch (error: unknown) {
      this.report.l2Failed('start', undefined, error);
    }
  }

  /** Resolves when every write queued before the call is in L2. */
  flush(timeoutMs = this.options.writeBehind.shutdownTimeoutMs): Promise<void> {
    return this.flusher.flush(timeoutMs);
  }

  /**
   * Applies another instance's change to this instance's L1 (the invalidation bus calls this):
   * drops the keys, the entries of the tags, or everything after a clear. Reads in flight are
   * marked so their older answers do not refill L1.
   */
  applyRemoteChange(change: LandedChange): void {
    this.versions.learnRemote(change.clear, change.tags);
    if (change.clear !== undefined) {
      this.dropLocal();
    } else {
      for (const key of change.keys) {
        this.l1?.delete(key);
        this.reads.markDirty(key);
      }
      if (change.tags !== undefined) {
        this.l1?.deleteTagged(Object.keys(change.tags));
        this.reads.markAllDirty();
      }
    }
    if (this.report.observed) this.report.emit({ type: 'invalidation', keys: change.keys });
  }

  /**
   * Drops all of L1 (the bus reconnected: messages may have been lost meanwhile). L2 is
   * untouched; later reads refill L1 from it.
   */
  dropLocal(): void {
    this.l1?.clear();
    this.reads.markAllDirty();
  }

  stats(): CacheStatsSnapshot {
    const { l1Hits, l2Hits, misses } = this.counters;
    const reads = l1Hits + l2Hits + misses;
    return {
      ...this.counters,
      hitRatio: reads === 0 ? 0 : (l1Hits + l2Hits) / reads,
      pending: this.flusher.pending,
      l1Size: this.l1?.size ?? 0,
      breaker: this.breaker.state,
      breakerOpens: this.breaker.opens,
    };
  }

  /** Drains the queue (bounded by `shutdownTimeoutMs`) and stops; returns the unwritten count. */
  async close(): Promise<number> {
    const unwritten = await this.flusher.close(this.options.writeBehind.shutdownTimeoutMs);
    this.report.close();
    this.landed.complete();
    return unwritten;
  }

  /** The entry under `key`, fresh or stale: L1, a queued write, else L2. Counts nothing. */
  private async lookup(key: string): Promise<FoundEntry | undefined> {
    const local = this.l1?.get(key);
    return local !== undefined ? fromLocal(local) : this.readThrough(key);
  }

  /** L1 missed: a write of ours not yet flushed, else L2. Counts nothing. */
  private async readThrough(key: string): Promise<FoundEntry | undefined> {
    const pending = this.pendingValue(key);
    if (pending !== null) return pending;
    const mark = this.reads.begin(key);
    try {
      const read = await this.readRemote([key], 'get');
      const found = this.accept(key, read?.values[0], mark, read?.fresh);
      return found instanceof Promise ? await found : found;
    } finally {
      this.reads.end(key, mark);
    }
  }

  /**
   * One MGET for the values and the versions they are checked against: the namespace version and
   * the versions of the tags these keys had when last seen. `undefined` when L2 failed (counted).
   */
  private async readRemote(
    keys: readonly string[],
    operation: string,
  ): Promise<{ values: L2Read[]; fresh: FreshVersions } | undefined> {
    const tags = this.versions.hintedTags(keys);
    const startedAt = performance.now();
    let raws: L2Read[];
    try {
      raws = await this.reader.mget([
        ...keys.map((key) => this.prefix + key),
        this.versions.namespaceKey,
        ...tags.map((tag) => this.versions.tagKey(tag)),
      ]);
    } catch (error: unknown) {
      this.report.l2Failed(operation, keys.length === 1 ? keys[0] : undefined, error);
      return undefined;
    }
    const n = keys.length;
    return {
      values: raws.slice(0, n),
      fresh: {
        namespace: this.versions.noteNamespace(raws[n], startedAt),
        tags: this.versions.noteTags(tags, raws.slice(n + 1), startedAt),
      },
    };
  }

  /**
   * Read-your-writes: a write of ours still queued for L2 is newer than anything L2 holds.
   * Rare path (L1 disabled, or the entry left L1 before its flush). `null`: nothing queued.
   */
  private pendingValue(key: string): FoundEntry | undefined | null {
    const write = this.flusher.peek(this.prefix + key);
    if (!write) return null; // nothing queued: ask L2
    if (write.kind === 'del' || write.expiresAt <= Date.now()) return undefined;
    const decoded = this.decode(key, write.value);
    if (decoded === undefined || !this.versions.matchesKnown(decoded.stamp)) return undefined;
    return { value: decoded.value, freshUntil: decoded.freshUntil, tier: 'l1' };
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
      this.report.l2Failed('get', key, raw);
      return undefined;
    }
    const decoded = this.decode(key, raw);
    if (!decoded) return undefined;
    const tags = decoded.stamp?.t === undefined ? undefined : Object.keys(decoded.stamp.t);
    this.versions.rememberTags(key, tags);
    const current = this.versions.isCurrent(decoded.stamp, fresh);
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
      this.l1?.set(key, local, decoded.expiresAt, size, tags);
    }
    return { value: decoded.value, freshUntil: decoded.freshUntil, tier: 'l2' };
  }

  /** The entry in `raw`; a corrupt one is reported (`decode` error) and reads as a miss. */
  private decode(key: string, raw: Buffer): Decoded | undefined {
    try {
      return this.codec.decode(key, raw);
    } catch (error: unknown) {
      this.report.l2Failed('decode', key, error);
      return undefined;
    }
  }

  /**
   * Writes L1 and queues (or, write-through, sends) the L2 writes of encoded entries. Throws
   * synchronously for a full queue; nothing is stored then. Write-through waits at most
   * `l2TimeoutMs` (the write stays queued and is retried when L2 is slower or failing).
   */
  private store(entries: readonly Prepared[]): Promise<void> {
    const writeBehind = this.options.writeBehind.enabled;
    for (const entry of entries) this.flusher.checkCapacity(entry.fullKey, entry.key);
    const writes = new Array<PendingWrite>(entries.length);
    for (let i = 0; i < entries.length; i++) writes[i] = this.stage(entries[i]!);
    this.counters.sets += entries.length;
    if (writeBehind) {
      for (const write of writes) this.flusher.enqueue(write);
      return RESOLVED;
    }
    return this.flusher.writeNow(writes, this.options.l2TimeoutMs);
  }

  /** `store` of one write-behind entry: the hottest write path, without arrays. */
  private storeOne(entry: Prepared): Promise<void> {
    this.flusher.checkCapacity(entry.fullKey, entry.key);
    const write = this.stage(entry);
    this.counters.sets++;
    this.flusher.enqueue(write);
    return RESOLVED;
  }

  /** Writes L1 for an encoded `entry` and makes its queued write. */
  private stage(entry: Prepared): PendingWrite {
    const bytes = entry.bytes!;
    this.l1?.set(entry.key, entry.local, entry.expiresAt, bytes.length, entry.tags, entry.at);
    if (entry.tags !== undefined || this.versions.hasTagHints) {
      this.versions.rememberTags(entry.key, entry.tags);
    }
    this.reads.markDirty(entry.key);
    return {
      kind: 'set',
      key: entry.fullKey,
      value: bytes,
      expiresAt: entry.expiresAt,
      seq: this.flusher.nextSeq(),
      stamp: entry.stamp,
    };
  }
}

/** An L1 value as a found entry. */
function fromLocal(local: unknown): FoundEntry {
  return local instanceof StaleableValue
    ? { value: local.value, freshUntil: local.freshUntil, tier: 'l1' }
    : { value: local, freshUntil: Infinity, tier: 'l1' };
}
