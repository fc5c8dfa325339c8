// nestjs-distributed-cache/stores: the L2 stores behind `l2: { type }`, the serializer, and what a
// custom store (`l2: { type: 'custom', store }`) implements and may throw.
export { L2_STORE } from '../cache.constants.js';
export type {
  L2Ensured,
  L2EnsureRequest,
  L2Read,
  L2Store,
  L2Write,
} from '../contracts/l2-store.interface.js';
export {
  CacheBatchError,
  CacheShardUnavailableError,
  CacheUnsendableWriteError,
} from '../errors/l2.errors.js';
export { MemoryStore } from '../l2/memory/memory.store.js';
export type { MemoryStoreOptions } from '../l2/memory/memory.store.js';
export { RedisStore } from '../l2/redis/redis.store.js';
export type { RedisStoreOptions } from '../l2/redis/redis-store.options.js';
export { TwemproxyStore } from '../l2/twemproxy/twemproxy.store.js';
export { ClusterStore } from '../l2/cluster/cluster.store.js';
export { SentinelStore } from '../l2/sentinel/sentinel.store.js';
export { JsonSerializer } from '../serialization/json.serializer.js';
