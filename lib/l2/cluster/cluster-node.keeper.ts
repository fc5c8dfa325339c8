import type { Cluster, Redis } from 'ioredis';
import { reconnectDelayMs } from '../redis/redis-client.factory.js';
import { settledWithin } from '../redis/redis-connection.js';

/** Extra milliseconds {@link endCluster} waits for the client to end, beyond the nodes' `disconnectTimeout`. */
const END_WAIT_MS = 200;

/**
 * Keeps a connection open to every master of an ioredis `Cluster`: opens them all on connect and
 * reopens the connection of a master that was lost (see {@link scheduleReopen} for why ioredis
 * does not).
 */
export class ClusterNodeKeeper {
  private stopped = false;
  /** Pending run of {@link reopenNodes} (see {@link scheduleReopen}). */
  private reopenTimer: NodeJS.Timeout | undefined;
  /** Consecutive reopen rounds that did not find every slot owner connected. */
  private reopenRounds = 0;
  /** The reopen round in progress, if any (awaited by {@link stop}). */
  private reopening: Promise<void> | undefined;

  constructor(private readonly cluster: Cluster) {
    cluster.on('-node', () => this.scheduleReopen());
  }

  /**
   * Opens the connection to every master and waits (at most `waitMs`) until each is ready.
   * ioredis opens them lazily, on a node's first command, and without an offline queue the
   * commands that race that connect fail ("Connection is closed"): a fresh instance's first
   * batches would fail and be retried.
   */
  async openMasters(waitMs: number): Promise<void> {
    if (this.stopped || waitMs <= 0 || this.cluster.status !== 'ready') return;
    const pending = this.cluster.nodes('master').filter((node) => node.status !== 'ready');
    if (pending.length === 0) return;
    await settledWithin(
      Promise.all(
        pending.map((node) =>
          node.status === 'wait' ? node.connect().catch(() => undefined) : onceReady(node),
        ),
      ),
      waitMs,
    );
  }

  /** Stops reopening and resolves once a round in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    // A slot refresh in progress ends once it sees the client disconnected.
    await this.reopening;
  }

  /**
   * Schedules a {@link reopenNodes} round (at most one pending), after the reconnect backoff.
   *
   * NOTE: why. ioredis gives node connections `retryStrategy: null` (ConnectionPool
   * `createRedisFromOptions`, ioredis/built/cluster/ConnectionPool.js): a master that dies (kill -9)
   * ends its connection for good, the pool drops it (`-node`) and nothing reopens it, even once the
   * master is back on the same address, until a command to that master is redirected (MOVED) by
   * another node. With `enableOfflineQueue: false`, every other command racing the reopen then
   * fails with "Connection is closed." (cluster/index.js `tryConnection`): the first batch an idle
   * instance sends after the restart fails. So the keeper reopens the connections itself.
   */
  private scheduleReopen(): void {
    if (this.stopped || this.reopenTimer !== undefined) return;
    this.reopenRounds++;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.reopening = this.reopenNodes().finally(() => (this.reopening = undefined));
    }, reconnectDelayMs(this.reopenRounds));
  }

  /**
   * One round: done when every slot owner has a ready connection; otherwise refreshes the slot
   * map (which puts the missing owners back in ioredis' pool), starts connecting the masters not
   * connected yet and schedules the next round. A connection that fails ends, which schedules a
   * round too. Rounds stop with {@link stop} or when the client ends.
   */
  private async reopenNodes(): Promise<void> {
    const cluster = this.cluster;
    if (this.stopped || cluster.status === 'end' || cluster.status === 'wait') return;
    if (cluster.status === 'ready') {
      if (this.everySlotOwnerReady()) {
        this.reopenRounds = 0;
        return;
      }
      await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
      if (this.stopped || cluster.status !== 'ready') return;
      for (const node of cluster.nodes('master')) {
        if (node.status === 'wait') node.connect().catch(() => undefined);
      }
    }
    // Not ready: the Cluster client reconnects by itself; reopen its nodes once it is back.
    this.scheduleReopen();
  }

  private everySlotOwnerReady(): boolean {
    const ready = new Set<string>();
    for (const node of this.cluster.nodes('master')) {
      if (node.status === 'ready') ready.add(`${node.options.host}:${node.options.port}`);
    }
    let previous: string | undefined;
    for (const owners of this.cluster.slots) {
      const owner = owners?.[0];
      if (owner === previous) continue;
      previous = owner;
      if (owner === undefined || !ready.has(owner)) return false;
    }
    return true;
  }
}

/** Disconnects `cluster` and resolves once it has ended (or after its nodes' disconnect timeout). */
export async function endCluster(cluster: Cluster): Promise<void> {
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(done, disconnectTimeoutOf(cluster) + END_WAIT_MS);
    function done(): void {
      clearTimeout(timer);
      cluster.off('end', done);
      resolve();
    }
    cluster.once('end', done);
  });
  cluster.disconnect();
  await ended;
}

function disconnectTimeoutOf(cluster: Cluster): number {
  return cluster.options.redisOptions?.disconnectTimeout ?? 2_000;
}

/** Resolves when `node` is ready or has ended (never rejects). */
function onceReady(node: Redis): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      node.off('ready', done);
      node.off('end', done);
      resolve();
    };
    node.once('ready', done);
    node.once('end', done);
  });
}
