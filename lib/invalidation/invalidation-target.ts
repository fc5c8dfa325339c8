import type { Observable } from 'rxjs';

/** What changed in L2 by one instance, once it landed: what the invalidation bus announces. */
export interface LandedChange {
  /** Caller keys written or deleted. */
  readonly keys: readonly string[];
  /** Tags invalidated, with their new tokens. */
  readonly tags?: Readonly<Record<string, string>>;
  /** New namespace token after `clear()`. */
  readonly clear?: string;
}

/**
 * What the invalidation bus needs of a cache: the changes to announce, and where to apply those
 * of other instances. The cache implements it; the bus never sees more of it.
 */
export interface InvalidationTarget {
  /** This instance's changes, as they land in L2. */
  readonly landed$: Observable<LandedChange>;
  /** Another instance's change: drop what it invalidated from L1. */
  applyRemoteChange(change: LandedChange): void;
  /** Messages may have been lost (the subscription came back): drop all of L1. */
  dropLocal(): void;
}
