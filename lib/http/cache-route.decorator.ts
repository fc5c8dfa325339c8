import { SetMetadata } from '@nestjs/common';
import { CacheOptionsError } from '../errors/cache.errors.js';
import { parseDuration } from '../options/duration.js';
import { CACHE_ROUTE_METADATA, type CacheRouteOptions } from './http-cache-options.interface.js';

const KNOWN = new Set(['ttl', 'vary', 'allowAuthorized', 'tags']);

/**
 * Tunes how `CacheInterceptor` caches a GET route (on a method) or every route of a controller (on
 * the class; a method's own `@CacheRoute` wins). `@CacheRoute(false)` opts the route out.
 *
 * Only records metadata: the interceptor must be bound (`@UseInterceptors(CacheInterceptor)`, or
 * globally with `APP_INTERCEPTOR`).
 *
 * @example
 * @Get('products/:id')
 * @UseInterceptors(CacheInterceptor)
 * @CacheRoute({ ttl: '1m', vary: ['accept-language'] })
 * findOne(@Param('id') id: string) { ... }
 *
 * @example
 * @Get('me')
 * @CacheRoute(false)   // never cached, even with a global CacheInterceptor
 * me() { ... }
 *
 * @throws CacheOptionsError at class definition when an option is unknown or of the wrong type.
 */
export function CacheRoute(
  options: CacheRouteOptions | false = {},
): ClassDecorator & MethodDecorator {
  if (options !== false) validateRouteOptions(options);
  return SetMetadata(CACHE_ROUTE_METADATA, options === false ? false : { ...options });
}

function validateRouteOptions(options: CacheRouteOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new CacheOptionsError('@CacheRoute', '@CacheRoute takes an options object or false');
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) {
      throw new CacheOptionsError(`@CacheRoute.${name}`, `@CacheRoute: unknown option '${name}'`);
    }
  }
  const { vary, allowAuthorized, tags, ttl } = options;
  if (
    vary !== undefined &&
    (!Array.isArray(vary) || !vary.every((h) => typeof h === 'string' && h !== ''))
  ) {
    throw new CacheOptionsError(
      '@CacheRoute.vary',
      `@CacheRoute: 'vary' must be an array of header names`,
    );
  }
  if (allowAuthorized !== undefined && typeof allowAuthorized !== 'boolean') {
    throw new CacheOptionsError(
      '@CacheRoute.allowAuthorized',
      `@CacheRoute: 'allowAuthorized' must be a boolean`,
    );
  }
  if (tags !== undefined && typeof tags !== 'function' && !Array.isArray(tags)) {
    throw new CacheOptionsError(
      '@CacheRoute.tags',
      `@CacheRoute: 'tags' must be an array of strings or a function`,
    );
  }
  if (ttl !== undefined) parseDuration(ttl, '@CacheRoute.ttl');
}
