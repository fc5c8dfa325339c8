import type { Redis } from 'ioredis';
import { CacheReplicaTimeoutError } from '../../errors/l2.errors.js';
import type { L2Durability } from '../../contracts/l2-store.interface.js';

/** What `WAIT` said about the writes sent before it on one connection. */
export interface ReplicaWait {
  /** Milliseconds WAIT took. */
  readonly waitMs: number;
  /** Set when fewer replicas than required confirmed: the error each of those writes fails with. */
  readonly shortfall?: CacheReplicaTimeoutError;
}

/**
 * Sends `WAIT replicas timeoutMs` on `client`, the connection that carried a batch: Redis answers
 * how many replicas acknowledged every write this connection made so far, once `replicas` did or
 * the timeout passed. Sent after the batch's replies arrived, never pipelined with it: ioredis
 * re-sends a script on NOSCRIPT *after* anything queued behind it, which a WAIT would then not
 * cover. Rejects when the connection fails (the batch's fate is then unknown).
 */
export async function waitForReplicas(
  client: Pick<Redis, 'wait'>,
  durability: L2Durability,
  server: string,
): Promise<ReplicaWait> {
  const started = performance.now();
  const acknowledged = Number(await client.wait(durability.replicas, durability.timeoutMs));
  const waitMs = performance.now() - started;
  if (acknowledged >= durability.replicas) return { waitMs };
  return {
    waitMs,
    shortfall: new CacheReplicaTimeoutError(
      server,
      durability.replicas,
      acknowledged,
      durability.timeoutMs,
    ),
  };
}

/**
 * Marks every write in `sent` (batch indexes) that did not already fail as failed with `reason`
 * (the WAIT shortfall, or the error WAIT met): the master may have it, a failover could lose it,
 * so it is sent again.
 */
export function failUnconfirmed(
  failures: Map<number, unknown>,
  sent: Iterable<number>,
  reason: unknown,
): void {
  for (const index of sent) if (!failures.has(index)) failures.set(index, reason);
}
