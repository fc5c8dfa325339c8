import { type DynamicModule, Module } from '@nestjs/common';
import { HTTP_CACHE_OPTIONS, type HttpCacheOptions } from './http-cache-options.interface.js';
import { resolveHttpCacheOptions } from './http-cache-options.resolver.js';

/**
 * Defaults for `CacheInterceptor` (TTL, `vary` headers, key prefix). Optional: without it the
 * interceptor uses the cache's TTL, no `vary` headers and the `http:` prefix.
 *
 * @example
 * @Module({
 *   imports: [
 *     DistributedCacheModule.forRoot({ isGlobal: true }),
 *     DistributedCacheHttpModule.forRoot({ isGlobal: true, ttl: '30s', vary: ['accept-language'] }),
 *   ],
 *   providers: [{ provide: APP_INTERCEPTOR, useClass: CacheInterceptor }],
 * })
 * export class AppModule {}
 */
@Module({})
export class DistributedCacheHttpModule {
  /** @throws CacheOptionsError when an option is invalid (at once, naming the option). */
  static forRoot(options: HttpCacheOptions = {}): DynamicModule {
    resolveHttpCacheOptions(options);
    return {
      module: DistributedCacheHttpModule,
      global: options.isGlobal ?? false,
      // NOTE: CacheInterceptor is not provided here: Nest creates an interceptor in the module
      // that binds it (APP_INTERCEPTOR, @UseInterceptors), where CacheService is injectable.
      providers: [{ provide: HTTP_CACHE_OPTIONS, useValue: options }],
      exports: [HTTP_CACHE_OPTIONS],
    };
  }
}
