import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { CacheL2Error } from '../../errors/l2.errors.js';
import type { ClusterL2Options } from '../../options/cache-options.interface.js';
import { createClusterClient, describeCluster } from './cluster-client.factory.js';
import { ClusterNodeKeeper, endCluster } from './cluster-node.keeper.js';
import { isRedirection, masterClient } from './cluster-masters.js';
import { burstCommand, sendBurst } from '../redis/command-burst.js';
import { writePerNode } from './cluster-writes.js';
import { ensurePerKey, readPerNode } from './cluster-reads.js';
import { ClusterRouter } from './cluster-router.js';
import type {
  L2Durability,
  L2Ensured,
  L2EnsureRequest,
  L2Read,
  L2Locks,
  L2Store,
  L2Write,
  L2WriteReceipt,
} from '../../contracts/l2-store.interface.js';
import { redisLocks } from '../redis/lock-scripts.js';
import { chunks } from '../redis/redis-batch.js';
import { probeServer, probeWarnings } from '../redis/server-probe.js';
import type { RedisStoreOptions } from '../redis/redis-client.store.js';
import {
  checkRoundTrip,
  HEALTH_KEY_PREFIX,
  HEALTH_KEY_TTL_MS,
  settledWithin,
} from '../redis/redis-connection.js';

/**
 * The L2 store on a Redis Cluster (`l2: { type: 'cluster', nodes }`), through an ioredis `Cluster`.
 *
 * Every batched call is split so that no CROSSSLOT error can happen: keys are grouped by the node
 * that serves their slot, each node gets one pipeline, and a multi-key command (MGET, DEL) never
 * spans two slots. Writes are single-key (`SET ... PX`, `DEL`), in batch order per node.
 * A command answered with MOVED or ASK (a slot being resharded) is sent again on its own through
 * ioredis' normal path, which follows the redirection; per key, in the original order. No other
 * timeouts or retries: the remote tier above settles every call within `l2TimeoutMs`.
 *
 * @example
 * const store = ClusterStore.fromOptions({ type: 'cluster', nodes: [{ host: '127.0.0.1', port: 7000 }] });
 * await store.connect();
 */
export class ClusterStore implements L2Store {
  private readonly connectWaitMs: number;
  private readonly quitTimeoutMs: number;
  private readonly healthKeyPrefix: string;
  private readonly nodes: ClusterNodeKeeper;
  private readonly router: ClusterRouter;
  private readonly onWarning: ((message: string) => void) | undefined;
  private closed = false;
  /** WAIT goes to the master that took each part of a batch: batches can wait for replicas. */
  readonly confirmsReplicas = true;
  /**
   * Write connections apart from the reads' (`writeConnection`), for batches that wait for
   * replicas: WAIT blocks the connection it is sent on, and reads must not queue behind it.
   */
  private readonly writer:
    | {
        readonly cluster: Cluster;
        readonly router: ClusterRouter;
        readonly nodes: ClusterNodeKeeper;
      }
    | undefined;
  /** Whether the masters take `SET ... PXAT` (probed on connect). */
  private pxat = true;
  /** Single-flight locks; a lock key shares its value key's slot, so ioredis routes both alike. */
  readonly locks: L2Locks = redisLocks(
    () => {
      this.assertReady('lock');
      return this.cluster;
    },
    (_operation, error) => error,
  );

