// Public API of the package root: the module, the service, the decorators, their option types and
// the errors users act on. Metrics, health, HTTP, testing and the store classes are subpath exports
// (nestjs-distributed-cache/metrics, /health, /http, /testing, /stores), so the root pulls in
// neither prom-client nor terminus types.
export { DistributedCacheModule } from './cache.module.js';
export { CacheService } from './cache.service.js';
export { InjectCache } from './decorators/inject-cache.decorator.js';
export { getCacheToken } from './cache.tokens.js';
export { Cacheable } from './decorators/cacheable.decorator.js';
export { CacheEvict } from './decorators/cache-evict.decorator.js';
export { CachePut } from './decorators/cache-put.decorator.js';
export type {
  CacheableOptions,
  CacheEvictOptions,
  CachePutOptions,
} from './decorators/cache-decorator-options.interface.js';
export type {
  CircuitBreakerOptions,
  ClusterL2Options,
  CustomL2Options,
  DistributedCacheModuleOptions,
  InvalidationOptions,
  HotKeysOptions,
  L1Options,
  L2Options,
  LockOptions,
  MemoryL2Options,
  RedisL2Options,
  RedisNode,
  SentinelL2Options,
  TracingOptions,
  TwemproxyL2Options,
  WriteBehindOptions,
} from './options/cache-options.interface.js';
export type { Duration, DurationString } from './options/duration.js';
export type { GetOrSetOptions, MsetEntry, SetOptions } from './tiering/tiered-cache.js';
export type { CacheSerializer } from './serialization/serializer.interface.js';
export type { CacheEvent } from './events/cache-event.js';
export type { CacheStatsSnapshot } from './events/cache-stats.js';
export type { HotKey } from './events/hot-keys.js';
export { CACHE_TRACING_CHANNELS } from './tracing/cache-channels.js';
export type {
  CacheBatchTraceContext,
  CacheTraceContext,
  CacheL2ReadTraceContext,
  CacheTraceTier,
} from './tracing/cache-channels.js';
export {
  CacheCorruptEntryError,
  CacheDecoratorError,
  CacheError,
  CacheFlushTimeoutError,
  CacheKeyError,
  CacheOptionsError,
  CacheOverflowError,
  CacheSerializationError,
  CacheValueTooLargeError,
} from './errors/cache.errors.js';
export { CacheL2Error } from './errors/l2.errors.js';
export type { L2FailureReason } from './errors/l2.errors.js';
