// nestjs-distributed-cache/testing: what DistributedCacheModule.forTest() provides.
export { CacheInspector } from './cache-inspector.js';
export type { InspectOptions, StoredCacheEntry } from './cache-inspector.js';
export { getCacheInspectorToken } from './inspector-token.js';
export type { DistributedCacheTestingOptions } from './testing-options.interface.js';
