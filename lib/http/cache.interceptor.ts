import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
  Optional,
  StreamableFile,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, of, tap } from 'rxjs';
import { LOGGER_CONTEXT } from '../cache.constants.js';
import { CacheService } from '../cache.service.js';
import type { Duration } from '../options/duration.js';
import { httpCacheKey, normaliseHeaderNames, normaliseUrl } from './http-cache-key.js';
import {
  CACHE_ROUTE_METADATA,
  type CacheRouteOptions,
  HTTP_CACHE_OPTIONS,
  type HttpCacheOptions,
  PRIVATE_REQUEST_HEADERS,
  type ResolvedHttpCacheOptions,
  X_CACHE_HEADER,
} from './http-cache-options.interface.js';
import { resolveHttpCacheOptions } from './http-cache-options.resolver.js';
import {
  appendVary,
  getResponseHeader,
  type HttpRequestLike,
  requestHeaders,
  requestUrl,
  responseStatus,
  setResponseHeader,
} from './http-exchange.js';

/**
 * Caches GET responses in the two-tier cache, on Express and Fastify alike.
 *
 * - Key: the normalised URL with its query parameters sorted (`/p?b=2&a=1` = `/p?a=1&b=2`), plus
 *   a hash of the `vary` headers' values when present.
 * - Never caches (or serves from cache) a request carrying `Authorization`, `Cookie` or
 *   `Proxy-Authorization`, unless the route opts in with `@CacheRoute({ allowAuthorized: true })`.
 * - Never stores a response marked `Cache-Control: no-store` or `private`, one that sets a cookie,
 *   a `Vary: *` one, a non-2xx one, a `StreamableFile`, or `undefined`.
 * - Sets `X-Cache: HIT` or `MISS` on every GET it handles, and lists the `vary` headers in `Vary`.
 *
 * Only the handler's return value is cached (as with `@nestjs/cache-manager`): headers set by
 * `@Header()` are applied again on a hit; headers set by hand on the response are not. A route
 * that writes to the response itself (`@Res()`) must not use it.
 *
 * @example
 * @Controller('products')
 * @UseInterceptors(CacheInterceptor)
 * export class ProductsController {
 *   @Get(':id')
 *   @CacheRoute({ ttl: '1m' })
 *   findOne(@Param('id') id: string) { ... }
 * }
 *
 * @example
 * providers: [{ provide: APP_INTERCEPTOR, useClass: CacheInterceptor }]   // every GET route
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private readonly defaults: ResolvedHttpCacheOptions;
  /** Routes already warned about, so a bad route logs once, not on every request. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly cache: CacheService,
    private readonly reflector: Reflector,
    @Optional() @Inject(HTTP_CACHE_OPTIONS) options?: HttpCacheOptions,
  ) {
    this.defaults = resolveHttpCacheOptions(options);
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const route = this.reflector.getAllAndOverride<CacheRouteOptions | false | undefined>(
      CACHE_ROUTE_METADATA,
      [context.getHandler(), context.getClass()],
    );
    if (route === false) return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequestLike>();
    const response: unknown = http.getResponse();
    if (request.method !== 'GET') return next.handle();

    const headers = requestHeaders(request);
    const allowAuthorized = route?.allowAuthorized ?? this.defaults.allowAuthorized;
    if (!allowAuthorized && PRIVATE_REQUEST_HEADERS.some((name) => headers[name] !== undefined)) {
      setResponseHeader(response, X_CACHE_HEADER, 'MISS');
      return next.handle();
    }

    const vary = route?.vary !== undefined ? normaliseHeaderNames(route.vary) : this.defaults.vary;
    const url = normaliseUrl(requestUrl(request));
    const key = httpCacheKey(this.defaults.keyPrefix, url, headers, vary);
    appendVary(response, vary);

    let cached: unknown;
    try {
      cached = await this.cache.get(key);
    } catch (error: unknown) {
      // Only a key the cache refuses gets here (L2 trouble is a miss): serve uncached.
      this.warnOnce(context, `cannot be cached: ${describe(error)}`);
      setResponseHeader(response, X_CACHE_HEADER, 'MISS');
      return next.handle();
    }
    if (cached !== undefined) {
      setResponseHeader(response, X_CACHE_HEADER, 'HIT');
      return of(cached);
    }
    setResponseHeader(response, X_CACHE_HEADER, 'MISS');
    const ttl = route?.ttl ?? this.defaults.ttl;
    const tags = route?.tags;
    return next.handle().pipe(
      tap((body) => {
        if (!this.storable(body, response)) return;
        let tagList: readonly string[] | undefined;
        try {
          tagList =
            typeof tags === 'function' ? tags({ path: url.path, query: url.query, headers }) : tags;
        } catch (error: unknown) {
          // A failing tags function must not fail the response: it is only not cached.
          this.warnOnce(context, `response not cached: tags function threw: ${describe(error)}`);
          return;
        }
        this.store(context, key, body, ttl, tagList);
      }),
    );
  }

  private storable(body: unknown, response: unknown): boolean {
    if (body === undefined || body instanceof StreamableFile) return false;
    const status = responseStatus(response);
    if (status !== undefined && (status < 200 || status >= 300)) return false;
    const cacheControl = getResponseHeader(response, 'cache-control').toLowerCase();
    if (/\b(no-store|private)\b/.test(cacheControl)) return false;
    if (getResponseHeader(response, 'set-cookie') !== '') return false;
    return getResponseHeader(response, 'vary').trim() !== '*';
  }

  private store(
    context: ExecutionContext,
    key: string,
    body: unknown,
    ttl: Duration | undefined,
    tags: readonly string[] | undefined,
  ): void {
    const options = {
      ...(ttl !== undefined ? { ttl } : {}),
      ...(tags !== undefined ? { tags } : {}),
    };
    let value: unknown;
    try {
      value = asSent(body);
    } catch (error: unknown) {
      // toJSON() threw, or the body is circular: the platform will fail to send it anyway.
      this.warnOnce(context, `response not cached: ${describe(error)}`);
      return;
    }
    // NOTE: not awaited: the response goes out now; with write-behind the L2 write is queued
    // anyway, and a value the cache refuses (unserializable, too large) only costs the next hit.
    this.cache.set(key, value, options).catch((error: unknown) => {
      this.warnOnce(context, `response not cached: ${describe(error)}`);
    });
  }

  private warnOnce(context: ExecutionContext, message: string): void {
    const route = `${context.getClass().name}.${context.getHandler().name}`;
    if (this.warned.has(route)) return;
    this.warned.add(route);
    this.logger.warn(`CacheInterceptor on ${route}: ${message} (logged once per route)`);
  }
}

/**
 * The body as the client receives it: an object or array goes out as JSON on both platforms, so
 * it is cached in its JSON form (`toJSON()` applied, dates as strings, null-prototype objects
 * such as Fastify's parsed query made plain). A hit then sends exactly what the miss sent.
 * Strings, numbers, booleans, null and buffers are cached as they are.
 */
function asSent(body: unknown): unknown {
  if (
    typeof body !== 'object' ||
    body === null ||
    Buffer.isBuffer(body) ||
    body instanceof Uint8Array
  ) {
    return body;
  }
  return JSON.parse(JSON.stringify(body)) as unknown;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
