import type { InjectionToken } from '@nestjs/common';
import { L2_STORE } from './cache.constants.js';
import { DISTRIBUTED_CACHE_MODULE_OPTIONS } from './cache.module-definition.js';
import { CacheService } from './cache.service.js';
import { assertCacheName } from './options/cache-name.js';

/**
 * The injection tokens of one cache registration: string tokens `distributed-cache:<name>:<role>`
 * (`default` for the unnamed cache, a name no registration may take), so two registrations never
 * share a provider and Nest's "cannot resolve" errors show which cache is meant. The default cache
 * keeps three public tokens: `CacheService` itself, the module builder's options token and
 * `L2_STORE`. Internal.
 */
export interface CacheTokens {
  /** `undefined` for the default cache. */
  readonly name: string | undefined;
  /** The `CacheService` (for the default cache, the class itself). */
  readonly service: InjectionToken;
  /** The options as given (forRoot) or as the async factory returned them. */
  readonly rawOptions: InjectionToken;
  /** `ResolvedCacheOptions`. */
  readonly options: InjectionToken;
  /** The `L2Store`. */
  readonly store: InjectionToken;
  /** The `TieredCache` behind the service. */
  readonly tieredCache: InjectionToken;
  /** The `InvalidationBus`, or `null`. */
  readonly bus: InjectionToken;
  /** The `CacheExplorer` that binds the decorated methods. */
  readonly explorer: InjectionToken;
  /** The `CacheLifecycle` (start-up, shutdown drain). */
  readonly lifecycle: InjectionToken;
}

const PREFIX = 'distributed-cache:';
const SERVICE_ROLE = 'CacheService';

const DEFAULT_NAME = 'default';

const DEFAULT_TOKENS: CacheTokens = {
  ...tokensOf(DEFAULT_NAME),
  name: undefined,
  service: CacheService,
  rawOptions: DISTRIBUTED_CACHE_MODULE_OPTIONS,
  store: L2_STORE,
};

/**
 * The tokens of the cache registered under `name` (`undefined`: the default cache). Internal.
 * @throws CacheOptionsError when `name` is not a valid cache name
 */
export function cacheTokens(name: string | undefined): CacheTokens {
  assertCacheName(name);
  return name === undefined ? DEFAULT_TOKENS : tokensOf(name);
}

function tokensOf(name: string): CacheTokens {
  const token = (role: string): string => namedCacheToken(name, role);
  return {
    name,
    service: token(SERVICE_ROLE),
    rawOptions: token('module-options'),
    options: token('resolved-options'),
    store: token('l2-store'),
    tieredCache: token('tiered-cache'),
    bus: token('invalidation-bus'),
    explorer: token('explorer'),
    lifecycle: token('lifecycle'),
  };
}

/**
 * `'distributed-cache:<name>:<role>'`: the token of one provider of a named cache registration
 * (its lifecycle, explorer, ... as well as the roles of {@link CacheTokens}). Internal.
 */
export function namedCacheToken(name: string, role: string): string {
  return `${PREFIX}${name}:${role}`;
}

/**
 * The injection token of a cache's `CacheService`: the `CacheService` class for the default
 * (unnamed) cache, `'distributed-cache:<name>:CacheService'` for `forRoot({ name })`. Use it
 * with `moduleRef.get()`, in a provider's `inject: [...]`, or to override a named cache in a test;
 * in a constructor, `@InjectCache(name)` says the same.
 *
 * @param name the `name` the cache was registered with; omit it for the default cache
 * @throws CacheOptionsError when `name` is not a valid cache name (empty, whitespace, `'default'`)
 * @example
 * const sessions = app.get<CacheService>(getCacheToken('sessions'));
 * @example
 * { provide: SessionStore, useFactory: (cache: CacheService) => new SessionStore(cache),
 *   inject: [getCacheToken('sessions')] }
 */
export function getCacheToken(name?: string): InjectionToken {
  return cacheTokens(name).service;
}

/**
 * The cache name a `CacheService` token stands for: `null` for the default cache's token,
 * the name for a named cache's token, `undefined` for any other token. Internal.
 */
export function cacheNameOfServiceToken(token: unknown): string | null | undefined {
  if (token === CacheService) return null;
  if (typeof token !== 'string' || !token.startsWith(PREFIX)) return undefined;
  const suffix = `:${SERVICE_ROLE}`;
  if (!token.endsWith(suffix)) return undefined;
  const name = token.slice(PREFIX.length, -suffix.length);
  return name.length > 0 && !name.includes(':') ? name : undefined;
}
