import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { freePorts } from './free-port.js';
import { waitFor } from './poll.js';
import { RedisServer } from './redis-server.js';
import { respCommand, RespErrorReply } from './resp.js';

const run = promisify(execFile);
const START_ATTEMPTS = 3;
/** How long a restarted old master gets to demote itself before we send CLUSTER REPLICATE. */
const SELF_DEMOTE_GRACE_MS = 3_000;

/** Options of {@link RedisCluster.start}. */
export interface RedisClusterStartOptions {
  /** Number of masters. @default 3 */
  masters?: number;
  /**
   * Replicas of each master. redis-cli picks which node replicates which; see
   * {@link RedisCluster.replicaOf}. @default 0
   */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`, in milliseconds. @default 2_000 */
  nodeTimeoutMs?: number;
  /** Milliseconds to wait for `cluster_state:ok` on every node. @default 15_000 */
  readyTimeoutMs?: number;
  /**
   * `cluster-require-full-coverage`: with `false`, the live masters keep serving their slots while
   * another master's slot range has no master (a master down and no replica to promote).
   * @default true (Redis' default: the whole cluster stops answering)
   */
  requireFullCoverage?: boolean;
}

/** What {@link RedisCluster.killMasterAndAwaitFailover} saw. */
export interface ClusterFailoverResult {
  /** The former replica, now master of the killed node's slots. */
  promoted: RedisServer;
  /** Milliseconds from the kill to every surviving node routing those slots to `promoted`. */
  ms: number;
}

/** One line of `CLUSTER NODES`. */
interface ClusterNodeLine {
  port: number;
  flags: string[];
  /** Slot ranges served (`5461-10922` or `42`), without the `[slot->-id]` migration entries. */
  slots: string[];
}

/**
 * A real Redis Cluster of N masters, each with `replicasPerMaster` replicas (default none), on
 * free loopback ports (each port and its bus port, port + 10000, checked free), each node a
 * {@link RedisServer} with its own fresh directory (a leftover nodes.conf would rejoin an old
 * cluster). Created with `redis-cli --cluster create ... --cluster-yes`; ready once every node
 * reports `cluster_state:ok` and all 16384 slots, and every master has its replicas online (so a
 * `WAIT` right after start is answered). Takes 2.5-3.5 s with or without replicas: start one per
 * test file.
 *
 * @example
 * const cluster = await RedisCluster.start();
 * try {
 *   const slot = await cluster.keySlot('k');
 * } finally {
 *   await cluster.stop();
 * }
 */
export class RedisCluster {
  private constructor(
    /**
     * The master nodes at creation, in creation order. A failover does not update this: ask
     * {@link ownerOf} or {@link replicaOf} who serves what now.
     */
    readonly nodes: readonly RedisServer[],
    /** The replica nodes at creation, in creation order (empty without `replicasPerMaster`). */
    readonly replicas: readonly RedisServer[],
    private readonly replicasPerMaster: number,
  ) {}

  /** Every node, masters at creation first. */
  private get servers(): readonly RedisServer[] {
    return [...this.nodes, ...this.replicas];
  }

  /** Seed nodes for a client (the masters at creation): `[{ host, port }, ...]`. */
  get seeds(): Array<{ host: string; port: number }> {
    return this.nodes.map((node) => ({ host: node.host, port: node.port }));
  }

  /**
   * Starts the nodes, creates the cluster and resolves once every node agrees it is ready.
   * @throws Error with redis-cli's output when the cluster cannot be created or does not converge.
   */
  static async start(options: RedisClusterStartOptions = {}): Promise<RedisCluster> {
    let lastError: unknown;
    // NOTE: a port found free can be taken before redis-server binds it: start over on new ports.
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      try {
        return await RedisCluster.startOnce(options);
      } catch (error: unknown) {
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  private static async startOnce(options: RedisClusterStartOptions): Promise<RedisCluster> {
    const count = options.masters ?? 3;
    const replicasPerMaster = options.replicasPerMaster ?? 0;
    const nodes: RedisServer[] = [];
    try {
      const ports = await freePorts(count * (1 + replicasPerMaster), { withClusterBusPort: true });
      for (const port of ports) {
        nodes.push(
          await RedisServer.start({
            port,
            args: [
              // Else a replica's first sync waits the default 5 s for more replicas to batch.
              '--repl-diskless-sync-delay',
              '0',
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--cluster-node-timeout',
              String(options.nodeTimeoutMs ?? 2_000),
              ...(options.requireFullCoverage === false
                ? ['--cluster-require-full-coverage', 'no']
                : []),
            ],
          }),
        );
      }
      try {
        await run(
          requireBinary('redis-cli'),
          [
            '--cluster',
            'create',
            ...nodes.map((node) => `${node.host}:${node.port}`),
            '--cluster-replicas',
            String(replicasPerMaster),
            '--cluster-yes',
          ],
          { timeout: 20_000 },
        );
      } catch (error: unknown) {
        const output = error as { stdout?: string; stderr?: string };
        throw new Error(
          `redis-cli --cluster create failed: ${String(error)}\n${output.stdout ?? ''}${output.stderr ?? ''}`,
          { cause: error },
        );
      }
      const cluster = await RedisCluster.classify(nodes, count, replicasPerMaster);
      await cluster.waitUntilReady(options.readyTimeoutMs ?? 15_000);
      return cluster;
    } catch (error: unknown) {
      await Promise.all(nodes.map((node) => node.stop()));
      throw error;
    }
  }

  /**
   * Splits the started nodes into masters and replicas the way redis-cli made them (it chooses;
   * with one host it is usually the first N, but that is not promised).
   */
  private static async classify(
    servers: readonly RedisServer[],
    masters: number,
    replicasPerMaster: number,
  ): Promise<RedisCluster> {
    const lines = await waitFor(
      async () => {
        const view = parseClusterNodes(await servers[0]!.cli('CLUSTER', 'NODES'));
        const withSlots = view.filter(
          (line) => line.flags.includes('master') && line.slots.length > 0,
        );
        const replicas = view.filter((line) => line.flags.includes('slave'));
        return withSlots.length === masters && replicas.length === masters * replicasPerMaster
          ? withSlots
          : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'redis-cli to assign every master role' },
    );
    const masterPorts = new Set(lines.map((line) => line.port));
    return new RedisCluster(
      servers.filter((server) => masterPorts.has(server.port)),
      servers.filter((server) => !masterPorts.has(server.port)),
      replicasPerMaster,
    );
  }

  /**
   * Resolves once every node (all must be running) reports `cluster_state:ok` with all 16384 slots
   * assigned and ok and, with replicas, once every master serving slots has `replicasPerMaster`
   * replicas in `state=online` (done with their first sync, so `WAIT` can count them).
   */
  async waitUntilReady(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.servers) {
          const info = await node.cli('CLUSTER', 'INFO');
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
        }
        if (this.replicasPerMaster === 0) return true;
        // Each node must also know every replica as one (else it would refuse its failover vote).
        const masters = this.nodes.length;
        for (const node of this.servers) {
          const view = parseClusterNodes(await node.cli('CLUSTER', 'NODES'));
          if (view.some((line) => line.flags.some((flag) => flag.startsWith('fail')))) return false;
          const slaves = view.filter((line) => line.flags.includes('slave')).length;
          if (slaves !== masters * this.replicasPerMaster) return false;
        }
        for (const master of await this.masters(true)) {
          if ((await onlineReplicaPorts(master)).length < this.replicasPerMaster) return false;
        }
        return true;
      },
      {
        timeoutMs,
        intervalMs: 100,
        message: 'every cluster node to report cluster_state:ok and every replica online',
      },
    );
  }

  /** Stops every node and removes their directories. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((node) => node.stop()));
  }

  /** The slot of `key`, as Redis computes it (`CLUSTER KEYSLOT`). */
  async keySlot(key: string): Promise<number> {
    return Number(await this.anyRunning().cli('CLUSTER', 'KEYSLOT', key));
  }

  /**
   * Groups `keys` by the master that holds them, asking every running master with `SCAN` (which
   * sees that node's keys only), never by computing slots. Replicas hold copies and are skipped
   * (by their current role, so a promoted replica counts). Keys no running master holds are under
   * `undefined`.
   */
  async keysByNode(keys: readonly string[]): Promise<Map<RedisServer | undefined, string[]>> {
    const wanted = new Set(keys);
    const holder = new Map<string, RedisServer>();
    for (const node of this.servers) {
      if (!node.isRunning()) continue;
      const role = await respCommand(node.port, ['ROLE'], { timeoutMs: 5_000 });
      if (!Array.isArray(role) || role[0] !== 'master') continue;
      let cursor = '0';
      do {
        const reply = await respCommand(node.port, ['SCAN', cursor, 'COUNT', '1000'], {
          timeoutMs: 5_000,
        });
        const [next, found] = Array.isArray(reply) ? reply : [];
        if (typeof next !== 'string' || !Array.isArray(found)) {
          throw new Error(`SCAN on node ${node.port} answered ${JSON.stringify(reply)}`);
        }
        for (const key of found) {
          if (typeof key === 'string' && wanted.has(key) && !holder.has(key)) holder.set(key, node);
        }
        cursor = next;
      } while (cursor !== '0');
    }
    const grouped = new Map<RedisServer | undefined, string[]>();
    for (const key of keys) {
      const node = holder.get(key);
      const list = grouped.get(node) ?? [];
      list.push(key);
      grouped.set(node, list);
    }
    return grouped;
  }

  /** The node id (`CLUSTER MYID`) of `node`. */
  async nodeId(node: RedisServer): Promise<string> {
    return node.cli('CLUSTER', 'MYID');
  }

  /**
   * The master serving `slot`, as the first running node sees it (`CLUSTER NODES`); after a
   * failover, the promoted replica. Replicas list no slots, so they are never named.
   */
  async ownerOf(slot: number): Promise<RedisServer> {
    for (const line of await this.clusterNodes()) {
      if (!line.flags.includes('master')) continue;
      for (const range of line.slots) {
        const [from, to] = range.split('-').map(Number);
        if (from !== undefined && slot >= from && slot <= (to ?? from)) {
          const owner = this.servers.find((node) => node.port === line.port);
          if (owner) return owner;
        }
      }
    }
    throw new Error(`no node serves slot ${slot}`);
  }

  /**
   * The node replicating `master` now: the first replica `master` lists as `state=online` in INFO
   * replication (its replication links, which lag no gossip, unlike `CLUSTER REPLICAS`).
   * @throws Error when `master` has no online replica.
   */
  async replicaOf(master: RedisServer): Promise<RedisServer> {
    for (const port of await onlineReplicaPorts(master)) {
      const replica = this.servers.find((node) => node.port === port);
      if (replica) return replica;
    }
    throw new Error(`master on port ${master.port} has no online replica`);
  }

  /**
   * Crashes `master` with kill -9 and resolves once its replica has won the election
   * (`role:master`) and every surviving node reports `cluster_state:ok` and routes the slots to
   * it. Takes node timeout (2 s) + election (~0.5-1 s).
   * `replica`: the one to await, when the test cut its link (it is then not online);
   * `afterKill`: runs right after the kill (e.g. resumes a frozen replica).
   * @throws Error when `master` has no replica, or the failover does not finish in `timeoutMs`.
   */
  async killMasterAndAwaitFailover(
    master: RedisServer,
    timeoutMs = 20_000,
    options: { replica?: RedisServer; afterKill?: () => Promise<void> } = {},
  ): Promise<ClusterFailoverResult> {
    const replica = options.replica ?? (await this.replicaOf(master));
    const started = performance.now();
    await master.kill();
    await options.afterKill?.();
    const survivors = this.servers.filter((node) => node !== master && node.isRunning());
    await waitFor(
      async () => {
        if (!/^role:master\r?$/m.test(await replica.cli('INFO', 'replication'))) return false;
        // Not only the winner: every survivor must have taken the new owner of the slots.
        for (const node of survivors) {
          const info = await node.cli('CLUSTER', 'INFO');
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
          const seen = parseClusterNodes(await node.cli('CLUSTER', 'NODES')).find(
            (line) => line.port === replica.port,
          );
          if (!seen?.flags.includes('master') || seen.slots.length === 0) return false;
        }
        return true;
      },
      {
        timeoutMs,
        intervalMs: 50,
        message: `replica ${replica.port} to take over from killed master ${master.port}`,
      },
    );
    return { promoted: replica, ms: performance.now() - started };
  }

  /**
   * Restarts a killed node on its port and directory (its nodes.conf keeps its id, so it rejoins)
   * and resolves once it is a replica with `master_link_status:up` that its master lists as
   * `state=online` and every other node sees as a replica, no longer failed. A returning master
   * demotes itself as soon as it learns its slots moved (a few ms); if it has not within 3 s, it
   * is told `CLUSTER REPLICATE` to the slot master with fewest replicas.
   * @returns its master, and milliseconds from the restart call to the replica being online.
   */
  async restartAsReplica(
    node: RedisServer,
    timeoutMs = 20_000,
  ): Promise<{ master: RedisServer; ms: number }> {
    const started = performance.now();
    await node.restart();
    let replicateSent = false;
    const master = await waitFor(
      async () => {
        const info = await node.cli('INFO', 'replication');
        if (/^role:master\r?$/m.test(info)) {
          if (!replicateSent && performance.now() - started > SELF_DEMOTE_GRACE_MS) {
            const target = await this.masterWithFewestReplicas(node);
            const id = await this.nodeId(target);
            const reply = await respCommand(node.port, ['CLUSTER', 'REPLICATE', id]);
            if (reply instanceof RespErrorReply) throw new Error(reply.message);
            replicateSent = true;
          }
          return undefined;
        }
        if (!/master_link_status:up/.test(info)) return undefined;
        const port = Number(/^master_port:(\d+)\r?$/m.exec(info)?.[1]);
        const current = this.servers.find((server) => server.port === port);
        if (!current || !(await onlineReplicaPorts(current)).includes(node.port)) return undefined;
        if (!/cluster_state:ok/.test(await node.cli('CLUSTER', 'INFO'))) return undefined;
        // The others still flag it `master,fail` until its first ping as a replica reaches them.
        for (const other of this.servers) {
          if (other === node || !other.isRunning()) continue;
          const seen = parseClusterNodes(await other.cli('CLUSTER', 'NODES')).find(
            (line) => line.port === node.port,
          );
          if (!seen?.flags.includes('slave') || seen.flags.some((f) => f.startsWith('fail'))) {
            return undefined;
          }
        }
        return current;
      },
      { timeoutMs, intervalMs: 50, message: `restarted node ${node.port} to be an online replica` },
    );
    return { master, ms: performance.now() - started };
  }

  /**
   * Moves `slot` from its owner to `target` the way `redis-cli --cluster reshard` does: IMPORTING
   * on the target, MIGRATING on the source, MIGRATE of its keys in batches of `batchSize` (calling
   * `between` after each batch, so a test can act while the slot is half-migrated), then SETSLOT
   * NODE on every node.
   */
  async migrateSlot(
    slot: number,
    target: RedisServer,
    { batchSize = 10, between }: { batchSize?: number; between?: () => Promise<void> } = {},
  ): Promise<void> {
    const source = await this.ownerOf(slot);
    if (source === target) return;
    const [sourceId, targetId] = [await this.nodeId(source), await this.nodeId(target)];
    await target.cli('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId);
    await source.cli('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId);
    for (;;) {
      const keys = (await source.cli('CLUSTER', 'GETKEYSINSLOT', String(slot), String(batchSize)))
        .split('\n')
        .filter((key) => key !== '');
      if (keys.length === 0) break;
      await source.cli(
        'MIGRATE',
        target.host,
        String(target.port),
        '',
        '0',
        '5000',
        'KEYS',
        ...keys,
      );
      await between?.();
    }
    // SETSLOT is for masters only (a replica answers an error and follows its master).
    const others = (await this.masters(false)).filter((n) => n !== source && n !== target);
    for (const node of [target, source, ...others]) {
      await node.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId);
    }
  }

  /** A running node to ask cluster-wide questions (the first master at creation if it runs). */
  private anyRunning(): RedisServer {
    const node = this.servers.find((server) => server.isRunning());
    if (!node) throw new Error('no cluster node is running');
    return node;
  }

  /** `CLUSTER NODES` as the first running node sees it. */
  private async clusterNodes(): Promise<ClusterNodeLine[]> {
    return parseClusterNodes(await this.anyRunning().cli('CLUSTER', 'NODES'));
  }

  /** The masters not flagged failed (with `withSlots`, only those serving a slot), as seen now. */
  private async masters(withSlots: boolean): Promise<RedisServer[]> {
    const ports = (await this.clusterNodes())
      .filter((line) => line.flags.includes('master') && !line.flags.includes('fail'))
      .filter((line) => !withSlots || line.slots.length > 0)
      .map((line) => line.port);
    return this.servers.filter((server) => ports.includes(server.port));
  }

  /** The slot master, other than `except`, with the fewest online replicas. */
  private async masterWithFewestReplicas(except: RedisServer): Promise<RedisServer> {
    let best: { master: RedisServer; replicas: number } | undefined;
    for (const master of await this.masters(true)) {
      if (master === except) continue;
      const replicas = (await onlineReplicaPorts(master)).length;
      if (!best || replicas < best.replicas) best = { master, replicas };
    }
    if (!best) throw new Error('no master to replicate');
    return best.master;
  }
}

/** Parses `CLUSTER NODES` (or `CLUSTER REPLICAS`) output. */
function parseClusterNodes(text: string): ClusterNodeLine[] {
  const lines: ClusterNodeLine[] = [];
  for (const raw of text.split('\n')) {
    // id address[@busport[,hostname]] flags master ping pong epoch link slot-range...
    const [, address, flags, , , , , , ...slots] = raw.trim().split(' ');
    if (!address || !flags) continue;
    lines.push({
      port: Number(address.split('@')[0]?.split(':').at(-1)),
      flags: flags.split(','),
      slots: slots.filter((range) => !range.startsWith('[')),
    });
  }
  return lines;
}

/** Ports of the replicas `master` lists as `state=online` (INFO replication). */
async function onlineReplicaPorts(master: RedisServer): Promise<number[]> {
  const info = await master.cli('INFO', 'replication');
  // slave0:ip=127.0.0.1,port=7001,state=online,offset=42,lag=0
  return [...info.matchAll(/^slave\d+:.*\bport=(\d+),state=online\b/gm)].map((m) => Number(m[1]));
}
