import type { LoggerService } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { CacheEvent, LockFallbackReason } from '../events/cache-event.js';
import type { CacheCounters } from '../events/cache-stats.js';
import type { FlusherSignal } from '../write-behind/write-behind.flusher.js';
import type { FoundEntry } from './found-entry.js';
import type { HotKeys } from '../events/hot-keys.js';

/** How often, at most, one summary line of dropped writes is logged, in milliseconds. */
const DROP_LOG_INTERVAL_MS = 5_000;

/**
 * What a cache tells the outside: counters, `events$` (built only while someone subscribes) and
 * log lines, rate-limited where one per key would flood the log.
 */
export class CacheReporter {
  private readonly events = new Subject<CacheEvent>();
  readonly events$: Observable<CacheEvent> = this.events.asObservable();
  private dropsToLog = 0;
  private rejectedToLog = 0;
  private dropLogTimer: NodeJS.Timeout | undefined;
  private readonly fallbacksToLog = new Map<LockFallbackReason, number>();
  private fallbackLogTimer: NodeJS.Timeout | undefined;

  /**
   * @param prefix The namespace prefix of L2 keys, stripped from the keys of `drop` events.
   * @param maxPending `writeBehind.maxPending`, quoted when queued writes are dropped.
   */
  constructor(
    private readonly counters: CacheCounters,
    private readonly prefix: string,
    private readonly maxPending: number,
    private readonly logger?: LoggerService,
    /** The most read keys, when `hotKeys` is on. */
    readonly hot?: HotKeys,
  ) {}

  /** Whether anyone subscribes to `events$`: build an event only then. */
  get observed(): boolean {
    return this.events.observed;
  }

  emit(event: CacheEvent): void {
    if (this.events.observed) this.events.next(event);
  }

  /** Counts an L1 hit (the hottest path: the event is built only when someone listens). */
  l1Hit(key: string): void {
    this.counters.l1Hits++;
    this.hot?.record(key);
    if (this.events.observed) this.events.next({ type: 'hit', tier: 'l1', key });
  }

  /** Counts a read served from `served`'s tier, or a miss. */
  read(key: string, served: FoundEntry | undefined): void {
    this.hot?.record(key);
    if (served === undefined) {
      this.counters.misses++;
      if (this.events.observed) this.emit({ type: 'miss', key });
    } else {
      if (served.tier === 'l1') this.counters.l1Hits++;
      else this.counters.l2Hits++;
      if (this.events.observed) this.emit({ type: 'hit', tier: served.tier, key });
    }
  }

  /** Counts an L2 call that failed (the caller was answered without it). */
  l2Failed(operation: string, key: string | undefined, error: unknown): void {
    this.counters.l2Errors++;
    this.emit(
      key === undefined
        ? { type: 'error', operation, error }
        : { type: 'error', operation, key, error },
    );
  }

  /**
   * Counts and emits a single-flight fallback; logs at most one line per 5 s for all of them,
   * with the count per reason.
   */
  lockFallback(key: string, reason: LockFallbackReason, error?: unknown): void {
    this.counters.lockFallbacks++;
    this.emit({ type: 'lock-fallback', key, reason, ...(error !== undefined ? { error } : {}) });
    this.fallbacksToLog.set(reason, (this.fallbacksToLog.get(reason) ?? 0) + 1);
    if (this.fallbackLogTimer !== undefined) return;
    this.logFallbacks(); // the first at once, then a summary per interval
    this.fallbackLogTimer = setTimeout(() => {
      this.fallbackLogTimer = undefined;
      this.logFallbacks();
    }, DROP_LOG_INTERVAL_MS).unref();
  }

  /** Logs and emits a change of the L2 circuit breaker. */
  breaker(state: 'closed' | 'open' | 'half-open', l2: string): void {
    if (state === 'open') {
      this.logger?.warn(
        `L2 circuit breaker open: L2 (${l2}) keeps failing; serving L1 and queueing writes`,
      );
    } else if (state === 'closed') {
      this.logger?.log('L2 circuit breaker closed: L2 answers again');
    }
    this.emit({ type: 'breaker', state });
  }

  /** Counts, logs and emits what the write-behind flusher reports. */
  flusher(signal: FlusherSignal): void {
    if (signal.type === 'failed') this.counters.l2Errors++;
    if (signal.type === 'dropped' && signal.reason !== 'shutdown') {
      this.noteDrop(signal.reason);
    }
    if (!this.events.observed) return;
    switch (signal.type) {
      case 'landed':
        this.emit({ type: 'flush', count: signal.writes.length, durationMs: signal.durationMs });
        break;
      case 'failed':
        this.emit({
          type: 'flush-error',
          count: signal.count,
          attempt: signal.attempt,
          retryInMs: signal.retryInMs,
          error: signal.error,
        });
        break;
      case 'dropped':
        this.emit({
          type: 'drop',
          key: signal.write.key.slice(this.prefix.length),
          reason: signal.reason,
          ...(signal.error !== undefined ? { error: signal.error } : {}),
        });
        break;
      default:
        break;
    }
  }

  /** Logs the drops not logged yet and completes `events$`. */
  close(): void {
    clearTimeout(this.dropLogTimer);
    this.dropLogTimer = undefined;
    this.logDrops();
    clearTimeout(this.fallbackLogTimer);
    this.fallbackLogTimer = undefined;
    this.logFallbacks();
    this.events.complete();
  }

  /** Drops are logged at most every 5 s, as one line with the count, never per key. */
  private noteDrop(reason: 'overflow' | 'rejected'): void {
    if (reason === 'rejected') this.rejectedToLog++;
    else this.dropsToLog++;
    this.dropLogTimer ??= setTimeout(() => {
      this.dropLogTimer = undefined;
      this.logDrops();
    }, DROP_LOG_INTERVAL_MS).unref();
  }

  private logFallbacks(): void {
    if (this.fallbacksToLog.size === 0) return;
    const counts = [...this.fallbacksToLog].map(([reason, count]) => `${count} ${reason}`);
    this.fallbacksToLog.clear();
    this.logger?.warn(
      `distributed single-flight fell back to a local factory run (${counts.join(', ')}); ` +
        "see 'lock-fallback' events",
    );
  }

  private logDrops(): void {
    if (this.dropsToLog > 0) {
      this.logger?.warn(
        `${this.dropsToLog} queued write(s) dropped (writeBehind.maxPending ${this.maxPending} reached, overflow 'drop-oldest')`,
      );
    }
    if (this.rejectedToLog > 0) {
      this.logger?.warn(
        `${this.rejectedToLog} write(s) refused by L2 for good (e.g. NOPERM, WRONGTYPE) and dropped; see 'drop' events`,
      );
    }
    this.dropsToLog = 0;
    this.rejectedToLog = 0;
  }
}
