import type { CacheBreakerState } from '../metrics/cache-metrics.js';
import { DownSince } from './down-since.js';
import type { ResolvedCacheHealthOptions } from './health-options.interface.js';

/**
 * The cache's health as the indicator reports it: terminus shows every field under the
 * indicator's key. Times are ISO 8601 strings, durations milliseconds.
 */
export interface CacheHealthReport {
  /** `down` when a condition listed in `reasons` has lasted `downAfterMs`. */
  readonly status: 'up' | 'down';
  /** Why the status is `down`; empty when `up`. */
  readonly reasons: readonly string[];
  /** The cache's namespace. */
  readonly namespace: string;
  /** L2 reachability, from background probes (real key round trips). */
  readonly l2: {
    /** Whether the last probe succeeded (`true` before the first probe finished). */
    readonly reachable: boolean;
    /** Milliseconds since probes started failing; 0 while reachable. */
    readonly unreachableForMs: number;
    /** When probes started failing, if they are failing. */
    readonly unreachableSince?: string;
    /** Probes failed in a row. */
    readonly consecutiveFailures: number;
    /** When the last probe finished, once one has. */
    readonly lastProbeAt?: string;
    /** Message of the last failed probe, while probes are failing. */
    readonly lastError?: string;
  };
  /** The invalidation bus subscription (`disabled` when invalidation is off). */
  readonly bus: 'connected' | 'disconnected' | 'disabled';
  /** The write-behind queue against its bound. */
  readonly queue: {
    readonly pending: number;
    readonly maxPending: number;
    /** `pending / maxPending`, 0 to 1. */
    readonly utilization: number;
  };
  /** State of the L2 circuit breaker (reported; the probes decide reachability). */
  readonly breaker: CacheBreakerState;
  /**
   * Replica confirmation of write batches (`writeBehind.replicas`); `disabled` when it is 0.
   * Batches timing out with none confirmed since, for `downAfterMs`, turn the status `down`.
   */
  readonly replicas:
    | 'disabled'
    | {
        readonly required: number;
        readonly confirmedBatches: number;
        readonly timeouts: number;
        /** Milliseconds batches have been timing out with none confirmed; 0 when they are not. */
        readonly timingOutForMs: number;
      };
}

/** Counts of replica confirmations, as `stats()` has them. */
export interface ReplicaCounts {
  readonly required: number;
  readonly confirmed: number;
  readonly timeouts: number;
}

/** Where the monitor reads the cache's state. Internal. */
export interface CacheHealthSources {
  readonly namespace: string;
  /** One L2 round trip; rejects when L2 cannot serve it in time. */
  probe(): Promise<void>;
  queue(): { pending: number; maxPending: number };
  /** Whether the bus is connected; `null` when invalidation is off. */
  busConnected(): boolean | null;
  breaker(): CacheBreakerState;
  /** Replica confirmations so far; `null` when `writeBehind.replicas` is 0. */
  replicas(): ReplicaCounts | null;
}

/**
 * Probes L2 in the background and keeps, for L2, the queue and the bus, since when each has been
 * bad; the report turns `down` only once one has stayed bad for `downAfterMs`. Probing in the
 * background (one probe at a time, `probeIntervalMs` apart) keeps a health request instant even
 * while Redis hangs, and its timer never keeps the process alive.
 */
export class CacheHealthMonitor {
  private readonly l2 = new DownSince();
  private readonly queue = new DownSince();
  private readonly bus = new DownSince();
  private readonly replication = new DownSince();
  /** The replica counts at the previous sample. */
  private lastReplicas: ReplicaCounts | null = null;
  private consecutiveFailures = 0;
  private lastProbeAt: number | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Bumped by start() and stop(), so a loop from before a restart ends. */
  private generation = 0;

  private lastStatus: CacheHealthReport['status'] = 'up';

  /**
   * @param onChange called when the status changed (`down` with its reasons, or back `up`), seen
   *   by a probe or a health request: one log line per change, not one per request
   */
  constructor(
    private readonly sources: CacheHealthSources,
    private readonly options: ResolvedCacheHealthOptions,
    private readonly now: () => number = Date.now,
    private readonly onChange: (report: CacheHealthReport) => void = () => undefined,
  ) {}

