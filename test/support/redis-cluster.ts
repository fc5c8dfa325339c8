import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { freePorts } from './free-port.js';
import { waitFor } from './poll.js';
import { RedisServer } from './redis-server.js';
import { respCommand } from './resp.js';

const run = promisify(execFile);
const START_ATTEMPTS = 3;

/** Options of {@link RedisCluster.start}. */
export interface RedisClusterStartOptions {
  /** Number of masters (no replicas). @default 3 */
  masters?: number;
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

/**
 * A real Redis Cluster of N masters on free loopback ports (each port and its bus port, port +
 * 10000, checked free), each node a {@link RedisServer} with its own fresh directory (a leftover
 * nodes.conf would rejoin an old cluster). Created with `redis-cli --cluster create ...
 * --cluster-yes`; ready once every node reports `cluster_state:ok` and all 16384 slots. Takes
 * about 3.5 s: start one per test file.
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
    /** The master nodes, in creation order. */
    readonly nodes: readonly RedisServer[],
  ) {}

  /** Seed nodes for a client: `[{ host, port }, ...]`. */
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
    const nodes: RedisServer[] = [];
    try {
      const ports = await freePorts(count, { withClusterBusPort: true });
      for (const port of ports) {
        nodes.push(
          await RedisServer.start({
            port,
            args: [
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
      const cluster = new RedisCluster(nodes);
      try {
        await run(
          requireBinary('redis-cli'),
          [
            '--cluster',
            'create',
            ...nodes.map((node) => `${node.host}:${node.port}`),
            '--cluster-replicas',
            '0',
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
      await cluster.waitUntilReady(options.readyTimeoutMs ?? 15_000);
      return cluster;
    } catch (error: unknown) {
      await Promise.all(nodes.map((node) => node.stop()));
      throw error;
    }
  }

  /** Resolves once every node reports `cluster_state:ok` with all 16384 slots assigned and ok. */
  async waitUntilReady(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.nodes) {
          const info = await node.cli('CLUSTER', 'INFO');
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 100, message: 'every cluster node to report cluster_state:ok' },
    );
  }

  /** Stops every node and removes their directories. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }

  /** The slot of `key`, as Redis computes it (`CLUSTER KEYSLOT`). */
  async keySlot(key: string): Promise<number> {
    return Number(await this.nodes[0]!.cli('CLUSTER', 'KEYSLOT', key));
  }

  /**
   * Groups `keys` by the master that holds them, asking every running node with `SCAN` (which sees
   * that node's keys only), never by computing slots. Keys no running node holds are under
   * `undefined`.
   */
  async keysByNode(keys: readonly string[]): Promise<Map<RedisServer | undefined, string[]>> {
    const wanted = new Set(keys);
    const holder = new Map<string, RedisServer>();
    for (const node of this.nodes) {
      if (!node.isRunning()) continue;
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

  /** The master serving `slot`, as the first node sees it (`CLUSTER NODES`). */
  async ownerOf(slot: number): Promise<RedisServer> {
    // Lines of CLUSTER NODES: id address flags master ping pong epoch link slot-range...
    const lines = (await this.nodes[0]!.cli('CLUSTER', 'NODES')).split('\n');
    for (const line of lines) {
      const [, address, , , , , , , ...ranges] = line.split(' ');
      const port = Number(address?.split('@')[0]?.split(':')[1]);
      for (const range of ranges) {
        if (range.startsWith('[')) continue;
        const [from, to] = range.split('-').map(Number);
        if (from !== undefined && slot >= from && slot <= (to ?? from)) {
          const owner = this.nodes.find((node) => node.port === port);
          if (owner) return owner;
        }
      }
    }
    throw new Error(`no node serves slot ${slot}`);
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
    for (const node of [
      target,
      source,
      ...this.nodes.filter((n) => n !== source && n !== target),
    ]) {
      await node.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId);
    }
  }
}
