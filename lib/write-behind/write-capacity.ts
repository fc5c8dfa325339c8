import { CacheOverflowError } from '../errors/cache.errors.js';
import type { FlusherOptions } from './flusher-signal.js';
import type { HeldWrites } from './held-writes.js';
import type { PendingWrite } from './pending-write.js';

/**
 * The bound on the write-behind queue: at most `maxPending` writes held, queued, parked and in
 * flight alike (HeldWrites counts them). Past it, `overflow` decides: `'reject'` refuses a write
 * of a new key before anything changed; `'drop-oldest'` drops the oldest writes by call order,
 * even one in flight (HeldWrites then no longer counts its batch for it), so the writes kept are
 * always the newest. A write of a key already waiting takes no room: it replaces that write.
 */
export class WriteCapacity {
  constructor(
    private readonly held: HeldWrites,
    private readonly options: Pick<FlusherOptions, 'maxPending' | 'overflow'>,
    /** Reports a write dropped for room. */
    private readonly dropped: (write: PendingWrite) => void,
  ) {}

  /**
   * With `overflow: 'reject'`, throws `CacheOverflowError` when a new key would exceed
   * `maxPending`.
   */
  check(key: string, userKey: string): void {
    if (
      this.options.overflow === 'reject' &&
      this.held.size >= this.options.maxPending &&
      !this.held.isWaiting(key)
    ) {
      throw new CacheOverflowError(userKey, this.options.maxPending);
    }
  }

  /**
   * Makes room for a write of `key` about to be queued: with `overflow: 'drop-oldest'`, drops the
   * oldest writes by call order until one more fits.
   */
  makeRoomFor(key: string): void {
    // A new key needs room only once maxPending writes are held (checked first: it is cheap).
    if (this.held.size < this.options.maxPending || this.held.isWaiting(key)) return;
    if (this.options.overflow !== 'drop-oldest') return;
    while (this.held.size >= this.options.maxPending) {
      const oldest = this.held.dropOldest();
      if (oldest === undefined) return;
      this.dropped(oldest);
    }
  }
}
