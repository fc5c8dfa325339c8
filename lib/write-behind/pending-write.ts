import type { VersionStamp } from '../keys/version-keys.js';
import type { L2LockRef } from '../contracts/l2-store.interface.js';

/**
 * One write waiting for L2. `seq` orders every write and delete this instance made: a write
 * supersedes any queued or failed write of the same key with a lower `seq`.
 */
export type PendingWrite = PendingSet | PendingDelete;

export interface PendingSet {
  readonly kind: 'set';
  /** Full Redis key (namespace included). */
  readonly key: string;
  /**
   * What is stored. For an entry (it has a `stamp`): its value as the serializer made it in
   * `set()` (never the caller's object), framed into its envelope only when sent; L1 holds this
   * same copy until its first read, so a pending write costs one copy of its value. For a version
   * key (no `stamp`): its token, stored as is.
   */
  readonly payload: string | Buffer;
  /** Absolute expiry, epoch milliseconds (a whole number). */
  readonly expiresAt: number;
  /** End of an entry's TTL proper, when it keeps a stale window until `expiresAt`. */
  readonly freshUntil?: number;
  readonly seq: number;
  /**
   * The version tokens the entry was stamped with (none for the version keys themselves): the
   * write-behind queue makes sure they exist when the batch lands (see `BatchGuard`).
   */
  readonly stamp?: VersionStamp;
  /** The single-flight lock this write ends (see `L2Write.releases`). */
  readonly releases?: L2LockRef;
  /** Consecutive failures of this write alone (its shard was down), for its backoff. */
  failures?: number;
}

export interface PendingDelete {
  readonly kind: 'del';
  readonly key: string;
  readonly seq: number;
  failures?: number;
  /**
   * Undoes a write dropped for room while it was in flight (it may land anyway): not a caller's
   * delete, not counted as pending.
   */
  readonly revokes?: true;
}
