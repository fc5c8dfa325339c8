/** Injection token of the validated options (`ResolvedCacheOptions`). Internal. */
export const RESOLVED_CACHE_OPTIONS = Symbol('distributed-cache:resolved-options');
/** Injection token of the `L2Store` in use. */
export const L2_STORE = Symbol('distributed-cache:l2-store');
/** Injection token of the `TieredCache` behind `CacheService`. Internal. */
export const TIERED_CACHE = Symbol('distributed-cache:tiered-cache');
/** Logger context of every line this library logs. */
export const LOGGER_CONTEXT = 'DistributedCache';
/** Injection token of the `InvalidationBus`, or `null` when invalidation is off. Internal. */
export const INVALIDATION_BUS = Symbol('distributed-cache:invalidation-bus');
/**
 * Injection token of a named cache registration's name. Only named registrations provide it;
 * `CacheLifecycle` and `CacheExplorer` inject it as optional, so the default cache's stay plain
 * class providers. Internal.
 */
export const CACHE_NAME = Symbol('distributed-cache:name');
