import { randomUUID } from 'node:crypto';
import { Cluster, type ChainableCommander, type ClusterOptions, type Redis } from 'ioredis';
import { CacheL2Error } from '../errors/cache-l2.error.js';
import type { ClusterL2Options, RedisNode } from '../options/cache-options.interface.js';
import type { L2Store, L2Write } from './l2-store.interface.js';
import { chunks, invalidSet, throwBatchFailures, toValues, unsentSetError } from './redis-batch.js';
import { REDIS_CLIENT_DEFAULTS, reconnectDelayMs } from './redis-client.factory.js';
import type { RedisStoreOptions } from './redis-client.store.js';
import { checkRoundTrip, HEALTH_KEY_PREFIX, HEALTH_KEY_TTL_MS } from './redis-connection.js';

/** Number of hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

/** Extra milliseconds close() waits for the client to end, beyond the nodes' `disconnectTimeout`. */
const END_WAIT_MS = 200;

/**
 * Defaults for options the user may override under `l2.cluster`:
 *
 * - `retryDelayOnFailover: 0` and `retryDelayOnClusterDown: 0` (ioredis: 100): a command that
 *   meets a closed connection or CLUSTERDOWN fails at once instead of being re-sent by ioredis up
 *   to `maxRedirections` times. The write-behind queue retries with backoff, and it knows when a
 *   newer write of the key supersedes this one; a late re-send by ioredis would not.
 * - `retryDelayOnTryAgain: 20` (ioredis: 100): TRYAGAIN (a multi-key command during a slot
 *   migration) is always retried by ioredis; keep those retries short.
 * - `slotsRefreshTimeout: 1_000`.
 *
 * MOVED and ASK are still followed at once: that is how a resharding is absorbed.
 * `clusterRetryStrategy` defaults to {@link reconnectDelayMs} (never gives up).
 */
export const CLUSTER_CLIENT_DEFAULTS: Readonly<ClusterOptions> = Object.freeze({
  retryDelayOnFailover: 0,
  retryDelayOnClusterDown: 0,
  retryDelayOnTryAgain: 20,
  slotsRefreshTimeout: 1_000,
});

/**
 * Cluster options always applied:
 *
 * - `lazyConnect: true`: connections open in `connect()`.
 * - `enableOfflineQueue: false`: a command issued while the cluster is not ready fails at once.
 * - `enableAutoPipelining: false`: the store builds its own per-node pipelines; an automatic
 *   pipeline mixing slots would turn one redirected command into an error instead of following it.
 *
 * Every node connection also gets the single-Redis fail-fast settings (`REDIS_CLIENT_DEFAULTS`
 * under the user's `redisOptions`, then `maxRetriesPerRequest: 0`,
 * `autoResendUnfulfilledCommands: false`, `protocol: 2`).
 */
export const CLUSTER_CLIENT_FORCED: Readonly<ClusterOptions> = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: false,
  enableAutoPipelining: false,
});

/**
 * The full ioredis Cluster options for `options`, in increasing precedence:
 * {@link CLUSTER_CLIENT_DEFAULTS} < `options.cluster` < {@link CLUSTER_CLIENT_FORCED}; see there for
 * the node options. A user `clusterRetryStrategy` that returns something other than a number (which
 * would stop reconnecting for good) falls back to the default delay. Pure: opens nothing.
 */
export function buildClusterOptions(options: ClusterL2Options): ClusterOptions {
  const user = options.cluster ?? {};
  const customRetry = user.clusterRetryStrategy;
  return {
    ...CLUSTER_CLIENT_DEFAULTS,
    ...user,
    redisOptions: {
      ...REDIS_CLIENT_DEFAULTS,
      ...user.redisOptions,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      protocol: 2,
    },
    ...CLUSTER_CLIENT_FORCED,
    clusterRetryStrategy: (times: number, reason?: Error) => {
      const delay = typeof customRetry === 'function' ? customRetry(times, reason) : undefined;
      return typeof delay === 'number' && Number.isFinite(delay) && delay >= 0
        ? delay
        : reconnectDelayMs(times);
    },
  };
}

/** A new, not yet connected ioredis Cluster client for `options` (see {@link buildClusterOptions}). */
export function createClusterClient(options: ClusterL2Options): Cluster {
  return new Cluster(
    options.nodes.map((node) => ({ host: node.host, port: node.port })),
    buildClusterOptions(options),
  );
}

