import { Inject } from '@nestjs/common';
import { getCacheToken } from '../cache.tokens.js';

/**
 * Injects the `CacheService` of a named cache (`DistributedCacheModule.forRoot({ name })`), or,
 * without a name, the default cache (the same as injecting `CacheService` by type). The module
 * of the class must be able to inject it: the registration is global (`isGlobal: true`) or
 * imported.
 *
 * @param name the `name` the cache was registered with; omit it for the default cache
 * @throws CacheOptionsError at class definition when `name` is not a valid cache name
 * @example
 * @Injectable()
 * export class SessionStore {
 *   constructor(@InjectCache('sessions') private readonly sessions: CacheService) {}
 * }
 */
export function InjectCache(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getCacheToken(name));
}
