import type { Cluster } from 'ioredis';
import { CacheL2Error } from '../../errors/l2.errors.js';
import { CacheShardUnavailableError } from '../../errors/l2.errors.js';
import type { L2Read, L2Write } from '../../contracts/l2-store.interface.js';
import { sendSet } from '../redis/lock-scripts.js';
import { CLUSTER_SLOTS, clusterKeySlot } from './cluster-slots.js';

/**
 * Where a key goes in a Redis Cluster, by ioredis' current slot map, and what a failure of its
 * node means: the Cluster store's routing. A key whose node fails, or whose slot has no master
 * (`cluster-require-full-coverage no` with a master down), fails alone
 * ({@link CacheShardUnavailableError}); the keys of the other masters are served.
 */
export class ClusterRouter {
  constructor(
    private readonly cluster: Cluster,
    /** The store's description, named in errors. */
    private readonly description: string,
  ) {}

  /** The node (ioredis' node-group key: master and replicas) serving `key`'s slot. */
  nodeOf(key: string): string {
    return this.nodeOfSlot(clusterKeySlot(this.prefixed(key)));
  }

  /**
   * Key indexes grouped by node, then by slot, in input order. A key whose slot has no node gets
   * its error in `unrouted` (when given; otherwise the call throws).
   */
  groupBySlotAndNode(
    keys: readonly string[],
    unrouted?: L2Read[],
  ): Map<string, Map<number, number[]>> {
    const byNode = new Map<string, Map<number, number[]>>();
    keys.forEach((key, index) => {
      const slot = clusterKeySlot(this.prefixed(key));
      let node: string;
      try {
        node = this.nodeOfSlot(slot);
      } catch (error: unknown) {
        if (unrouted === undefined) throw error;
        unrouted[index] = this.unavailable('route', error);
        return;
      }
      let slots = byNode.get(node);
      if (slots === undefined) byNode.set(node, (slots = new Map<number, number[]>()));
      const list = slots.get(slot);
      if (list === undefined) slots.set(slot, [index]);
      else list.push(index);
    });
    return byNode;
  }

  /**
   * The error of a key whose node or slot failed while the cluster as a whole answers: it stays
   * that key's (a miss, a retried write), never the whole call's. Slot redirections are followed
   * before this; anything else from a node (connection refused, CLUSTERDOWN for an uncovered slot)
   * says the key's part of the cluster is unavailable now.
   */
  unavailable(operation: string, error: unknown): Error {
    if (error instanceof CacheShardUnavailableError) return error;
    const text = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && error.name === 'ReplyError' && isPermanentReply(text)) {
      return error; // e.g. NOPERM, WRONGTYPE: the key's own, not the node's
    }
    return new CacheShardUnavailableError(`${operation} on ${this.description}`, text, {
      cause: error,
    });
  }

  /**
   * Re-sends redirected writes through ioredis' single-command path (which follows MOVED/ASK):
   * keys in parallel, each key's writes one after the other in batch order. Failures go into
   * `failures` by batch index.
   */
  async resendOneByOne(
    writes: readonly L2Write[],
    indexes: readonly number[],
    failures: Map<number, unknown>,
    pxat: boolean,
  ): Promise<void> {
    const byKey = new Map<string, number[]>();
    for (const index of indexes) {
      const key = (writes[index] as L2Write).key;
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [index]);
      else list.push(index);
    }
    await Promise.all(
      [...byKey.values()].map(async (keyIndexes) => {
        for (const index of keyIndexes) {
          const write = writes[index] as L2Write;
          try {
            if (write.kind === 'del') await this.cluster.del(write.key);
            else await sendSet(this.cluster, write, pxat);
          } catch (error: unknown) {
            failures.set(index, this.unavailable('write', error));
          }
        }
      }),
    );
  }

  /** A hash tag whose slot `master` serves (for the health check). */
  tagServedBy(master: string): string {
    for (let n = 0; n < CLUSTER_SLOTS * 8; n++) {
      const tag = `h${n}`;
      if (this.cluster.slots[clusterKeySlot(this.prefixed(`{${tag}}`))]?.[0] === master) return tag;
    }
    throw new CacheL2Error('health check', `no hash tag found for node ${master}`);
  }

  private nodeOfSlot(slot: number): string {
    const owners = this.cluster.slots[slot];
    if (owners === undefined || owners.length === 0) {
      throw new CacheShardUnavailableError(
        'route',
        `${this.description} knows no master for slot ${slot}`,
      );
    }
    return owners.join(',');
  }

  private prefixed(key: string): string {
    return `${this.cluster.options.keyPrefix ?? ''}${key}`;
  }
}

/** Redis error replies about the command or key itself, which retrying does not change. */
function isPermanentReply(text: string): boolean {
  return /^(NOPERM|WRONGTYPE|ERR)\b/.test(text);
}
