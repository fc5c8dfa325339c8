/**
 * One write waiting for L2. `seq` orders every write and delete this instance made: a write
 * supersedes any queued or failed write of the same key with a lower `seq`.
 */
export type PendingWrite =
  | {
      readonly kind: 'set';
      /** Full Redis key (namespace included). */
      readonly key: string;
      /** Encoded entry envelope. */
      readonly value: Buffer;
      /** Absolute expiry, epoch milliseconds. */
      readonly expiresAt: number;
      readonly seq: number;
    }
  | { readonly kind: 'del'; readonly key: string; readonly seq: number };
