import { Registry } from 'prom-client';
import { CacheOptionalDependencyError } from '../../../lib/errors/cache.errors.js';
import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import type { CacheMetricsSnapshot } from '../../../lib/metrics/cache-metrics.js';
import { resolveMetricsOptions } from '../../../lib/metrics/metrics.module.js';
import { loadPromClient } from '../../../lib/metrics/prometheus.loader.js';
import {
  CACHE_METRIC_SPECS,
  registerCacheMetrics,
} from '../../../lib/metrics/prometheus.metrics.js';

function snapshot(
  namespace: string,
  overrides: Partial<CacheMetricsSnapshot> = {},
): CacheMetricsSnapshot {
  return {
    namespace,
    l1Hits: 0,
    l2Hits: 0,
    hits: 0,
    misses: 0,
    reads: 0,
    hitRatio: 0,
    l1HitRatio: 0,
    l2HitRatio: 0,
    sets: 0,
    deletes: 0,
    l1Entries: 0,
    pending: 0,
    maxPending: 100,
    queueUtilization: 0,
    flushed: 0,
    batches: 0,
    retries: 0,
    dropped: 0,
    l2Errors: 0,
    breaker: 'closed',
    breakerOpens: 0,
    flushDurationMsTotal: 0,
    lockAcquired: 0,
    lockWaits: 0,
    lockWaitMsTotal: 0,
    lockFallbacks: 0,
    replicaConfirmedBatches: 0,
    replicaTimeouts: 0,
    replicaWaitMsTotal: 0,
    l2Reads: 0,
    l2ReadMsTotal: 0,
    hotKeys: [],
    bus: null,
    ...overrides,
  };
}

