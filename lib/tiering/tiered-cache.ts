import type { LoggerService } from '@nestjs/common';
import {
  NEVER,
  Subject,
  type Observable,
  filter,
  startWith,
  switchMap,
  take,
  tap,
  timer,
} from 'rxjs';
import { BatchVersionGuard } from './batch-version.guard.js';
import { CacheReporter } from './cache-reporter.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { DistributedFlight } from './distributed-flight.js';
import { EntryCodec } from './entry-codec.js';
import { InFlightReads } from './in-flight-reads.js';
import { landedChange } from './landed-change.js';
import { ReadBatcher } from './read-batcher.js';
import { NOT_IN_L1, ReadPath, STALE_IN_L1 } from './read-path.js';
import { ReadThrough, type GetOrSetOptions, type SetOptions } from './read-through.js';
import { replicaPolicy } from './replica-confirmations.js';
import { RemoteTier } from './remote-tier.js';
import type { TierParts } from './tier-parts.js';
import { VersionRegistry } from './version-registry.js';
import { WritePath, type MsetEntry } from './write-path.js';
import { CacheError } from '../errors/cache.errors.js';
import type { CacheEvent } from '../events/cache-event.js';
import { CacheCounters, type CacheStatsSnapshot } from '../events/cache-stats.js';
import type { InvalidationTarget, LandedChange } from '../invalidation/invalidation-target.js';
import { assertKey } from '../keys/key-rules.js';
import { LocalTier } from '../l1/local-tier.js';
import type { L2Store } from '../contracts/l2-store.interface.js';
import { DEFAULT_OPTIONS } from '../options/default-options.js';
import { parseDuration } from '../options/duration.js';
import type { ResolvedCacheOptions } from '../options/resolved-options.js';
import { WriteBehindFlusher } from '../write-behind/write-behind.flusher.js';
import type { CacheTraceContext } from '../tracing/cache-channels.js';
import { tracedBatches } from '../tracing/traced-batches.js';
import { traceFound } from './found-entry.js';
import { HotKeys, type HotKey } from '../events/hot-keys.js';

export type { GetOrSetOptions, LandedChange, MsetEntry, SetOptions };

/**
 * How long a version token stands in for a version key L2 cannot answer for, with L1 disabled
 * (otherwise `l1.ttl`, the time an L1 entry may be stale anyway): the default `l1.ttl`.
 */
const VERSION_TRUST_WITHOUT_L1_MS = parseDuration(DEFAULT_OPTIONS.l1.ttl, 'l1.ttl');

/**
 * The orchestrator behind `CacheService`: builds the tiers once and runs each call through them.
 * Backend-agnostic: it only sees the `L2Store` contract.
 *
 * - **read** (`get`, `mget`): L1; else a write of ours still queued; else one L2 MGET carrying the
 *   version keys the values are checked against, filling L1 (ReadPath).
 * - **read-through** (`getOrSet`): an L1 hit, else single-flight lookup and factory, storing what
 *   the factory made (ReadThrough); with `lock`, one factory run across instances
 *   (DistributedFlight).
 * - **write** (`set`, `mset`, `del`, `clear`, `invalidateTags`): encode, L1 at once, then L2
 *   through the write-behind queue's serial lane (WritePath, WriteBehindFlusher).
 * - **L2 policy**: every call through RemoteTier (timeout, circuit breaker counting only L2
 *   itself); reads of one tick merged by ReadBatcher; version keys kept and repaired by
 *   VersionRegistry, KnownVersions and BatchVersionGuard.
 * - **publish**: each landed batch becomes a `LandedChange` on `landed$`, which the invalidation
 *   bus announces; other instances' changes arrive through `applyRemoteChange`.
 * - **report**: counters, `events$` and log lines (CacheReporter).
 */
export class TieredCache implements InvalidationTarget {
  readonly counters = new CacheCounters();
  private readonly l1: LocalTier | undefined;
  private readonly flusher: WriteBehindFlusher;
  private readonly versions: VersionRegistry;
  private readonly report: CacheReporter;
  private readonly reads = new InFlightReads();
  private readonly reader: ReadPath;
  private readonly writer: WritePath;
  private readonly readThrough: ReadThrough;
  private readonly landed = new Subject<LandedChange>();
  private readonly breaker: CircuitBreaker;
  private readonly flight: DistributedFlight;

