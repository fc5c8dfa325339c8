import type { CacheStatsSnapshot } from '../../../lib/events/cache-stats.js';
import { deriveCacheMetrics } from '../../../lib/metrics/cache-metrics.js';

function stats(overrides: Partial<CacheStatsSnapshot> = {}): CacheStatsSnapshot {
  return {
    l1Hits: 0,
    l2Hits: 0,
    misses: 0,
    sets: 0,
    deletes: 0,
    pending: 0,
    flushed: 0,
    batches: 0,
    flushDurationMsTotal: 0,
    retries: 0,
    dropped: 0,
    l2Errors: 0,
    l1Size: 0,
    breaker: 'closed',
    breakerOpens: 0,
    hitRatio: 0,
    lockAcquired: 0,
    lockWaits: 0,
    lockWaitMsTotal: 0,
    lockFallbacks: 0,
    replicaConfirmedBatches: 0,
    replicaTimeouts: 0,
    replicaWaitMsTotal: 0,
    l2Reads: 0,
    l2ReadMsTotal: 0,
    hotKeys: () => [],
    ...overrides,
  };
}

describe('deriveCacheMetrics()', () => {
  it('computes per-tier hits and ratios from the counters', () => {
    const m = deriveCacheMetrics(stats({ l1Hits: 6, l2Hits: 2, misses: 2 }), {
      namespace: 'shop',
      maxPending: 100,
    });
    expect(m).toMatchObject({
      namespace: 'shop',
      hits: 8,
      reads: 10,
      hitRatio: 0.8,
      l1HitRatio: 0.6,
      l2HitRatio: 0.2,
    });
  });

  it('reports ratios of 0 before the first read', () => {
    const m = deriveCacheMetrics(stats(), { namespace: 'n', maxPending: 10 });
    expect([m.hitRatio, m.l1HitRatio, m.l2HitRatio, m.queueUtilization]).toEqual([0, 0, 0, 0]);
  });

  it('reports queue depth against maxPending, capped at 1', () => {
    expect(
      deriveCacheMetrics(stats({ pending: 25 }), { namespace: 'n', maxPending: 100 }),
    ).toMatchObject({
      pending: 25,
      maxPending: 100,
      queueUtilization: 0.25,
    });
    expect(
      deriveCacheMetrics(stats({ pending: 150 }), { namespace: 'n', maxPending: 100 })
        .queueUtilization,
    ).toBe(1);
  });

  it('passes write-behind, error and breaker counters through', () => {
    const m = deriveCacheMetrics(
      stats({
        sets: 5,
        deletes: 1,
        flushed: 4,
        batches: 2,
        retries: 3,
        dropped: 1,
        l2Errors: 7,
        l1Size: 9,
        breaker: 'open',
        breakerOpens: 2,
      }),
      { namespace: 'n', maxPending: 10 },
    );
    expect(m).toMatchObject({
      sets: 5,
      deletes: 1,
      flushed: 4,
      batches: 2,
      retries: 3,
      dropped: 1,
      l2Errors: 7,
      l1Entries: 9,
      breaker: 'open',
      breakerOpens: 2,
    });
  });

  it('passes the flush latency total through', () => {
    expect(
      deriveCacheMetrics(stats({ flushDurationMsTotal: 42 }), { namespace: 'n', maxPending: 1 })
        .flushDurationMsTotal,
    ).toBe(42);
  });

  it('reports the bus as null when invalidation is off, and its counters otherwise', () => {
    expect(deriveCacheMetrics(stats(), { namespace: 'n', maxPending: 1 }).bus).toBeNull();
    const bus = {
      connected: true,
      stats: {
        published: 3,
        received: 2,
        ignored: 1,
        publishErrors: 0,
        resubscribes: 1,
        lagMsTotal: 9,
      },
    };
    expect(deriveCacheMetrics(stats(), { namespace: 'n', maxPending: 1, bus }).bus).toEqual({
      connected: true,
      published: 3,
      received: 2,
      ignored: 1,
      publishErrors: 0,
      resubscribes: 1,
      lagMsTotal: 9,
    });
  });
});
