import type { L2Ensured, L2EnsureRequest, L2Write } from '../contracts/l2-store.interface.js';
import type { PendingSet, PendingWrite } from './pending-write.js';

/**
 * What the write-behind queue sends through: the remote tier (timeouts, circuit breaker) in the
 * cache; anything with these two calls in a test.
 */
export interface WriteTarget {
  /**
   * Applies a batch and, in the same call, `ensure`s version keys (`L2Store.ensure`): resolves with
   * the ensure answers (`undefined` when only that part failed); rejects with `CacheBatchError`
   * naming the writes that failed alone, or with the error of the whole call.
   */
  write(
    writes: readonly L2Write[],
    ensure?: readonly L2EnsureRequest[],
  ): Promise<readonly L2Ensured[] | undefined>;
  /** `L2Store.ensure` alone: sets absent keys to a candidate, answers what each key holds. */
  ensure(requests: readonly L2EnsureRequest[]): Promise<readonly L2Ensured[]>;
}

/**
 * The bytes L2 stores for a queued set: the cache frames an entry's payload into its envelope
 * (tiering/entry-codec.ts) when its batch is sent.
 */
export type FrameWrite = (write: PendingSet) => Buffer;

/** {@link FrameWrite} of a queue that stores payloads as they are (no envelope). */
export const storePayload: FrameWrite = (write) =>
  typeof write.payload === 'string' ? Buffer.from(write.payload) : write.payload;

/**
 * Keeps a batch's entries valid against the version keys they were stamped with. Before a batch
 * is sent it names the version keys to make sure of (re-created when lost); once L2 answered, it
 * hands back the entries that must be sent again with a new stamp (re-stamped with the token L2 now
 * holds). The cache implements it (tiering/batch-version.guard.ts).
 */
export interface BatchGuard {
  /** The check for `writes`, or `undefined` when no write depends on a version key. */
  check(writes: readonly PendingWrite[]): BatchCheck | undefined;
}

/** One batch's version check. */
export interface BatchCheck {
  readonly requests: readonly L2EnsureRequest[];
  /**
   * Whether the answers are needed before the writes go out: some entry carries no token for a
   * version key (stamped before this instance knew one), so it would be re-sent otherwise.
   */
  readonly first: boolean;
  /**
   * Learns L2's answers (`undefined`: the call failed) and returns the sets to send again,
   * re-stamped (same key, `seq` and payload, new stamp).
   */
  settle(answers: readonly L2Ensured[] | undefined): PendingSet[];
}
