import type { L2Write } from '../contracts/l2-store.interface.js';
import type { FrameWrite } from './flusher-ports.js';
import type { PendingWrite } from './pending-write.js';

/**
 * Turns queued writes into the commands sent to L2. A set carries the absolute expiry fixed at
 * `set()` (stores send `PXAT`), so neither a late flush nor a command waiting in a slow server's
 * socket extends a lifetime. An entry that expired while queued becomes a delete, since L2 may
 * still hold an older value of the key. Each set's bytes are made here, by `frame`: the queue
 * holds only the serialized value, and the envelope is short-lived garbage of the send.
 */
export function toL2Writes(
  batch: readonly PendingWrite[],
  now: number,
  frame: FrameWrite,
): L2Write[] {
  return batch.map((write): L2Write => {
    if (write.kind !== 'set' || write.expiresAt <= now) return { kind: 'del', key: write.key };
    const { key, expiresAt, releases } = write;
    const value = frame(write);
    return releases === undefined
      ? { kind: 'set', key, value, expiresAt }
      : { kind: 'set', key, value, expiresAt, releases };
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
