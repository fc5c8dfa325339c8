import type { L2Write } from '../contracts/l2-store.interface.js';

/**
 * What every store refuses in a write, as Redis would: a set whose expiry is not a whole number of
 * epoch milliseconds >= 1, or whose value is not bytes. Such a write fails alone.
 */

/** Why a set cannot be sent, or `undefined` when it can. */
export function invalidSet(write: Extract<L2Write, { kind: 'set' }>): string | undefined {
  // NOTE: PXAT 0 (or below) is an error in Redis, not an expired write.
  if (!Number.isSafeInteger(write.expiresAt) || write.expiresAt < 1) {
    return `expiresAt must be a whole number of epoch milliseconds >= 1, got ${String(write.expiresAt)}`;
  }
  if (!((write.value as unknown) instanceof Uint8Array)) return 'value is not a Buffer';
  return undefined;
}