/** `cluster 127.0.0.1:7000, 127.0.0.1:7001` (the seed nodes); never contains a password. */
export function describeCluster(nodes: readonly RedisNode[]): string {
  return `cluster ${nodes.map((node) => `${node.host}:${node.port}`).join(', ')}`;
}

/**
 * The hash slot of `key` (CRC16/XMODEM of the key, or of its first non-empty `{hash tag}`,
 * modulo 16384), computed on the same bytes as ioredis' own routing (`cluster-key-slot`), so that
 * the store's per-node pipelines are the ones ioredis accepts. NOTE: those bytes are the key's
 * UTF-8 except for a lone UTF-16 surrogate, which ioredis encodes differently from the wire; such
 * a key costs one MOVED redirect, which the store follows. The tag rule is Redis' own (first `{`,
 * first `}` after it, non-empty between, else the whole key).
 *
 * @example
 * clusterKeySlot('{user:1}:name') === clusterKeySlot('{user:1}:email'); // true
 */
export function clusterKeySlot(key: string): number {
  const bytes = utf8Like(key);
  let tagStart = -1;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x7b /* { */) {
      tagStart = i + 1;
      break;
    }
  }
  if (tagStart !== -1) {
    for (let i = tagStart; i < bytes.length; i++) {
      if (bytes[i] === 0x7d /* } */) {
        if (i > tagStart) return crc16(bytes, tagStart, i) & 0x3fff;
        break;
      }
    }
  }
  return crc16(bytes, 0, bytes.length) & 0x3fff;
}

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
  private closed = false;
  /** Pending run of {@link reopenNodes} (see {@link scheduleReopen}). */
  private reopenTimer: NodeJS.Timeout | undefined;
  /** Consecutive reopen rounds that did not find every slot owner connected. */
  private reopenRounds = 0;
  /** The reopen round in progress, if any (awaited by {@link close}). */
  private reopening: Promise<void> | undefined;

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
    const onClientError = options.onClientError;
    cluster.on('error', (error: Error) => onClientError?.(error));
    cluster.on('node error', (error: Error) => onClientError?.(error));
    cluster.on('-node', () => this.scheduleReopen());
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
    const cluster = this.cluster;
    if (this.closed || cluster.status === 'ready') return;
    const ready = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        cluster.off('ready', done);
        cluster.off('end', done);
        resolve();
      };
      const timer = setTimeout(done, this.connectWaitMs);
      cluster.once('ready', done);
      cluster.once('end', done);
    });
    if (cluster.status === 'wait' || cluster.status === 'end') {
      cluster.connect().catch(() => undefined);
    }
    const deadline = Date.now() + this.connectWaitMs;
    await ready;
    await this.openMasterConnections(deadline - Date.now());
  }

  /**
   * Opens the connection to every master and waits (at most `waitMs`) until each is ready.
   * ioredis opens them lazily, on a node's first command, and without an offline queue the
   * commands that race that connect fail ("Connection is closed"): a fresh instance's first
   * batches would fail and be retried.
   */
  private async openMasterConnections(waitMs: number): Promise<void> {
    if (this.closed || waitMs <= 0 || this.cluster.status !== 'ready') return;
    const pending = this.cluster.nodes('master').filter((node) => node.status !== 'ready');
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    try {
      await Promise.race([
        Promise.all(
          pending.map((node) =>
            node.status === 'wait' ? node.connect().catch(() => undefined) : onceReady(node),
          ),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
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
   * instance sends after the restart fails. So the store reopens the connections itself.
   */
  private scheduleReopen(): void {
    if (this.closed || this.reopenTimer !== undefined) return;
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
   * round too. Rounds stop when the store closes or the client ends.
   */
  private async reopenNodes(): Promise<void> {
    const cluster = this.cluster;
    if (this.closed || cluster.status === 'end' || cluster.status === 'wait') return;
    if (cluster.status === 'ready') {
      if (this.everySlotOwnerReady()) {
        this.reopenRounds = 0;
        return;
      }
      await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
      if (this.closed || cluster.status !== 'ready') return;
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

  /** GET as a Buffer; `undefined` when the key is missing. ioredis follows MOVED/ASK. */
  async get(key: string): Promise<Buffer | undefined> {
    this.assertReady('get');
    return (await this.cluster.getBuffer(key)) ?? undefined;
  }

  /**
   * One pipeline per node, holding one MGET per slot (chunked by 1,000 keys). Keys of a slot
   * that answered MOVED/ASK/TRYAGAIN are read again one by one. Rejects if any other error comes.
   */
  async mget(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return [];
    this.assertReady('mget');
    const values = new Array<Buffer | undefined>(keys.length);
    const byNode = this.groupBySlotAndNode(keys);
    await Promise.all(
      [...byNode.values()].map(async (slots) => {
        const parts: number[][] = [];
        const pipeline = this.cluster.pipeline();
        for (const indexes of slots.values()) {
          for (const part of chunks(indexes)) {
            pipeline.mgetBuffer(part.map((i) => keys[i] as string));
            parts.push(part);
          }
        }
        const results = await execOrUndefined(pipeline);
        if (results === undefined) {
          // Nothing was sent (see execOrUndefined): read these keys one by one instead.
          await Promise.all(
            parts.flat().map(async (index) => {
              values[index] = (await this.cluster.getBuffer(keys[index] as string)) ?? undefined;
            }),
          );
          return;
        }
        const redirected: number[] = [];
        parts.forEach((part, j) => {
          const [error, reply] = replyAt(results, j, 'mget');
          if (error) {
            if (!isRedirection(error)) throw error;
            redirected.push(...part);
            return;
          }
          const read = toValues(part.length, reply as Array<Buffer | null>);
          part.forEach((index, k) => (values[index] = read[k]));
        });
        await Promise.all(
          redirected.map(async (index) => {
            values[index] = (await this.cluster.getBuffer(keys[index] as string)) ?? undefined;
          }),
        );
      }),
    );
    return values;
  }

  /**
   * Sends the writes as one pipeline per node, in batch order: `SET key value PX ttlMs` or
   * `DEL key`. Writes answered with a redirection are re-sent one by one, in order per key. A
   * write that cannot be sent fails alone; per-write failures reject with `CacheBatchError`, and
   * a batch where every write met a connection failure rejects with that error.
   */
  async write(writes: readonly L2Write[]): Promise<void> {
    if (writes.length === 0) return;
    this.assertReady('write');
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
      const node = this.nodeOf(write.key);
      const list = byNode.get(node);
      if (list === undefined) byNode.set(node, [index]);
      else list.push(index);
    });

    await Promise.all(
      [...byNode.values()].map(async (indexes) => {
        const pipeline = this.cluster.pipeline();
        for (const index of indexes) queueWrite(pipeline, writes[index] as L2Write);
        const results = await execOrUndefined(pipeline);
        if (results === undefined) {
          // Nothing was sent (see execOrUndefined): send these writes one by one instead.
          await this.resendWrites(writes, indexes, failures);
          return;
        }
        const redirected: number[] = [];
        indexes.forEach((index, position) => {
          const [error] = replyAt(results, position, 'write');
          if (!error) return;
          if (isRedirection(error)) redirected.push(index);
          else failures.set(index, error);
        });
        await this.resendWrites(writes, redirected, failures);
      }),
    );
    throwBatchFailures(failures, writes.length);
  }

  /** DEL per slot (chunked by 1,000 keys), one pipeline per node. Missing keys are fine. */
  async del(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    this.assertReady('del');
    const byNode = this.groupBySlotAndNode(keys);
    await Promise.all(
      [...byNode.values()].map(async (slots) => {
        const parts: string[][] = [];
        const pipeline = this.cluster.pipeline();
        for (const indexes of slots.values()) {
          for (const part of chunks(indexes)) {
            const partKeys = part.map((i) => keys[i] as string);
            pipeline.del(partKeys);
            parts.push(partKeys);
          }
        }
        const results = await execOrUndefined(pipeline);
        if (results === undefined) {
          // Nothing was sent (see execOrUndefined): delete these keys one by one instead.
          await Promise.all(parts.flat().map((key) => this.cluster.del(key)));
          return;
        }
        const redirected: string[] = [];
        parts.forEach((partKeys, j) => {
          const [error] = replyAt(results, j, 'del');
          if (!error) return;
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
        const key = `${this.healthKeyPrefix}{${this.tagServedBy(master)}}:${id}`;
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
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const cluster = this.cluster;
    if (cluster.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        cluster.quit().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.quitTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    if (cluster.status !== 'end') await endClient(cluster);
    // A slot refresh in progress ends once it sees the client disconnected.
    await this.reopening;
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

  /** The node (ioredis' node-group key: master and replicas) serving `key`'s slot. */
  private nodeOf(key: string): string {
    return this.nodeOfSlot(clusterKeySlot(this.prefixed(key)));
  }

  private nodeOfSlot(slot: number): string {
    const owners = this.cluster.slots[slot];
    if (owners === undefined || owners.length === 0) {
      throw new CacheL2Error('route', `${this.description} knows no node for slot ${slot}`);
    }
    return owners.join(',');
  }

  /** Key indexes grouped by node, then by slot, in input order. */
  private groupBySlotAndNode(keys: readonly string[]): Map<string, Map<number, number[]>> {
    const byNode = new Map<string, Map<number, number[]>>();
    keys.forEach((key, index) => {
      const slot = clusterKeySlot(this.prefixed(key));
      const node = this.nodeOfSlot(slot);
      let slots = byNode.get(node);
      if (slots === undefined) byNode.set(node, (slots = new Map<number, number[]>()));
      const list = slots.get(slot);
      if (list === undefined) slots.set(slot, [index]);
      else list.push(index);
    });
    return byNode;
  }

  /**
   * Re-sends redirected writes through ioredis' single-command path (which follows MOVED/ASK):
   * keys in parallel, each key's writes one after the other in batch order.
   */
  private async resendWrites(
    writes: readonly L2Write[],
    indexes: readonly number[],
    failures: Map<number, unknown>,
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
            else await this.cluster.set(write.key, write.value, 'PX', write.ttlMs);
          } catch (error: unknown) {
            failures.set(index, error);
          }
        }
      }),
    );
  }

  /** A hash tag whose slot `master` serves (for the health check). */
  private tagServedBy(master: string): string {
    for (let n = 0; n < CLUSTER_SLOTS * 8; n++) {
      const tag = `h${n}`;
      if (this.cluster.slots[clusterKeySlot(this.prefixed(`{${tag}}`))]?.[0] === master) return tag;
    }
    throw new CacheL2Error('health check', `no hash tag found for node ${master}`);
  }

  private prefixed(key: string): string {
    return `${this.cluster.options.keyPrefix ?? ''}${key}`;
  }
}

/**
 * Runs a per-node pipeline; `undefined` when ioredis refused to send it at all.
 *
 * NOTE: ioredis rejects a cluster pipeline as a whole, before sending anything, when its keys do
 * not map to one node group in its own bookkeeping (`_groupsBySlot`). That bookkeeping goes out of
 * step with the slot map for a moment after a MOVED (ioredis rewrites the owner of a whole slot
 * range in place, and the group of one slot), until its slot refresh lands. The caller then sends
 * the group's commands one by one, each of which follows MOVED/ASK by itself.
 */
async function execOrUndefined(
  pipeline: ChainableCommander,
): Promise<Array<[Error | null, unknown]> | undefined> {
  try {
    return (await pipeline.exec()) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Adds one write to a pipeline. */
function queueWrite(pipeline: ChainableCommander, write: L2Write): void {
  if (write.kind === 'del') pipeline.del(write.key);
  else pipeline.set(write.key, write.value, 'PX', write.ttlMs);
}

/** The `[error, reply]` at `position` of a pipeline's results. */
function replyAt(
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
function isRedirection(error: Error): boolean {
  return /^(MOVED|ASK|TRYAGAIN) /.test(error.message);
}

/** Disconnects `cluster` and resolves once it has ended (or after its nodes' disconnect timeout). */
async function endClient(cluster: Cluster): Promise<void> {
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

/** The bytes cluster-key-slot hashes for a string (UTF-8, lone surrogates as 3 bytes). */
function utf8Like(text: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      bytes.push(code);
    } else if (code < 0x800) {
      bytes.push((code >> 6) | 0xc0, (code & 0x3f) | 0x80);
    } else if (
      (code & 0xfc00) === 0xd800 &&
      i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      code = 0x10000 + ((code & 0x3ff) << 10) + (text.charCodeAt(++i) & 0x3ff);
      bytes.push(
        (code >> 18) | 0xf0,
        ((code >> 12) & 0x3f) | 0x80,
        ((code >> 6) & 0x3f) | 0x80,
        (code & 0x3f) | 0x80,
      );
    } else {
      bytes.push((code >> 12) | 0xe0, ((code >> 6) & 0x3f) | 0x80, (code & 0x3f) | 0x80);
    }
  }
  return bytes;
}

/** CRC16/XMODEM table (polynomial 0x1021), as Redis Cluster uses. */
const CRC16_TABLE: readonly number[] = (() => {
  const table: number[] = [];
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table.push(crc);
  }
  return table;
})();

function crc16(bytes: readonly number[], start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ (bytes[i] ?? 0)) & 0xff] ?? 0);
  }
  return crc;
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
