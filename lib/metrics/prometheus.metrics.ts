import type { Counter, Gauge, Registry } from 'prom-client';
import { CacheOptionsError } from '../errors/cache.errors.js';
import type { CacheMetricsSnapshot } from './cache-metrics.js';
import type { PrometheusRegistry } from './metrics-options.interface.js';
import type { PromClient } from './prometheus.loader.js';

/** Labels of one sample besides `namespace`. */
type Labels = Readonly<Record<string, string>>;

/** One exported metric: its name (without prefix), type, help and how to read it. Internal. */
export interface CacheMetricSpec {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  /** Labels besides `namespace`. */
  readonly labelNames?: readonly string[];
  /** The samples of one cache: a number (no extra labels), labelled values, or none. */
  readonly read: (
    m: CacheMetricsSnapshot,
  ) => number | ReadonlyArray<readonly [Labels, number]> | undefined;
}

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/**
 * Every metric the exporter registers, each with a `namespace` label. Counters count since the
 * application started (Prometheus handles the reset when it restarts).
 */
export const CACHE_METRIC_SPECS: readonly CacheMetricSpec[] = [
  {
    name: 'hits_total',
    type: 'counter',
    help: 'Reads answered by the cache, by tier (l1: in-process, l2: shared)',
    labelNames: ['tier'],
    read: (m) => [
      [{ tier: 'l1' }, m.l1Hits],
      [{ tier: 'l2' }, m.l2Hits],
    ],
  },
  {
    name: 'misses_total',
    type: 'counter',
    help: 'Reads answered by neither tier',
    read: (m) => m.misses,
  },
  {
    name: 'hit_ratio',
    type: 'gauge',
    help: 'Hits divided by reads since start, 0 to 1 (0 before the first read)',
    read: (m) => m.hitRatio,
  },
  {
    name: 'sets_total',
    type: 'counter',
    help: 'Values stored by set, mset and getOrSet',
    read: (m) => m.sets,
  },
  { name: 'deletes_total', type: 'counter', help: 'Keys removed by del', read: (m) => m.deletes },
  {
    name: 'l1_entries',
    type: 'gauge',
    help: 'Entries held in the in-process tier',
    read: (m) => m.l1Entries,
  },
  {
    name: 'write_behind_pending',
    type: 'gauge',
    help: 'Write-behind queue depth: writes queued or in flight, not yet acknowledged by L2',
    read: (m) => m.pending,
  },
  {
    name: 'write_behind_max_pending',
    type: 'gauge',
    help: 'Bound of the write-behind queue (writeBehind.maxPending)',
    read: (m) => m.maxPending,
  },
  {
    name: 'write_behind_flushed_total',
    type: 'counter',
    help: 'Writes acknowledged by L2',
    read: (m) => m.flushed,
  },
  {
    name: 'write_behind_batches_total',
    type: 'counter',
    help: 'Write batches acknowledged by L2',
    read: (m) => m.batches,
  },
  {
    name: 'write_behind_flush_seconds_total',
    type: 'counter',
    help: 'Sum of the L2 round trips of acknowledged batches, in seconds (divide by batches for the mean)',
    read: (m) => m.flushDurationMsTotal / 1000,
  },
  {
    name: 'write_behind_retries_total',
    type: 'counter',
    help: 'Write batch retries after an L2 failure',
    read: (m) => m.retries,
  },
  {
    name: 'write_behind_dropped_total',
    type: 'counter',
    help: 'Writes dropped by the overflow policy, refused by L2 for good, or left unwritten at shutdown',
    read: (m) => m.dropped,
  },
  {
    name: 'l2_errors_total',
    type: 'counter',
    help: 'Failed or timed-out L2 calls, and L2 payloads that could not be decoded',
    read: (m) => m.l2Errors,
  },
  {
    name: 'breaker_state',
    type: 'gauge',
    help: 'State of the L2 circuit breaker: 1 for the current state, 0 for the others',
    labelNames: ['state'],
    read: (m) => BREAKER_STATES.map((state) => [{ state }, m.breaker === state ? 1 : 0] as const),
  },
  {
    name: 'breaker_opens_total',
    type: 'counter',
    help: 'Times the L2 circuit breaker opened',
    read: (m) => m.breakerOpens,
  },
  {
    name: 'lock_acquired_total',
    type: 'counter',
    help: 'Distributed single-flight locks this instance took to run a factory',
    read: (m) => m.lockAcquired,
  },
  {
    name: 'lock_waits_total',
    type: 'counter',
    help: "Calls that waited for another instance's factory (its lock was held)",
    read: (m) => m.lockWaits,
  },
  {
    name: 'lock_wait_seconds_total',
    type: 'counter',
    help: "Time calls spent waiting for another instance's factory, in seconds",
    read: (m) => m.lockWaitMsTotal / 1000,
  },
  {
    name: 'lock_fallbacks_total',
    type: 'counter',
    help: 'Calls with lock that ran their factory without the distributed lock (wait spent, L2 failing, unsupported)',
    read: (m) => m.lockFallbacks,
  },
  {
    name: 'l2_reads_total',
    type: 'counter',
    help: 'L1 misses answered by L2 (a hit or a miss there; failed reads count in l2_errors_total)',
    read: (m) => m.l2Reads,
  },
  {
    name: 'l2_read_seconds_total',
    type: 'counter',
    help: 'Summed duration of L2 reads as callers waited for them, in seconds (divide by l2_reads_total for the mean)',
    read: (m) => m.l2ReadMsTotal / 1000,
  },
  {
    name: 'replica_confirmed_batches_total',
    type: 'counter',
    help: 'Write batches confirmed by writeBehind.replicas replicas (WAIT)',
    read: (m) => m.replicaConfirmedBatches,
  },
  {
    name: 'replica_timeouts_total',
    type: 'counter',
    help: 'Write batches (or parts) fewer replicas confirmed within replicaTimeoutMs, kept pending and retried',
    read: (m) => m.replicaTimeouts,
  },
  {
    name: 'replica_wait_seconds_total',
    type: 'counter',
    help: 'Time write batches spent waiting for replicas (WAIT), in seconds',
    read: (m) => m.replicaWaitMsTotal / 1000,
  },
  {
    name: 'hot_key_reads',
    type: 'gauge',
    help: 'Estimated reads of the most read keys (hotKeys option; at most hotKeySeries keys)',
    labelNames: ['key'],
    read: (m) => m.hotKeys.map(({ key, reads }) => [{ key }, reads] as const),
  },
  {
    name: 'invalidation_bus_connected',
    type: 'gauge',
    help: 'Whether the invalidation bus subscription is live (absent when invalidation is off)',
    read: (m) => (m.bus === null ? undefined : m.bus.connected ? 1 : 0),
  },
  {
    name: 'invalidation_messages_total',
    type: 'counter',
    help: 'Invalidation messages: published by this instance, received from others, or ignored',
    labelNames: ['direction'],
    read: (m) =>
      m.bus === null
        ? undefined
        : [
            [{ direction: 'published' }, m.bus.published],
            [{ direction: 'received' }, m.bus.received],
            [{ direction: 'ignored' }, m.bus.ignored],
          ],
  },
  {
    name: 'invalidation_publish_errors_total',
    type: 'counter',
    help: 'Invalidation messages that could not be published',
    read: (m) => (m.bus === null ? undefined : m.bus.publishErrors),
  },
  {
    name: 'invalidation_resubscribes_total',
    type: 'counter',
    help: 'Times the invalidation bus subscription came back after a drop (each dropped L1)',
    read: (m) => (m.bus === null ? undefined : m.bus.resubscribes),
  },
  {
    name: 'invalidation_lag_seconds_total',
    type: 'counter',
    help: 'Summed lag of received invalidation messages, send to receipt, in seconds (divide by received messages for the mean)',
    read: (m) => (m.bus === null ? undefined : m.bus.lagMsTotal / 1000),
  },
];

