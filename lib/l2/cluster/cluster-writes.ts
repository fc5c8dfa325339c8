import type { Cluster } from 'ioredis';
import { CacheReplicaTimeoutError } from '../../errors/l2.errors.js';
import type { L2Durability, L2Write, L2WriteReceipt } from '../../contracts/l2-store.interface.js';
import { invalidSet } from '../l2-write.checks.js';
import { throwBatchFailures, unsentSetError } from '../redis/redis-batch.js';
import { failUnconfirmed, waitForReplicas } from '../redis/replica-wait.js';
import { sendBurst } from '../redis/command-burst.js';
import { writeCommand } from '../redis/lock-scripts.js';
import { isRedirection, masterClient, masterKey } from './cluster-masters.js';
import type { ClusterRouter } from './cluster-router.js';

/**
 * Sends `writes` as one burst of commands per master (command-burst.ts), in batch order: `SET key
 * value PXAT expiresAt` or `DEL key`. Writes answered with a redirection are re-sent one by one,
 * in order per key. A write that cannot be sent, or whose node or slot is unavailable, fails
 * alone: per-write failures reject with `CacheBatchError` naming them, so that writes to the
 * other masters land.
 *
 * With `durability`, each node's burst is followed by WAIT on that node's connection (see
 * replica-wait.ts); a write it does not confirm fails with `CacheReplicaTimeoutError`, and so does
 * a redirected one (it went to another node, whose WAIT this call does not send: the retry will).
 */
export async function writePerNode(
  cluster: Cluster,
  router: ClusterRouter,
  writes: readonly L2Write[],
  pxat: boolean,
  durability: L2Durability | undefined,
): Promise<void | L2WriteReceipt> {
  const failures = new Map<number, unknown>();
  const byNode = new Map<string, number[]>();
  writes.forEach((write, index) => {
    if (write.kind === 'set') {
      const problem = invalidSet(write);
      if (problem !== undefined) {
        failures.set(index, unsentSetError(write, problem));
        return;
      }
    }
    let node: string;
    try {
      node = router.nodeOf(write.key);
    } catch (error: unknown) {
      failures.set(index, router.unavailable('write', error));
      return;
    }
    const list = byNode.get(node);
    if (list === undefined) byNode.set(node, [index]);
    else list.push(index);
  });

  let replicaWaitMs = 0;
  await Promise.all(
    [...byNode].map(async ([node, indexes]) => {
      const master = masterClient(cluster, node);
      if (master === undefined) {
        // The cluster holds no connection to this master (its slot map is changing): send these
        // writes one by one, each of which finds its node (and follows MOVED/ASK) by itself.
        await router.resendOneByOne(writes, indexes, failures, pxat);
        if (durability !== undefined) unconfirmed(failures, indexes, node, durability);
        return;
      }
      // Key prefix from the Cluster's options, as its own commands take it (sendCommand adds none).
      const sent = await sendBurst(
        master,
        indexes.map((index) => writeCommand(cluster, writes[index] as L2Write, pxat)),
      );
      const redirected: number[] = [];
      indexes.forEach((index, position) => {
        const error = sent.failures.get(position);
        if (error === undefined) return;
        if (isRedirection(error)) redirected.push(index);
        else failures.set(index, router.unavailable('write', error));
      });
      if (durability !== undefined) {
        const applied = indexes.filter((index) => !redirected.includes(index));
        try {
          const waited = await waitForReplicas(master, durability, masterKey(node));
          replicaWaitMs = Math.max(replicaWaitMs, waited.waitMs);
          if (waited.shortfall !== undefined) failUnconfirmed(failures, applied, waited.shortfall);
        } catch (error: unknown) {
          // This master's connection failed before WAIT answered: its writes alone are retried.
          failUnconfirmed(failures, applied, router.unavailable('write', error));
        }
      }
      await router.resendOneByOne(writes, redirected, failures, pxat);
      if (durability !== undefined) unconfirmed(failures, redirected, node, durability);
    }),
  );
  throwBatchFailures(failures, writes.length);
  return durability === undefined ? undefined : { replicaWaitMs };
}

/** Writes sent where this call sends no WAIT: not confirmed, so sent again. */
function unconfirmed(
  failures: Map<number, unknown>,
  indexes: readonly number[],
  node: string,
  durability: L2Durability,
): void {
  if (indexes.length === 0) return;
  failUnconfirmed(
    failures,
    indexes,
    new CacheReplicaTimeoutError(masterKey(node), durability.replicas, 0, durability.timeoutMs),
  );
}