/** The value of one sample in the text exposition, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('registerCacheMetrics()', () => {
  it('exports the current values of every source at each scrape', async () => {
    const prom = await loadPromClient();
    const registry = new Registry();
    let current = snapshot('shop', { l1Hits: 1 });
    const registration = registerCacheMetrics(prom, registry, 'distributed_cache_', () => current);
    try {
      let text = await registry.metrics();
      expect(sample(text, 'distributed_cache_hits_total', 'namespace="shop",tier="l1"')).toBe(1);
      current = snapshot('shop', { l1Hits: 5, l2Hits: 2, misses: 3, hitRatio: 0.7, pending: 4 });
      text = await registry.metrics();
      expect(sample(text, 'distributed_cache_hits_total', 'namespace="shop",tier="l1"')).toBe(5);
      expect(sample(text, 'distributed_cache_hits_total', 'namespace="shop",tier="l2"')).toBe(2);
      expect(sample(text, 'distributed_cache_misses_total', 'namespace="shop"')).toBe(3);
      expect(sample(text, 'distributed_cache_hit_ratio', 'namespace="shop"')).toBe(0.7);
      expect(sample(text, 'distributed_cache_write_behind_pending', 'namespace="shop"')).toBe(4);
      expect(text).toContain('# TYPE distributed_cache_hits_total counter');
      expect(text).toContain('# TYPE distributed_cache_write_behind_pending gauge');
    } finally {
      registration.unregister();
    }
  });

  it('exports the breaker state as one gauge per state, 1 for the current one', async () => {
    const prom = await loadPromClient();
    const registry = new Registry();
    const registration = registerCacheMetrics(prom, registry, 'c_', () =>
      snapshot('n', { breaker: 'half-open', breakerOpens: 3 }),
    );
    const text = await registry.metrics();
    registration.unregister();
    expect(sample(text, 'c_breaker_state', 'namespace="n",state="closed"')).toBe(0);
    expect(sample(text, 'c_breaker_state', 'namespace="n",state="open"')).toBe(0);
    expect(sample(text, 'c_breaker_state', 'namespace="n",state="half-open"')).toBe(1);
    expect(sample(text, 'c_breaker_opens_total', 'namespace="n"')).toBe(3);
  });

  it('exports bus metrics only for a cache that has a bus, and flush seconds in seconds', async () => {
    const prom = await loadPromClient();
    const registry = new Registry();
    const a = registerCacheMetrics(prom, registry, 'c_', () =>
      snapshot('with-bus', {
        flushDurationMsTotal: 1500,
        bus: {
          connected: true,
          published: 2,
          received: 1,
          ignored: 0,
          publishErrors: 0,
          resubscribes: 0,
          lagMsTotal: 40,
        },
      }),
    );
    const b = registerCacheMetrics(prom, registry, 'c_', () => snapshot('no-bus'));
    const text = await registry.metrics();
    a.unregister();
    b.unregister();
    expect(sample(text, 'c_invalidation_bus_connected', 'namespace="with-bus"')).toBe(1);
    expect(
      sample(text, 'c_invalidation_messages_total', 'namespace="with-bus",direction="published"'),
    ).toBe(2);
    expect(text).not.toContain('c_invalidation_bus_connected{namespace="no-bus"}');
    expect(sample(text, 'c_write_behind_flush_seconds_total', 'namespace="with-bus"')).toBe(1.5);
    expect(sample(text, 'c_invalidation_lag_seconds_total', 'namespace="with-bus"')).toBe(0.04);
    expect(sample(text, 'c_write_behind_flush_seconds_total', 'namespace="no-bus"')).toBe(0);
  });

  it('exports the distributed single-flight counters, the wait in seconds', async () => {
    const prom = await loadPromClient();
    const registry = new Registry();
    const source = registerCacheMetrics(prom, registry, 'c_', () =>
      snapshot('locks', {
        lockAcquired: 4,
        lockWaits: 9,
        lockWaitMsTotal: 2_250,
        lockFallbacks: 1,
      }),
    );
    const text = await registry.metrics();
    source.unregister();
    expect(sample(text, 'c_lock_acquired_total', 'namespace="locks"')).toBe(4);
    expect(sample(text, 'c_lock_waits_total', 'namespace="locks"')).toBe(9);
    expect(sample(text, 'c_lock_wait_seconds_total', 'namespace="locks"')).toBe(2.25);
    expect(sample(text, 'c_lock_fallbacks_total', 'namespace="locks"')).toBe(1);
  });

  it('exports the replica confirmation counters, the wait in seconds', async () => {
    const prom = await loadPromClient();
    const registry = new Registry();
    const source = registerCacheMetrics(prom, registry, 'c_', () =>
      snapshot('durable', {
        replicaConfirmedBatches: 40,
        replicaTimeouts: 3,
        replicaWaitMsTotal: 1_600,
      }),
    );
    const text = await registry.metrics();
    source.unregister();
    expect(sample(text, 'c_replica_confirmed_batches_total', 'namespace="durable"')).toBe(40);
    expect(sample(text, 'c_replica_timeouts_total', 'namespace="durable"')).toBe(3);
    expect(sample(text, 'c_replica_wait_seconds_total', 'namespace="durable"')).toBe(1.6);
  });

  it('exports the hot keys as one labelled series each', async () => {
    const prom = await loadPromClient();
    const registry = new Registry();
    const source = registerCacheMetrics(prom, registry, 'c_', () =>
      snapshot('hot', {
        hotKeys: [
          { key: 'product:1', reads: 900 },
          { key: 'product:2', reads: 40 },
        ],
      }),
    );
    const text = await registry.metrics();
    source.unregister();
    expect(sample(text, 'c_hot_key_reads', 'namespace="hot",key="product:1"')).toBe(900);
    expect(sample(text, 'c_hot_key_reads', 'namespace="hot",key="product:2"')).toBe(40);
  });

  it('shares one set of metrics between caches of one registry, one namespace label each', async () => {
    const prom = await loadPromClient();
    const registry = new Registry();
    const a = registerCacheMetrics(prom, registry, 'c_', () => snapshot('a', { sets: 1 }));
    const b = registerCacheMetrics(prom, registry, 'c_', () => snapshot('b', { sets: 2 }));
    const text = await registry.metrics();
    expect(sample(text, 'c_sets_total', 'namespace="a"')).toBe(1);
    expect(sample(text, 'c_sets_total', 'namespace="b"')).toBe(2);
    a.unregister();
    expect(await registry.metrics()).not.toContain('namespace="a"');
    b.unregister();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });

  it('names every metric once, counters ending in _total', () => {
    const names = CACHE_METRIC_SPECS.map((spec) => spec.name);
    expect(new Set(names).size).toBe(names.length);
    for (const spec of CACHE_METRIC_SPECS) {
      expect(spec.name.endsWith('_total')).toBe(spec.type === 'counter');
    }
  });

  it('refuses a registry that already has a metric of the same name, naming the prefix option', async () => {
    const prom = await loadPromClient();
    const registry = new Registry();
    new prom.Gauge({ name: 'x_misses_total', help: 'someone else', registers: [registry] });
    expect(() => registerCacheMetrics(prom, registry, 'x_', () => snapshot('n'))).toThrow(
      CacheOptionsError,
    );
    // Nothing of ours is left behind after the refusal.
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['x_misses_total']);
  });
});

describe('loadPromClient()', () => {
  it('loads prom-client with its classes', async () => {
    const prom = await loadPromClient();
    expect(typeof prom.Counter).toBe('function');
    expect(typeof prom.register.metrics).toBe('function');
  });

  it('throws CacheOptionalDependencyError naming the package and the install command when it is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package 'prom-client'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const attempt = loadPromClient(() => Promise.reject(missing));
    await expect(attempt).rejects.toThrow(CacheOptionalDependencyError);
    await expect(attempt).rejects.toThrow(/npm install prom-client/);
    await expect(attempt).rejects.toMatchObject({ packageName: 'prom-client', cause: missing });
  });
});

describe('resolveMetricsOptions()', () => {
  it('applies the defaults', () => {
    expect(resolveMetricsOptions({})).toEqual({
      prometheus: true,
      registry: undefined,
      prefix: 'distributed_cache_',
      hotKeySeries: 10,
    });
  });

  it('refuses a prefix Prometheus would refuse, naming the option', () => {
    expect(() => resolveMetricsOptions({ prefix: 'my-cache' })).toThrow(
      expect.objectContaining({ option: 'metrics.prefix' }),
    );
  });

  it('refuses a registry that is not a prom-client registry', () => {
    expect(() => resolveMetricsOptions({ registry: {} as never })).toThrow(
      expect.objectContaining({ option: 'metrics.registry' }),
    );
  });
});