/** A cache feeding the metrics: called at every scrape. */
export type CacheMetricsSource = () => CacheMetricsSnapshot;

/** Undoes {@link registerCacheMetrics}. */
export interface CacheMetricsRegistration {
  unregister(): void;
}

/**
 * The metrics of one registry and prefix, shared by every cache of the process that registers
 * there (several applications, or named caches), each contributing samples with its own
 * `namespace` label.
 *
 * NOTE: shared because a prom-client registry refuses two metrics of one name; the map is keyed
 * by the registry object, so separate registries (e.g. one per test) stay independent.
 */
class CacheMetricSet {
  readonly sources = new Set<CacheMetricsSource>();
  private readonly names: string[] = [];

  constructor(
    prom: PromClient,
    private readonly registry: PrometheusRegistry,
    prefix: string,
  ) {
    for (const spec of CACHE_METRIC_SPECS) {
      const name = `${prefix}${spec.name}`;
      if (registry.getSingleMetric(name) !== undefined) {
        this.remove();
        throw new CacheOptionsError(
          'prefix',
          `A metric named '${name}' is already registered in this prom-client registry; ` +
            `give DistributedCacheMetricsModule another prefix (or registry)`,
        );
      }
      const labelNames = ['namespace', ...(spec.labelNames ?? [])];
      // prom-client calls `collect` on every scrape, before reading the values.
      const collect = (): void => this.fill(metric, spec);
      const config = {
        name,
        help: spec.help,
        labelNames,
        registers: [registry as unknown as Registry],
        collect,
      };
      const metric: Counter | Gauge =
        spec.type === 'counter' ? new prom.Counter(config) : new prom.Gauge(config);
      this.names.push(name);
    }
  }