  /**
   * @param cluster A Cluster client, preferably from {@link createClusterClient}; the store owns it
   *   and closes it in {@link close}.
   * @param description For logs; must not contain a password.
   */
  constructor(
    readonly cluster: Cluster,
    readonly description: string,
    options: RedisStoreOptions = {},
  ) {
    this.connectWaitMs = options.connectWaitMs ?? 2_000;
    this.quitTimeoutMs = options.quitTimeoutMs ?? 500;
    this.healthKeyPrefix = options.healthKeyPrefix ?? HEALTH_KEY_PREFIX;
    this.onWarning = options.onWarning;
    const onClientError = options.onClientError;
    cluster.on('error', (error: Error) => onClientError?.(error));
    cluster.on('node error', (error: Error) => onClientError?.(error));
    this.nodes = new ClusterNodeKeeper(cluster);
    this.router = new ClusterRouter(cluster, description);
    if (options.writeConnection === true) {
      const writer = cluster.duplicate();
      writer.on('error', (error: Error) => onClientError?.(error));
      writer.on('node error', (error: Error) => onClientError?.(error));
      this.writer = {
        cluster: writer,
        router: new ClusterRouter(writer, description),
        nodes: new ClusterNodeKeeper(writer),
      };
    }
  }

  /** A store with its own Cluster client for `options` (not connected yet: call {@link connect}). */
  static fromOptions(
    options: ClusterL2Options,
    storeOptions: RedisStoreOptions = {},
  ): ClusterStore {
    return new ClusterStore(
      createClusterClient(options),
      describeCluster(options.nodes),
      storeOptions,
    );
  }

  /**
   * Connects (reads the slot map from a seed node) and resolves once the cluster is ready, or after
   * `connectWaitMs` even if it is not (never rejects: the client keeps retrying).
   */
  async connect(): Promise<void> {
    if (this.closed) return;
    const deadline = Date.now() + this.connectWaitMs;
    await Promise.all([
      this.connectOne(this.cluster, this.nodes, deadline),
      this.writer && this.connectOne(this.writer.cluster, this.writer.nodes, deadline),
    ]);
    if (this.closed) return;
    await this.probe();
  }

