// nestjs-distributed-cache/health: a @nestjs/terminus indicator that imports nothing from
// terminus (an optional peer).
export { DistributedCacheHealthModule } from './health.module.js';
export { DistributedCacheHealthIndicator } from './cache-health.indicator.js';
export type { CacheHealthIndicatorResult } from './cache-health.indicator.js';
export type { CacheHealthReport } from './cache-health.monitor.js';
export type { CacheHealthModuleOptions } from './health-options.interface.js';
