// nestjs-distributed-cache/metrics: cache metrics and the optional Prometheus exporter
// (prom-client is an optional peer, imported only when PrometheusCacheExporter starts).
export { DistributedCacheMetricsModule } from './metrics.module.js';
export { CacheMetricsService } from './cache-metrics.service.js';
export { PrometheusCacheExporter } from './prometheus.exporter.js';
export type { PrometheusScrape } from './prometheus.exporter.js';
export { deriveCacheMetrics } from './cache-metrics.js';
export type {
  CacheBreakerState,
  CacheBusMetrics,
  CacheMetricsContext,
  CacheMetricsSnapshot,
} from './cache-metrics.js';
export type { CacheMetricsModuleOptions, PrometheusRegistry } from './metrics-options.interface.js';