  /** Starts probing: one probe at once, then one every `probeIntervalMs`. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop(++this.generation);
  }

  /** Stops probing. A probe in flight finishes; its result is still recorded. */
  stop(): void {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs one probe now and records its outcome (with a sample of the queue and the bus). */
  async probeNow(): Promise<void> {
    try {
      await this.sources.probe();
      this.consecutiveFailures = 0;
      this.lastError = undefined;
      this.l2.observe(true, this.now());
    } catch (error: unknown) {
      this.consecutiveFailures++;
      this.lastError = error instanceof Error ? error.message : String(error);
      this.l2.observe(false, this.now());
    }
    this.lastProbeAt = this.now();
    this.report();
  }

  /**
   * The health now. Samples the queue and the bus; L2 comes from the latest probes. Calls
   * `onChange` when the status differs from the last one reported.
   */
  report(): CacheHealthReport {
    this.sample();
    const now = this.now();
    const { downAfterMs, maxQueueUtilization, requireBus } = this.options;
    const { pending, maxPending } = this.sources.queue();
    const busConnected = this.sources.busConnected();
    const reasons: string[] = [];
    const l2DownFor = this.l2.downForMs(now);
    if (this.l2.downSince !== undefined && l2DownFor >= downAfterMs) {
      reasons.push(`L2 unreachable for ${l2DownFor} ms (downAfterMs ${downAfterMs})`);
    }
    const queueFullFor = this.queue.downForMs(now);
    if (
      maxQueueUtilization !== false &&
      this.queue.downSince !== undefined &&
      queueFullFor >= downAfterMs
    ) {
      reasons.push(
        `write-behind queue at or above ${maxQueueUtilization * 100} % of maxPending for ${queueFullFor} ms`,
      );
    }
    const busDownFor = this.bus.downForMs(now);
    if (requireBus && this.bus.downSince !== undefined && busDownFor >= downAfterMs) {
      reasons.push(`invalidation bus disconnected for ${busDownFor} ms`);
    }
    const replicas = this.sources.replicas();
    const timingOutFor = this.replication.downForMs(now);
    if (
      replicas !== null &&
      this.replication.downSince !== undefined &&
      timingOutFor >= downAfterMs
    ) {
      reasons.push(
        `write batches not confirmed by ${replicas.required} replica(s) for ${timingOutFor} ms ` +
          '(writeBehind.replicas): they stay pending',
      );
    }
    const unreachableSince = this.l2.downSince;
    const report: CacheHealthReport = {
      status: reasons.length === 0 ? 'up' : 'down',
      reasons,
      namespace: this.sources.namespace,
      l2: {
        reachable: unreachableSince === undefined,
        unreachableForMs: l2DownFor,
        ...(unreachableSince !== undefined
          ? { unreachableSince: new Date(unreachableSince).toISOString() }
          : {}),
        consecutiveFailures: this.consecutiveFailures,
        ...(this.lastProbeAt !== undefined
          ? { lastProbeAt: new Date(this.lastProbeAt).toISOString() }
          : {}),
        ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      },
      bus: busConnected === null ? 'disabled' : busConnected ? 'connected' : 'disconnected',
      queue: {
        pending,
        maxPending,
        utilization: maxPending > 0 ? Math.min(1, pending / maxPending) : 0,
      },
      breaker: this.sources.breaker(),
      replicas:
        replicas === null
          ? 'disabled'
          : {
              required: replicas.required,
              confirmedBatches: replicas.confirmed,
              timeouts: replicas.timeouts,
              timingOutForMs: timingOutFor,
            },
    };
    // Checked here, where every probe and every health request ends up: a status a request saw
    // has always been announced.
    if (report.status !== this.lastStatus) {
      this.lastStatus = report.status;
      this.onChange(report);
    }
    return report;
  }

  private async loop(generation: number): Promise<void> {
    if (generation !== this.generation) return;
    await this.probeNow();
    if (generation !== this.generation) return;
    this.timer = setTimeout(() => void this.loop(generation), this.options.probeIntervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const now = this.now();
    const { pending, maxPending } = this.sources.queue();
    const limit = this.options.maxQueueUtilization;
    this.queue.observe(limit === false || pending < maxPending * limit, now);
    this.bus.observe(this.sources.busConnected() !== false, now);
    this.sampleReplicas(now);
  }

  /**
   * Bad once a batch timed out since the last sample and none was confirmed; good again at the
   * next confirmed batch; unchanged while no batch finished (an idle cache keeps its state).
   */
  private sampleReplicas(now: number): void {
    const counts = this.sources.replicas();
    const last = this.lastReplicas;
    this.lastReplicas = counts;
    if (counts === null || last === null) return;
    if (counts.confirmed > last.confirmed) this.replication.observe(true, now);
    else if (counts.timeouts > last.timeouts) this.replication.observe(false, now);
  }
}
