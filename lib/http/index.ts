// nestjs-distributed-cache/http: HTTP response caching for Express and Fastify.
export { CacheInterceptor } from './cache.interceptor.js';
export { CacheRoute } from './cache-route.decorator.js';
export { DistributedCacheHttpModule } from './http-cache.module.js';
export { HTTP_CACHE_OPTIONS } from './http-cache-options.interface.js';
export type {
  CacheRouteOptions,
  HttpCacheOptions,
  HttpCacheRequestInfo,
} from './http-cache-options.interface.js';
