// Public API: explicit named exports only.
export { DistributedCacheModule } from './cache.module.js';
export { CacheService } from './cache.service.js';
export { L2_STORE } from './cache.constants.js';
export type {
  ClusterL2Options,
  CustomL2Options,
  DistributedCacheModuleOptions,
  InvalidationOptions,
  L1Options,
  L2Options,
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
export { CacheError } from './errors/cache.error.js';
export { CacheOptionsError } from './errors/cache-options.error.js';
export { CacheSerializationError } from './errors/cache-serialization.error.js';
export { CacheOverflowError } from './errors/cache-overflow.error.js';
export { CacheL2Error, CacheL2TimeoutError } from './errors/cache-l2.error.js';
export { CacheBatchError } from './errors/cache-batch.error.js';
export { CacheFlushTimeoutError } from './errors/cache-flush-timeout.error.js';
export { CacheKeyError } from './errors/cache-key.error.js';
export { CacheCorruptEntryError } from './errors/cache-corrupt-entry.error.js';
export { MemoryStore } from './l2/memory.store.js';
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
export { CacheDecoratorError } from './errors/cache-decorator.error.js';
export { CacheBindingError } from './errors/cache-binding.error.js';
