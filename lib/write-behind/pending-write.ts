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
   * The encoded entry envelope, or a function that encodes it. `set()` queues the function, so
   * the value is serialized when its batch is built, not on the caller's path; the flusher keeps
   * the bytes once made ({@link encodedValue}), so a retried write is not serialized again.
   */
  value: Buffer | (() => Buffer);
  /** Absolute expiry, epoch milliseconds. */
  readonly expiresAt: number;
  readonly seq: number;
}

export interface PendingDelete {
  readonly kind: 'del';
  readonly key: string;
  readonly seq: number;
}

/**
 * The bytes of a queued set, encoding them on first use.
 * @throws whatever the encoder throws (e.g. CacheSerializationError); nothing is kept then.
 */
export function encodedValue(write: PendingSet): Buffer {
  if (typeof write.value !== 'function') return write.value;
  const bytes = write.value();
  write.value = bytes;
  return bytes;
}