  /** Hits, misses, flushes, drops, errors, breaker changes and remote invalidations. */
  readonly events$: Observable<CacheEvent>;
  /** Changes of this instance that landed in L2, one per batch (for the invalidation bus). */
  readonly landed$: Observable<LandedChange> = this.landed.asObservable();

  constructor(
    private readonly options: ResolvedCacheOptions,
    store: L2Store,
    logger?: LoggerService,
  ) {
    const prefix = `${options.namespace}:`;
    this.report = new CacheReporter(
      this.counters,
      prefix,
      options.writeBehind.maxPending,
      logger,
      options.hotKeys === false
        ? undefined
        : new HotKeys(options.hotKeys.capacity, options.hotKeys.sampleEvery),
    );
    this.events$ = this.report.events$;
    this.l1 = options.l1 === false ? undefined : new LocalTier(options.l1);
    this.breaker = new CircuitBreaker(options.circuitBreaker);
    this.breaker.changes$.subscribe((state) => this.report.breaker(state, store.description));
    const remote = new RemoteTier(
      store,
      options.l2TimeoutMs,
      this.breaker,
      replicaPolicy(options.writeBehind, store, this.counters),
    );
    const batcher = new ReadBatcher(remote, options.namespace);
    this.versions = new VersionRegistry(
      {
        mget: (keys) => batcher.mget(keys),
        ensure: (requests) => remote.ensure(requests),
        failed: (operation, error) => this.report.l2Failed(operation, undefined, error),
      },
      options.namespace,
      options.l1 === false ? 10_000 : options.l1.max,
      options.l1 === false ? VERSION_TRUST_WITHOUT_L1_MS : options.l1.ttlMs,
    );
    const codec = new EntryCodec(options, prefix, this.versions);
    this.flusher = new WriteBehindFlusher(
      tracedBatches(remote, options.namespace),
      options.writeBehind,
      this.counters,
      {
        guard: new BatchVersionGuard(this.versions.known),
        frame: (write) => codec.frame(write),
      },
    );
    this.flusher.signals$.subscribe((signal) => {
      const { known } = this.versions;
      if (known.hasUnlanded) {
        if (signal.type === 'landed') known.settle(signal.writes, true);
        else if (signal.type === 'dropped') known.settle([signal.write], false);
      }
      if (signal.type === 'landed' && this.landed.observed) {
        this.landed.next(landedChange(signal.writes, options.namespace));
      }
      this.report.flusher(signal);
    });
    const parts: TierParts = {
      options,
      prefix,
      l1: this.l1,
      versions: this.versions,
      codec,
      report: this.report,
      reads: this.reads,
      counters: this.counters,
    };
    this.reader = new ReadPath(parts, batcher, (key) => this.flusher.peek(key));
    this.writer = new WritePath(parts, this.flusher);
    this.flight = new DistributedFlight(
      {
        locks: store.locks,
        call: (operation, body) => remote.call(operation, body),
        readRemote: (key) => this.reader.remote(key),
        counters: this.counters,
        report: this.report,
      },
      options.namespace,
      options.lock.leaseMs,
    );
    this.readThrough = new ReadThrough(
      {
        lookup: (key, trace) => this.reader.lookup(key, trace),
        store: (key, value, setOptions, keepStaleMs, releases) =>
          this.writer.storeProduced(key, value, setOptions, keepStaleMs, releases),
        countRead: (key, served) => this.report.read(key, served),
        reportError: (operation, key, error) =>
          this.report.emit({ type: 'error', operation, key, error }),
      },
      this.flight,
      options.lock.waitMs,
    );
  }

  /** The namespace (for tracing contexts). */
  get namespace(): string {
    return this.options.namespace;
  }

  /** The value of `key`: L1, else L2 (filling L1), else `undefined`. Never throws for L2 trouble. */
  get<T>(key: string): Promise<T | undefined> {
    return this.reader.get(key);
  }

  /**
   * {@link get}, filling `trace`, a tracing context, as it runs (CacheTraceContext; the other
   * methods take one as an optional last argument).
   */
  getTraced<T>(key: string, trace: CacheTraceContext): Promise<T | undefined> {
    return this.reader.getTraced(key, trace);
  }

  /** Values of `keys` in order; L1 first, then one L2 call for the rest. */
  mget<T>(keys: readonly string[], trace?: CacheTraceContext): Promise<Array<T | undefined>> {
    return this.reader.mget(keys, trace);
  }

  /** See {@link WritePath.set}: encoded now, L1 at once, L2 by write-behind or write-through. */
  set<T>(key: string, value: T, options?: SetOptions, trace?: CacheTraceContext): Promise<void> {
    return this.writer.set(key, value, options, trace);
  }

