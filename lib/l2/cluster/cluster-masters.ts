import type { Cluster, Redis } from 'ioredis';

/** The master connections the Cluster store's bursts go to, and the replies that redirect them. */

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
