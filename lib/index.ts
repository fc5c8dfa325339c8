// Public API: explicit named exports only.
export { DistributedCacheModule } from './cache.module.js';
export { CacheService } from './cache.service.js';
export { L2_STORE } from './cache.constants.js';
// Named caches: forRoot({ name }) next to the default cache.
export { InjectCache } from './decorators/inject-cache.decorator.js';
export { getCacheToken } from './cache.tokens.js';
export { getCacheInspectorToken } from './testing/inspector-token.js';
export type { DistributedCacheRegistrationExtras } from './cache.module-definition.js';
// Testing: DistributedCacheModule.forTest() and what it provides.
export { CacheInspector } from './testing/cache-inspector.js';
export type { InspectOptions, StoredCacheEntry } from './testing/cache-inspector.js';
export type { DistributedCacheTestingOptions } from './testing/testing-options.interface.js';
export type {
  ClusterL2Options,
  CustomL2Options,
  DistributedCacheModuleOptions,
  InvalidationOptions,
  L1Options,
  L2Options,
  CircuitBreakerOptions,
  MemoryL2Options,
  RedisL2Options,
  RedisNode,
  SentinelL2Options,
  TwemproxyL2Options,
  WriteBehindOptions,
} from './options/cache-options.interface.js';
export type { Duration, DurationString } from './options/duration.js';
export type { GetOrSetOptions, MsetEntry, SetOptions } from './tiering/tiered-cache.js';
export type { L2Store, L2Write } from './l2/l2-store.interface.js';
export type { CacheSerializer } from './serialization/serializer.interface.js';
export type { CacheEvent, CacheTier } from './events/cache-event.js';
export type { CacheStatsSnapshot } from './events/cache-stats.js';
export { CacheError } from './errors/cache.errors.js';
export { CacheOptionsError } from './errors/cache.errors.js';
export { CacheSerializationError } from './errors/cache.errors.js';
export { CacheOverflowError } from './errors/cache.errors.js';
export { CacheL2Error, CacheL2TimeoutError } from './errors/l2.errors.js';
export { CacheBatchError } from './errors/l2.errors.js';
export { CacheFlushTimeoutError } from './errors/cache.errors.js';
export { CacheKeyError } from './errors/cache.errors.js';
export { CacheCorruptEntryError } from './errors/cache.errors.js';
export { CacheCircuitOpenError } from './errors/l2.errors.js';
export { CacheValueTooLargeError } from './errors/cache.errors.js';
export { CacheUnsendableWriteError } from './errors/l2.errors.js';
export { CacheUnsupportedCommandError } from './errors/l2.errors.js';
export { CacheShardUnavailableError } from './errors/l2.errors.js';
export { CacheFailoverInProgressError } from './errors/l2.errors.js';
export { MemoryStore } from './l2/memory/memory.store.js';
export { RedisStore } from './l2/redis/redis.store.js';
export { TwemproxyStore } from './l2/twemproxy/twemproxy.store.js';
export { ClusterStore } from './l2/cluster/cluster.store.js';
export { SentinelStore } from './l2/sentinel/sentinel.store.js';
export { JsonSerializer } from './serialization/json.serializer.js';
export { Cacheable } from './decorators/cacheable.decorator.js';
export type { CacheableMethod } from './decorators/cacheable.decorator.js';
export { CacheEvict } from './decorators/cache-evict.decorator.js';
export { CachePut } from './decorators/cache-put.decorator.js';
export type {
  CacheableOptions,
  CacheEvictOptions,
  CacheKeyOption,
  CachePutOptions,
  CacheResultKeyOption,
  CacheTagsOption,
} from './decorators/cache-decorator-options.interface.js';
export { CacheDecoratorError } from './errors/cache.errors.js';
export { CacheBindingError } from './errors/cache.errors.js';
// Metrics: prom-client is an optional peer, imported only when PrometheusCacheExporter starts.
export { DistributedCacheMetricsModule } from './metrics/metrics.module.js';
export { CacheMetricsService } from './metrics/cache-metrics.service.js';
export { PrometheusCacheExporter } from './metrics/prometheus.exporter.js';
export type { PrometheusScrape } from './metrics/prometheus.exporter.js';
export { deriveCacheMetrics } from './metrics/cache-metrics.js';
export type {
  CacheBreakerState,
  CacheBusMetrics,
  CacheMetricsContext,
  CacheMetricsSnapshot,
} from './metrics/cache-metrics.js';
export type {
  CacheMetricsModuleOptions,
  PrometheusRegistry,
} from './metrics/metrics-options.interface.js';
// Health: a @nestjs/terminus indicator that imports nothing from terminus (optional peer).
export { DistributedCacheHealthModule } from './health/health.module.js';
export { DistributedCacheHealthIndicator } from './health/cache-health.indicator.js';
export type { CacheHealthIndicatorResult } from './health/cache-health.indicator.js';
export type { CacheHealthReport } from './health/cache-health.monitor.js';
export type { CacheHealthModuleOptions } from './health/health-options.interface.js';
// HTTP response caching (Express and Fastify).
export { CacheInterceptor } from './http/cache.interceptor.js';
export { CacheRoute } from './http/cache-route.decorator.js';
export { DistributedCacheHttpModule } from './http/http-cache.module.js';
export { HTTP_CACHE_OPTIONS } from './http/http-cache-options.interface.js';
export type {
  CacheRouteOptions,
  HttpCacheOptions,
  HttpCacheRequestInfo,
} from './http/http-cache-options.interface.js';
export { CacheOptionalDependencyError } from './errors/cache.errors.js';
export { CacheModuleMissingError } from './errors/cache.errors.js';
