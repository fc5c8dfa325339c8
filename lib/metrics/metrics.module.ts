import { type DynamicModule, Module } from '@nestjs/common';
import { fail, flag, nonEmptyString } from '../options/option-checks.js';
import { CacheMetricsService } from './cache-metrics.service.js';
import {
  CACHE_METRICS_OPTIONS,
  type CacheMetricsModuleOptions,
  type ResolvedCacheMetricsOptions,
} from './metrics-options.interface.js';
import { PrometheusCacheExporter } from './prometheus.exporter.js';

const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Cache metrics: `CacheMetricsService` (derived counters, no extra package) and, unless
 * `prometheus: false`, `PrometheusCacheExporter`, which registers them in a prom-client registry
 * (prom-client is an optional peer dependency, loaded only here). Import it next to
 * `DistributedCacheModule` in the same application.
 *
 * @example
 * @Module({
 *   imports: [
 *     DistributedCacheModule.forRoot({ isGlobal: true, namespace: 'shop' }),
 *     DistributedCacheMetricsModule.forRoot(),
 *   ],
 *   controllers: [MetricsController],
 * })
 * export class AppModule {}
 */
@Module({})
export class DistributedCacheMetricsModule {
  /**
   * @throws CacheOptionsError when an option is invalid (at once, naming the option).
   */
  static forRoot(options: CacheMetricsModuleOptions = {}): DynamicModule {
    return {
      module: DistributedCacheMetricsModule,
      global: options.isGlobal ?? false,
      providers: [
        { provide: CACHE_METRICS_OPTIONS, useValue: resolveMetricsOptions(options) },
        CacheMetricsService,
        PrometheusCacheExporter,
      ],
      exports: [CacheMetricsService, PrometheusCacheExporter],
    };
  }
}

/** Validates the options and applies the defaults. Internal. */
export function resolveMetricsOptions(
  options: CacheMetricsModuleOptions,
): ResolvedCacheMetricsOptions {
  const prefix = options.prefix ?? 'distributed_cache_';
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    fail('metrics.prefix', `a string matching ${METRIC_PREFIX.source}`, prefix);
  }
  const registry = options.registry;
  if (
    registry !== undefined &&
    (typeof registry !== 'object' ||
      registry === null ||
      typeof registry.getSingleMetric !== 'function' ||
      typeof registry.metrics !== 'function')
  ) {
    fail('metrics.registry', 'a prom-client Registry', typeof registry);
  }
  if (options.cache !== undefined) nonEmptyString(options.cache, 'metrics.cache');
  const hotKeySeries = options.hotKeySeries ?? 10;
  if (!Number.isInteger(hotKeySeries) || hotKeySeries < 0) {
    fail('metrics.hotKeySeries', 'a whole number >= 0', hotKeySeries);
  }
  return {
    hotKeySeries,
    cache: options.cache,
    prometheus: flag(options.prometheus, 'metrics.prometheus', true),
    registry,
    prefix,
  };
}