  /** Connects one Cluster client and opens its masters, within `deadline` (epoch ms). */
  private async connectOne(
    cluster: Cluster,
    nodes: ClusterNodeKeeper,
    deadline: number,
  ): Promise<void> {
    if (cluster.status === 'ready') return;
    const ready = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        cluster.off('ready', done);
        cluster.off('end', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      cluster.once('ready', done);
      cluster.once('end', done);
    });
    if (cluster.status === 'wait' || cluster.status === 'end') {
      cluster.connect().catch(() => undefined);
    }
    await ready;
    if (this.closed) return;
    await nodes.openMasters(deadline - Date.now());
  }

  /** Probes one master for PXAT and its clock (the masters of one cluster run one version). */
  private async probe(): Promise<void> {
    if (this.cluster.status !== 'ready') return;
    try {
      const traits = await probeServer(this.cluster, this.healthKeyPrefix);
      this.pxat = traits.pxat;
      for (const line of probeWarnings(this.description, traits)) this.onWarning?.(line);
    } catch {
      // Unreachable for now: PXAT stays assumed (Redis >= 6.2).
    }
  }

  /** GET as a Buffer; `undefined` when the key is missing. ioredis follows MOVED/ASK. */
  async get(key: string): Promise<Buffer | undefined> {
    this.assertReady('get');
    return (await this.cluster.getBuffer(key)) ?? undefined;
  }

  /**
   * One pipeline per node, holding one MGET per slot (chunked by 1,000 keys). Keys of a slot
   * that answered MOVED/ASK/TRYAGAIN are read again one by one. A key whose node failed, or whose
   * slot has no master (a Cluster with `cluster-require-full-coverage no` and a master down), gets
   * the error in its place; the call rejects only when the cluster itself is not ready.
   */
  async mget(keys: readonly string[]): Promise<L2Read[]> {
    if (keys.length === 0) return [];
    this.assertReady('mget');
    return readPerNode(this.cluster, this.router, keys);
  }

  /**
   * `SET key candidate NX PXAT expiresAt` then `GET key` per request, in one pipeline per node (a
   * key's two commands go to its node in order). A key whose node or slot is unavailable gets the
   * error in its place.
   */
  async ensure(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]> {
    if (requests.length === 0) return [];
    this.assertReady('ensure');
    return ensurePerKey(this.cluster, this.router, requests, this.pxat);
  }

  /** See {@link writePerNode}; with `durability`, on the write connections (`writeConnection`). */
  async write(
    writes: readonly L2Write[],
    durability?: L2Durability,
  ): Promise<void | L2WriteReceipt> {
    if (writes.length === 0) return;
    this.assertReady('write');
    const writer = durability === undefined ? undefined : this.writer;
    if (writer !== undefined && writer.cluster.status !== 'ready') {
      throw new CacheL2Error('write', `${this.description}: the write connections are not ready`);
    }
    const cluster = writer?.cluster ?? this.cluster;
    return writePerNode(cluster, writer?.router ?? this.router, writes, this.pxat, durability);
  }

  /** DEL per slot (chunked by 1,000 keys), one pipeline per node. Missing keys are fine. */
  async del(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    this.assertReady('del');
    const byNode = this.router.groupBySlotAndNode(keys);
    await Promise.all(
      [...byNode].map(async ([node, slots]) => {
        const parts: string[][] = [];
        for (const indexes of slots.values()) {
          for (const part of chunks(indexes)) parts.push(part.map((i) => keys[i] as string));
        }
        const master = masterClient(this.cluster, node);
        if (master === undefined) {
          // No connection to this master (its slot map is changing): delete the keys one by one.
          await Promise.all(parts.flat().map((key) => this.cluster.del(key)));
          return;
        }
        const sent = await sendBurst(
          master,
          parts.map((partKeys) => burstCommand(this.cluster, 'del', partKeys)),
        );
        const redirected: string[] = [];
        parts.forEach((partKeys, j) => {
          const error = sent.failures.get(j);
          if (error === undefined) return;
          if (!isRedirection(error)) throw error;
          redirected.push(...partKeys);
        });
        await Promise.all(redirected.map((key) => this.cluster.del(key)));
      }),
    );
  }

  /**
   * A real key round trip on every master: for each, SET (10 s TTL), GET and DEL of a key whose
   * slot it serves. Never PING.
   * @throws CacheL2Error naming the key when a master cannot serve it.
   */
  async healthCheck(): Promise<void> {
    this.assertReady('health check');
    const masters = new Set<string>();
    for (const owners of this.cluster.slots) if (owners?.[0] !== undefined) masters.add(owners[0]);
    const id = randomUUID();
    await Promise.all(
      [...masters].map(async (master) => {
        const key = `${this.healthKeyPrefix}{${this.router.tagServedBy(master)}}:${id}`;
        const token = randomUUID();
        const results = await this.cluster
          .pipeline()
          .set(key, token, 'PX', HEALTH_KEY_TTL_MS)
          .get(key)
          .del(key)
          .exec();
        checkRoundTrip(key, token, results);
      }),
    );
  }

  /**
   * QUIT on every node (waiting at most `quitTimeoutMs`), then drops what is left and stops
   * reconnecting, leaving no socket or timer behind. Calls made afterwards reject. Safe to call
   * twice, and on a store that never connected.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([
      this.closeOne(this.cluster, this.nodes),
      this.writer && this.closeOne(this.writer.cluster, this.writer.nodes),
    ]);
  }

  private async closeOne(cluster: Cluster, nodes: ClusterNodeKeeper): Promise<void> {
    const stopped = nodes.stop();
    if (cluster.status === 'ready') await settledWithin(cluster.quit(), this.quitTimeoutMs);
    if (cluster.status !== 'end') await endCluster(cluster);
    await stopped;
  }

  /** Rejects a call unless the cluster is ready (no slot map to route by, or closed). */
  private assertReady(operation: string): void {
    if (this.closed) {
      throw new CacheL2Error(operation, `${this.description}: the store is closed`);
    }
    if (this.cluster.status !== 'ready') {
      throw new CacheL2Error(
        operation,
        `${this.description} is not ready (status ${this.cluster.status}); nothing was sent`,
      );
    }
  }
}
