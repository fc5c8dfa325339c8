import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { CacheL2Error } from '../../errors/l2.errors.js';

/** The per-node batches of the Cluster store: its master connections, pipelines, redirections. */

/**
 * Runs a per-node pipeline; `undefined` when ioredis refused to send it at all.
 *
 * NOTE: ioredis rejects a cluster pipeline as a whole, before sending anything, when its keys do
 * not map to one node group in its own bookkeeping (`_groupsBySlot`). That bookkeeping goes out of
 * step with the slot map for a moment after a MOVED (ioredis rewrites the owner of a whole slot
 * range in place, and the group of one slot), until its slot refresh lands. The caller then sends
 * the group's commands one by one, each of which follows MOVED/ASK by itself.
 */
export async function execOrUndefined(
  pipeline: ChainableCommander,
): Promise<Array<[Error | null, unknown]> | undefined> {
  try {
    return (await pipeline.exec()) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The `[error, reply]` at `position` of a pipeline's results. */
export function replyAt(
  results: Array<[Error | null, unknown]> | null,
  position: number,
  operation: string,
): [Error | null, unknown] {
  const result = results?.[position];
  if (result === undefined) {
    return [
      new CacheL2Error(operation, 'the pipeline returned fewer replies than commands sent'),
      undefined,
    ];
  }
  return result;
}

/** Whether a command's error is a slot redirection ioredis follows when the command is sent alone. */
export function isRedirection(error: Error): boolean {
  return /^(MOVED|ASK|TRYAGAIN) /.test(error.message);
}

/** `host:port` of the master of a node group key (`master,replica,...`). */
export function masterKey(node: string): string {
  return node.split(',')[0] ?? node;
}

/** The cluster's own connection to the master of `node`. */
export function masterClient(cluster: Cluster, node: string): Redis | undefined {
  const key = masterKey(node);
  return cluster
    .nodes('master')
    .find((client) => `${client.options.host}:${client.options.port}` === key);
}