  /** See {@link WritePath.mset}. */
  mset<T>(entries: ReadonlyArray<MsetEntry<T>>): Promise<void> {
    return this.writer.mset(entries);
  }

  /** See {@link WritePath.del}. */
  del(keys: string | readonly string[]): Promise<void> {
    return this.writer.del(keys);
  }

  /**
   * Read-through with single-flight: concurrent misses of one key run `factory` once and share
   * its result or its error. `undefined` from the factory is returned but not cached. With
   * `staleWhileRevalidate`, `grace` and `timeout`, expired values can be served (see
   * GetOrSetOptions).
   */
  getOrSet<T>(
    key: string,
    factory: () => T | Promise<T>,
    options?: GetOrSetOptions,
    trace?: CacheTraceContext,
  ): Promise<T> {
    // Not `async`: on a miss every concurrent caller gets the flight's own promise, with no
    // wrapper promise (and its extra ticks) per caller when a stampede resolves.
    try {
      assertKey(key, this.options.maxKeyLength);
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new CacheError(String(error)));
    }
    const hit = this.reader.l1Hit(key);
    if (hit !== NOT_IN_L1 && hit !== STALE_IN_L1) {
      if (trace !== undefined) traceFound(trace, { value: hit, freshUntil: Infinity, tier: 'l1' });
      return Promise.resolve(hit as T);
    }
    return this.readThrough.run(key, factory, options, trace);
  }

  /** See {@link WritePath.clear}. */
  clear(): Promise<void> {
    return this.writer.clear();
  }

  /** See {@link WritePath.invalidateTags}. */
  invalidateTags(tags: readonly string[]): Promise<void> {
    return this.writer.invalidateTags(tags);
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
      this.flight.landed(change.keys);
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
    const hot = this.report.hot;
    const snapshot = {
      ...this.counters,
      hitRatio: reads === 0 ? 0 : (l1Hits + l2Hits) / reads,
      pending: this.flusher.pending,
      l1Size: this.l1?.size ?? 0,
      breaker: this.breaker.state,
      breakerOpens: this.breaker.opens,
    };
    // Not enumerable: logging or spreading the snapshot shows numbers only.
    return Object.defineProperty(snapshot, 'hotKeys', {
      value: (n = 10): HotKey[] => hot?.top(n) ?? [],
    }) as CacheStatsSnapshot;
  }

  /**
   * Drains the queue and stops; returns the unwritten count and how long it waited. The drain is
   * bounded by `shutdownTimeoutMs`, or, once L2 is known down (the circuit breaker opens, before
   * or during the drain), by one probe of it from then ({@link probeBoundMs}): waiting longer for
   * what cannot drain only delays every restart.
   */
  async close(): Promise<{ unwritten: number; waitedMs: number; l2Down: boolean }> {
    const started = Date.now();
    const ended = await this.drain();
    const waitedMs = Date.now() - started;
    const unwritten = await this.flusher.close(0);
    this.report.close();
    this.landed.complete();
    return { unwritten, waitedMs, l2Down: ended === 'l2-down' };
  }

  /** Waits for the queue to drain, within the bounds {@link close} describes. */
  private async drain(): Promise<'drained' | 'timeout' | 'l2-down'> {
    const probe = this.probeBoundMs();
    let ended: 'drained' | 'timeout' | 'l2-down' = 'drained';
    // L2 known down, now (the breaker is not closed) or once the breaker opens during the drain:
    // one probe from then.
    const down$ =
      probe === undefined
        ? NEVER
        : this.breaker.changes$.pipe(
            startWith(this.breaker.state),
            filter((state, i) => (i === 0 ? state !== 'closed' : state === 'open')),
            take(1),
            switchMap(() => timer(probe)),
            tap(() => (ended = 'l2-down')),
          );
    try {
      await this.flusher.flush(this.options.writeBehind.shutdownTimeoutMs, down$);
    } catch {
      ended = 'timeout';
    }
    return ended;
  }

  /**
   * One probe of a down L2: a breaker cool-down and two L2 calls (time for the probe to close the
   * breaker and a batch to land); `undefined` without a circuit breaker.
   */
  private probeBoundMs(): number | undefined {
    const breaker = this.options.circuitBreaker;
    return breaker === false ? undefined : breaker.cooldownMs + 2 * this.options.l2TimeoutMs;
  }
}