  remove(): void {
    for (const name of this.names.splice(0)) this.registry.removeSingleMetric(name);
  }

  /** Replaces the metric's samples with every source's current values. */
  private fill(metric: Counter | Gauge, spec: CacheMetricSpec): void {
    // NOTE: reset, then set each value: a counter here mirrors a counter the cache keeps, so it is
    // set from it rather than incremented (prom-client counters have no set()).
    metric.reset();
    for (const source of this.sources) {
      const snapshot = source();
      const read = spec.read(snapshot);
      if (read === undefined) continue;
      const samples = typeof read === 'number' ? [[{}, read] as const] : read;
      for (const [labels, value] of samples) {
        const all = { namespace: snapshot.namespace, ...labels };
        if (spec.type === 'gauge') (metric as Gauge).set(all, value);
        else (metric as Counter).inc(all, value);
      }
    }
  }
}

const metricSets = new WeakMap<PrometheusRegistry, Map<string, CacheMetricSet>>();

/**
 * Registers the cache metrics in `registry` (once per registry and prefix) and adds `source` to
 * them. The metrics leave the registry when their last source unregisters.
 *
 * @throws CacheOptionsError when another metric of the same name is already in the registry.
 */
export function registerCacheMetrics(
  prom: PromClient,
  registry: PrometheusRegistry,
  prefix: string,
  source: CacheMetricsSource,
): CacheMetricsRegistration {
  let byPrefix = metricSets.get(registry);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    metricSets.set(registry, byPrefix);
  }
  let set = byPrefix.get(prefix);
  if (set === undefined) {
    set = new CacheMetricSet(prom, registry, prefix);
    byPrefix.set(prefix, set);
  }
  const owner = set;
  const sets = byPrefix;
  owner.sources.add(source);
  let registered = true;
  return {
    unregister: () => {
      if (!registered) return;
      registered = false;
      owner.sources.delete(source);
      if (owner.sources.size === 0) {
        owner.remove();
        sets.delete(prefix);
      }
    },
  };
}
