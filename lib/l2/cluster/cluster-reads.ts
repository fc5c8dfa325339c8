import type { Cluster } from 'ioredis';
import type { L2Ensured, L2EnsureRequest, L2Read } from '../../contracts/l2-store.interface.js';
import { chunks, expiryArgs, toValues } from '../redis/redis-batch.js';
import { burstCommand, sendBurst } from '../redis/command-burst.js';
import { isRedirection, masterClient } from './cluster-masters.js';
import type { ClusterRouter } from './cluster-router.js';

/** The Cluster store's reads: values per node and slot, and version keys made sure of per key. */

/**
 * One burst of commands per master (command-burst.ts): one MGET per slot, chunked by 1,000
 * keys. Keys of a slot that answered MOVED/ASK/TRYAGAIN are read again one by one. A key whose node failed, or whose
 * slot has no master (a Cluster with `cluster-require-full-coverage no` and a master down), gets
 * the error in its place; the call rejects only when the cluster itself is not ready.
 */
export async function readPerNode(
  cluster: Cluster,
  router: ClusterRouter,
  keys: readonly string[],
): Promise<L2Read[]> {
  const values = new Array<L2Read>(keys.length);
  const byNode = router.groupBySlotAndNode(keys, values);
  const readOne = async (index: number): Promise<void> => {
    try {
      values[index] = (await cluster.getBuffer(keys[index] as string)) ?? undefined;
    } catch (error: unknown) {
      values[index] = router.unavailable('mget', error);
    }
  };
  await Promise.all(
    [...byNode].map(async ([node, slots]) => {
      const parts: number[][] = [];
      for (const indexes of slots.values()) for (const part of chunks(indexes)) parts.push(part);
      const master = masterClient(cluster, node);
      if (master === undefined) {
        // No connection to this master (its slot map is changing): read these keys one by one.
        await Promise.all(parts.flat().map(readOne));
        return;
      }
      // Key prefix from the Cluster's options, as its own commands take it (sendCommand adds none).
      const sent = await sendBurst(
        master,
        parts.map((part) =>
          burstCommand(
            cluster,
            'mget',
            part.map((i) => keys[i] as string),
            true,
          ),
        ),
      );
      const redirected: number[] = [];
      parts.forEach((part, j) => {
        const error = sent.failures.get(j);
        if (error !== undefined) {
          if (isRedirection(error)) redirected.push(...part);
          else for (const index of part) values[index] = router.unavailable('mget', error);
          return;
        }
        const read = toValues(part.length, sent.replies[j] as Array<Buffer | null>);
        part.forEach((index, k) => (values[index] = read[k]));
      });
      await Promise.all(redirected.map(readOne));
    }),
  );
  return values;
}

/**
 * `SET key candidate NX PXAT expiresAt` then `GET key` per request, in one pipeline per node (a
 * key's two commands go to its node in order). A key whose node or slot is unavailable gets the
 * error in its place.
 */
export async function ensurePerKey(
  cluster: Cluster,
  router: ClusterRouter,
  requests: readonly L2EnsureRequest[],
  pxat: boolean,
): Promise<L2Ensured[]> {
  return Promise.all(
    requests.map(async ({ key, candidate, expiresAt }): Promise<L2Ensured> => {
      try {
        const [set, get] = (await cluster
          .pipeline()
          .set(key, candidate, ...expiryArgs(expiresAt, pxat), 'NX')
          .get(key)
          .exec()) ?? [
          [null, null],
          [null, null],
        ];
        const failed = set?.[0] ?? get?.[0];
        if (failed) return router.unavailable('ensure', failed);
        return typeof get?.[1] === 'string' ? get[1] : candidate;
      } catch (error: unknown) {
        return router.unavailable('ensure', error);
      }
    }),
  );
}
