import { fail, flag, integer, nonEmptyString } from '../options/option-checks.js';

/**
 * Options of `DistributedCacheHealthModule.forRoot()`.
 *
 * @example
 * DistributedCacheHealthModule.forRoot({ downAfterMs: 15_000, probeIntervalMs: 3_000 })
 */
export interface CacheHealthModuleOptions {
  /**
   * How long, in milliseconds, L2 must stay unreachable (every probe failing) before the
   * indicator reports "down". One slow or failed call never does.
   * @default 10_000
   */
  downAfterMs?: number;
  /**
   * Milliseconds between two L2 probes (a real key round trip, never PING). Probes run in the
   * background, so a health request answers at once even while Redis hangs.
   * @default 2_000
   */
  probeIntervalMs?: number;
  /**
   * A probe that takes longer than this many milliseconds fails.
   * @default 1_000
   */
  probeTimeoutMs?: number;
  /**
   * Report "down" when the write-behind queue has stayed at or above this fraction of
   * `writeBehind.maxPending` for `downAfterMs` (at 1 the queue is full: writes are dropped or
   * rejected). `false`: the queue never makes the cache "down".
   * @default 1
   */
  maxQueueUtilization?: number | false;
  /**
   * Report "down" when the invalidation bus has been disconnected for `downAfterMs`. Off by
   * default: without the bus, other instances' changes still reach this one within `l1.ttl`.
   * @default false
   */
  requireBus?: boolean;
  /** Make `DistributedCacheHealthIndicator` injectable everywhere. @default false */
  isGlobal?: boolean;
  /**
   * The cache to watch: the `name` of a `DistributedCacheModule.forRoot({ name })`
   * registration. Register the module once per cache (in separate modules, each with its own
   * health check) to watch several.
   * @default the default (unnamed) cache
   * @example 'sessions'
   */
  cache?: string;
}

/** Options after validation and defaults. Internal. */
export interface ResolvedCacheHealthOptions {
  /** `undefined`: the default cache. */
  readonly cache: string | undefined;
  readonly downAfterMs: number;
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  readonly maxQueueUtilization: number | false;
  readonly requireBus: boolean;
}

/** Injection token of the health module's validated options. Internal. */
export const CACHE_HEALTH_OPTIONS = Symbol('distributed-cache:health-options');

/**
 * Validates the options and applies the defaults. Internal.
 * @throws CacheOptionsError naming the option.
 */
export function resolveHealthOptions(
  options: CacheHealthModuleOptions,
): ResolvedCacheHealthOptions {
  const ms = (
    name: 'downAfterMs' | 'probeIntervalMs' | 'probeTimeoutMs',
    fallback: number,
    min: number,
  ) => integer(options[name], `health.${name}`, min, fallback);
  const ratio = options.maxQueueUtilization ?? 1;
  if (ratio !== false && (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1))) {
    fail('health.maxQueueUtilization', 'a number in (0, 1] or false', ratio);
  }
  if (options.cache !== undefined) nonEmptyString(options.cache, 'health.cache');
  return {
    cache: options.cache,
    downAfterMs: ms('downAfterMs', 10_000, 0),
    probeIntervalMs: ms('probeIntervalMs', 2_000, 10),
    probeTimeoutMs: ms('probeTimeoutMs', 1_000, 1),
    maxQueueUtilization: ratio,
    requireBus: flag(options.requireBus, 'health.requireBus', false),
  };
}
