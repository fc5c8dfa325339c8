import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { type CacheInternals, resolveCacheInternals } from './cache-internals.js';
import { type CacheMetricsSnapshot, deriveCacheMetrics } from './cache-metrics.js';
import {
  CACHE_METRICS_OPTIONS,
  type ResolvedCacheMetricsOptions,
} from './metrics-options.interface.js';

/**
 * The cache's counters with derived values (per-tier hit ratios, queue use, breaker and bus
 * state), for dashboards, logs and the Prometheus exporter. Provided by
 * `DistributedCacheMetricsModule`; needs no optional package.
 *
 * @example
 * constructor(private readonly metrics: CacheMetricsService) {}
 * report() { return this.metrics.snapshot().hitRatio; }
 */
@Injectable()
export class CacheMetricsService implements OnModuleInit {
  private internals: CacheInternals | undefined;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(CACHE_METRICS_OPTIONS) private readonly options: ResolvedCacheMetricsOptions,
  ) {}

  onModuleInit(): void {
    this.cache();
  }

  /**
   * A synchronous snapshot, computed from `CacheService.stats()` at the time of the call.
   * @throws CacheModuleMissingError when the application has no `DistributedCacheModule`.
   */
  snapshot(): CacheMetricsSnapshot {
    const { service, options, bus } = this.cache();
    return deriveCacheMetrics(service.stats(), {
      namespace: options.namespace,
      maxPending: options.writeBehind.maxPending,
      bus: bus === null ? null : { connected: bus.connected, stats: bus.stats },
      hotKeys: this.options.hotKeySeries,
    });
  }

  private cache(): CacheInternals {
    this.internals ??= resolveCacheInternals(
      this.moduleRef,
      'DistributedCacheMetricsModule',
      this.options.cache,
    );
    return this.internals;
  }
}
