import type { L2Write } from '../l2/l2-store.interface.js';
import { encodedValue, type PendingWrite } from './pending-write.js';

/**
 * Turns queued writes into the commands sent to L2, at send time: the TTL sent is what remains
 * of the absolute expiry fixed at `set()`, rounded up to whole milliseconds, so a late flush never
 * extends a lifetime. An entry that expired while queued becomes a delete, since L2 may still
 * hold an older value of the key. Every set must be encoded already (see the flusher's
 * `encodeBatch`).
 */
export function toL2Writes(batch: readonly PendingWrite[], now: number): L2Write[] {
  return batch.map((write): L2Write => {
    if (write.kind === 'del') return { kind: 'del', key: write.key };
    const ttlMs = Math.ceil(write.expiresAt - now);
    return ttlMs >= 1
      ? { kind: 'set', key: write.key, value: encodedValue(write), ttlMs }
      : { kind: 'del', key: write.key };
  });
}

/**
 * Exponential backoff with full jitter: a random delay in [base, min(max, base * 2^(attempt-1))].
 * Jitter keeps many instances from retrying in step against a recovering Redis.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(baseMs + Math.random() * (ceiling - baseMs));
}
