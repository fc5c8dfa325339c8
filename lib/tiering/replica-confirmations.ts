import { CacheOptionsError } from '../errors/cache.errors.js';
import { CacheBatchError, CacheReplicaTimeoutError } from '../errors/l2.errors.js';
import type { CacheCounters } from '../events/cache-stats.js';
import type { L2Durability, L2Store, L2WriteReceipt } from '../contracts/l2-store.interface.js';
import type { ResolvedCacheOptions } from '../options/resolved-options.js';

/**
 * Counts how write batches that wait for replicas (`writeBehind.replicas`) fared, for `stats()`,
 * the metrics and the health indicator (which reports batches that keep timing out).
 */
export class ReplicaConfirmations {
  constructor(private readonly counters: CacheCounters) {}

  /** A batch every write of which the replicas confirmed. */
  confirmed(receipt: void | L2WriteReceipt): void {
    this.counters.replicaConfirmedBatches++;
    this.counters.replicaWaitMsTotal += receipt?.replicaWaitMs ?? 0;
  }

  /** Records a batch that failed: a timeout when some of its writes were not confirmed. */
  failed(error: unknown): void {
    if (!(error instanceof CacheBatchError)) return;
    const shortfall = error.errors.find((cause) => cause instanceof CacheReplicaTimeoutError);
    if (shortfall === undefined) return;
    this.counters.replicaTimeouts++;
    // WAIT answers at its timeout when replicas fall short.
    this.counters.replicaWaitMsTotal += shortfall.timeoutMs;
  }
}

/**
 * The confirmation write batches ask `store` for, with where to count outcomes; `undefined` with
 * `writeBehind.replicas` 0.
 * @throws CacheOptionsError when replicas are asked of a store that cannot confirm them (a custom
 *   store without `confirmsReplicas`; twemproxy and memory are refused when options are validated).
 */
export function replicaPolicy(
  options: ResolvedCacheOptions['writeBehind'],
  store: L2Store,
  counters: CacheCounters,
): { durability: L2Durability; confirmations: ReplicaConfirmations } | undefined {
  if (options.replicas === 0) return undefined;
  if (store.confirmsReplicas !== true) {
    throw new CacheOptionsError(
      'writeBehind.replicas',
      `writeBehind.replicas (${options.replicas}) needs an L2 store that confirms replicas ` +
        `(L2Store.confirmsReplicas); ${store.description} does not`,
    );
  }
  return {
    durability: { replicas: options.replicas, timeoutMs: options.replicaTimeoutMs },
    confirmations: new ReplicaConfirmations(counters),
  };
}
