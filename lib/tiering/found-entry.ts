import type { CacheTier } from '../events/cache-event.js';
import type { CacheTraceContext } from '../tracing/cache-channels.js';

/**
 * What L1 holds when it does not hold the bare value (one `instanceof` on the hot L1 hit tells
 * the two forms below from a plain value).
 */
export abstract class WrappedValue {}

/**
 * What L1 holds for an entry set with `staleWhileRevalidate` or `grace`: the entry outlives its
 * TTL (to be served stale), so L1 must know when it stops being fresh. Plain entries are held as
 * bare values, which keeps the common L1 hit free of any wrapper.
 */
export class StaleableValue extends WrappedValue {
  constructor(
    readonly value: unknown,
    /** Epoch ms until which the value is fresh. */
    readonly freshUntil: number,
  ) {
    super();
  }
}

/**
 * What L1 holds for a value this instance wrote, until its first read here: the serialized value,
 * the very payload the write-behind queue holds. A pending write thus costs one copy of its value,
 * not two (the caller's object is not kept), and what this instance reads back is what L2 and the
 * other instances get. The first read decodes it once, as an L2 hit would, and L1 holds the
 * decoded value from then on.
 */
export class EncodedValue extends WrappedValue {
  constructor(
    readonly payload: string | Buffer,
    /** End of the TTL proper, when the entry keeps a stale window past it. */
    readonly freshUntil: number | undefined,
  ) {
    super();
  }
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
