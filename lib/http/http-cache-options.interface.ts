import type { Duration } from '../options/duration.js';

/** What a `tags` function of {@link CacheRouteOptions} gets about the request. */
export interface HttpCacheRequestInfo {
  /** The normalised path, e.g. `/products/1`. */
  readonly path: string;
  /** The query string with its parameters sorted by name, without `?`, e.g. `a=1&b=2`. */
  readonly query: string;
  /** The request headers (names in lower case). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Options of `DistributedCacheHttpModule.forRoot()`: defaults for every route the
 * `CacheInterceptor` handles.
 *
 * @example
 * DistributedCacheHttpModule.forRoot({ isGlobal: true, ttl: '30s', vary: ['accept-language'] })
 */
export interface HttpCacheOptions {
  /**
   * How long a response stays cached: milliseconds or `'500ms' | '30s' | '5m' | '1h' | '1d'`.
   * @default the cache's `ttl`
   */
  ttl?: Duration;
  /**
   * Request headers whose values select different cached responses (as HTTP's `Vary`). Listed on
   * the response's `Vary` header too. Names are case-insensitive.
   * @default []
   * @example ['accept-language', 'accept']
   */
  vary?: readonly string[];
  /**
   * Cache responses to requests that carry `Authorization` or `Cookie` (or `Proxy-Authorization`).
   * Off by default: such responses are usually per-user, and one cached copy would serve everyone.
   * Turn it on only where the response is the same for every caller, or add the header to
   * `vary` (values are hashed in the key, never stored in clear).
   * @default false
   */
  allowAuthorized?: boolean;
  /**
   * Prefix of the cache keys of HTTP responses, inside the cache's namespace.
   * @default 'http:'
   */
  keyPrefix?: string;
  /**
   * Make these options visible to every module, so each `CacheInterceptor` (created in the module
   * that binds it) reads them. @default false
   */
  isGlobal?: boolean;
}

/**
 * Per-route options of `@CacheRoute()`; each overrides the module's default.
 *
 * @example
 * @CacheRoute({ ttl: '1m', vary: ['accept-language'], tags: ({ path }) => [`page:${path}`] })
 */
export interface CacheRouteOptions {
  /** @see HttpCacheOptions.ttl */
  ttl?: Duration;
  /** Replaces the module's `vary` list for this route. @see HttpCacheOptions.vary */
  vary?: readonly string[];
  /** @see HttpCacheOptions.allowAuthorized */
  allowAuthorized?: boolean;
  /**
   * Tags of the cached response, so `CacheService.invalidateTags()` can drop every variant of it.
   * @example ['products']
   * @example ({ path }) => [`http:${path}`]
   */
  tags?: readonly string[] | ((request: HttpCacheRequestInfo) => readonly string[]);
}

/** Injection token of the HTTP cache defaults (`HttpCacheOptions`). */
export const HTTP_CACHE_OPTIONS = Symbol('distributed-cache:http-options');

/** Metadata key of `@CacheRoute()`. Internal. */
export const CACHE_ROUTE_METADATA = 'distributed-cache:http-route';

/** Request headers that make a request private: never cached unless `allowAuthorized`. */
export const PRIVATE_REQUEST_HEADERS = ['authorization', 'cookie', 'proxy-authorization'] as const;

/** The response header that says whether the cache answered. */
export const X_CACHE_HEADER = 'X-Cache';

/** Options after validation and defaults. Internal. */
export interface ResolvedHttpCacheOptions {
  readonly ttl: Duration | undefined;
  /** Lower-cased, sorted. */
  readonly vary: readonly string[];
  readonly allowAuthorized: boolean;
  readonly keyPrefix: string;
}
