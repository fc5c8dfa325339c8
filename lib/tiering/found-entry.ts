import type { CacheTier } from '../events/cache-event.js';
import type { CacheTraceContext } from '../tracing/cache-channels.js';

/**
 * What L1 holds for an entry set with `staleWhileRevalidate` or `grace`: the entry outlives its
 * TTL (to be served stale), so L1 must know when it stops being fresh. Plain entries are held as
 * bare values, which keeps the common L1 hit free of any wrapper.
 */
export class StaleableValue {
  constructor(
    readonly value: unknown,
    /** Epoch ms until which the value is fresh. */
    readonly freshUntil: number,
  ) {}
}

/** An entry found by a lookup, fresh or stale. */
export interface FoundEntry {
  readonly value: unknown;
  /** Epoch ms until which the value is fresh (`Infinity` for an L1 entry that only expires). */
  readonly freshUntil: number;
  readonly tier: CacheTier;
  /** Bytes read from L2, for an L2 answer (tracing). */
  readonly size?: number;
}

/** Fills a tracing context with a read's outcome (`undefined`: a miss). */
export function traceFound(
  trace: CacheTraceContext,
  found: FoundEntry | undefined,
  stale = false,
): void {
  trace.hit = found !== undefined;
  trace.tier = found === undefined ? 'miss' : stale ? 'stale' : found.tier;
  if (found?.size !== undefined) trace.itemSize = found.size;
}
