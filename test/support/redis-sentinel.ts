import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { waitFor } from './poll.js';
import { isRunning, readPidFile, sendSignal, terminate } from './processes.js';
import { RedisServer } from './redis-server.js';
import { respCommand, RespErrorReply, type RespReply } from './resp.js';
import { makeTempDir } from './temp-dir.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;

/** Name of the monitored master. */
export const SENTINEL_MASTER_NAME = 'mymaster';

/** Options of {@link RedisSentinelGroup.start}. */
export interface RedisSentinelStartOptions {
  /** Replicas of the master. @default 1 */
  replicas?: number;
  /** Sentinel processes. @default 1 */
  sentinels?: number;
  /** Sentinels that must agree the master is down. @default a majority of `sentinels` */
  quorum?: number;
  /** `down-after-milliseconds`. @default 1_000 */
  downAfterMs?: number;
  /** `failover-timeout`, milliseconds. @default 5_000 */
  failoverTimeoutMs?: number;
}

/** What a failover did, as seen by the Sentinels. */
export interface FailoverResult {
  previous: RedisServer;
  master: RedisServer;
  /** Milliseconds from the trigger (command or kill) to the Sentinels naming the new master. */
  ms: number;
}

/** One `redis-sentinel` process with its own writable config file (Sentinel rewrites it). */
class SentinelProcess {
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly pid: number,
  ) {}

  static async start(
    masterPort: number,
    quorum: number,
    downAfterMs: number,
    failoverTimeoutMs: number,
  ): Promise<SentinelProcess> {
    let lastError: unknown;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const port = await freePort();
      const dir = makeTempDir(`sentinel-${port}-`);
      const pidFile = join(dir, 'sentinel.pid');
      const logFile = join(dir, 'sentinel.log');
      const config = [
        `port ${port}`,
        `bind ${HOST}`,
        'daemonize yes',
        `pidfile ${pidFile}`,
        `logfile ${logFile}`,
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${masterPort} ${quorum}`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${downAfterMs}`,
        `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
      ].join('\n');
      const configFile = join(dir, 'sentinel.conf');
      writeFileSync(configFile, `${config}\n`);
      try {
        await run(requireBinary('redis-sentinel'), [configFile], { timeout: 5_000 });
        const pid = await waitFor(() => readPidFile(pidFile), {
          timeoutMs: 3_000,
          message: `redis-sentinel on port ${port} to write its pidfile`,
        });
        await waitFor(
          async () => {
            if (!isRunning(pid)) throw new Error(`redis-sentinel exited:${tail(logFile)}`);
            return Array.isArray(await sentinelCommand(port, 'get-master-addr-by-name'));
          },
          { timeoutMs: 3_000, message: `redis-sentinel on port ${port} to answer` },
        );
        return new SentinelProcess(port, dir, pid);
      } catch (error: unknown) {
        lastError = error;
        const pid = readPidFile(pidFile);
        if (pid !== undefined) await terminate(pid, 500);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  async stop(): Promise<void> {
    await terminate(this.pid, 1_000);
    rmSync(this.dir, { recursive: true, force: true });
  }

  killSync(): void {
    sendSignal(this.pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A real Sentinel deployment on free loopback ports: one master and its replicas (each a
 * {@link RedisServer} with `repl-diskless-sync-delay 0`, else the replica link takes ~5 s), and
 * one or more `redis-sentinel` processes monitoring it as `mymaster` with
 * `down-after-milliseconds 1000` and `failover-timeout 5000`. Ready once every replica is in
 * sync and every Sentinel knows every replica. Pidfiles (`*.pid`) live in makeTempDir()
 * directories, so the end-of-run sweep kills whatever a test forgot. Takes well under a second.
 *
 * @example
 * const group = await RedisSentinelGroup.start();
 * try {
 *   const { master, ms } = await group.failover();
 * } finally {
 *   await group.stop();
 * }
 */
export class RedisSentinelGroup {
  private constructor(
    /** Every Redis server of the group (the first started as master). */
    readonly servers: readonly RedisServer[],
    private readonly sentinels: readonly SentinelProcess[],
  ) {}

  /** Sentinel addresses for a client: `[{ host, port }, ...]`. */
  get sentinelNodes(): Array<{ host: string; port: number }> {
    return this.sentinels.map((sentinel) => ({ host: HOST, port: sentinel.port }));
  }

  /**
   * Starts the master, its replicas and the Sentinels, and resolves once replication is up and
   * the Sentinels know every replica.
   */
  static async start(options: RedisSentinelStartOptions = {}): Promise<RedisSentinelGroup> {
    const replicaCount = options.replicas ?? 1;
    const sentinelCount = options.sentinels ?? 1;
    const quorum = options.quorum ?? Math.floor(sentinelCount / 2) + 1;
    const servers: RedisServer[] = [];
    const sentinels: SentinelProcess[] = [];
    try {
      const master = await RedisServer.start({ args: ['--repl-diskless-sync-delay', '0'] });
      servers.push(master);
      for (let i = 0; i < replicaCount; i++) {
        servers.push(
          await RedisServer.start({
            args: ['--repl-diskless-sync-delay', '0', '--replicaof', HOST, String(master.port)],
          }),
        );
      }
      for (let i = 0; i < sentinelCount; i++) {
        sentinels.push(
          await SentinelProcess.start(
            master.port,
            quorum,
            options.downAfterMs ?? 1_000,
            options.failoverTimeoutMs ?? 5_000,
          ),
        );
      }
      const group = new RedisSentinelGroup(servers, sentinels);
      await group.waitUntilSynced(master);
      return group;
    } catch (error: unknown) {
      await Promise.all(sentinels.map((sentinel) => sentinel.stop()));
      await Promise.all(servers.map((server) => server.stop()));
      throw error;
    }
  }

  /** The master the first Sentinel names now. */
  async master(): Promise<RedisServer> {
    const reply = await sentinelCommand(this.sentinels[0]!.port, 'get-master-addr-by-name');
    const port = Array.isArray(reply) ? Number(reply[1]) : Number.NaN;
    const server = this.servers.find((candidate) => candidate.port === port);
    if (server === undefined)
      throw new Error(`Sentinel names an unknown master: ${JSON.stringify(reply)}`);
    return server;
  }

  /**
   * Resolves once every live replica of `master` has its link up and every Sentinel lists it as a
   * healthy replica (so that a failover can pick it).
   */
  async waitUntilSynced(master?: RedisServer, timeoutMs = 10_000): Promise<void> {
    const current = master ?? (await this.master());
    const replicas = this.servers.filter((server) => server !== current && server.isRunning());
    await waitFor(
      async () => {
        for (const replica of replicas) {
          const info = await replica.cli('INFO', 'replication');
          if (!/master_link_status:up/.test(info)) return false;
          if (!new RegExp(`master_port:${current.port}\\r?$`, 'm').test(info)) return false;
        }
        for (const sentinel of this.sentinels) {
          const reply = await sentinelCommand(sentinel.port, 'replicas');
          if (!Array.isArray(reply)) return false;
          const healthy = reply.filter((entry) => {
            const fields = fieldsOf(entry);
            return (
              fields['flags'] === 'slave' &&
              fields['master-link-status'] === 'ok' &&
              fields['master-port'] === String(current.port)
            );
          });
          if (healthy.length < replicas.length) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 50, message: 'replicas in sync and known to every Sentinel' },
    );
  }

  /**
   * `SENTINEL FAILOVER mymaster`: resolves once the Sentinels name another master and it says it
   * is one (`role:master`).
   */
  async failover(timeoutMs = 10_000): Promise<FailoverResult> {
    const previous = await this.master();
    await this.waitUntilSynced(previous);
    const started = performance.now();
    await waitFor(
      async () => {
        const reply = await sentinelCommand(this.sentinels[0]!.port, 'failover');
        if (reply instanceof RespErrorReply) throw new Error(reply.message);
        return true;
      },
      { timeoutMs: 3_000, intervalMs: 100, message: 'Sentinel to accept SENTINEL FAILOVER' },
    );
    return this.awaitNewMaster(previous, started, timeoutMs);
  }

  /**
   * Crashes the current master with kill -9 and resolves once the Sentinels have promoted a
   * replica (after `down-after-milliseconds` and an election).
   */
  async killMaster(timeoutMs = 15_000): Promise<FailoverResult> {
    const previous = await this.master();
    await this.waitUntilSynced(previous);
    const started = performance.now();
    await previous.kill();
    return this.awaitNewMaster(previous, started, timeoutMs);
  }

  /** Stops every Sentinel and server and removes their directories. */
  async stop(): Promise<void> {
    await Promise.all(this.sentinels.map((sentinel) => sentinel.stop()));
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  /**
   * Synchronous last-resort kill for exit handlers.
   * @internal
   */
  killSync(): void {
    for (const sentinel of this.sentinels) sentinel.killSync();
    for (const server of this.servers) server.killSync();
  }

  private async awaitNewMaster(
    previous: RedisServer,
    started: number,
    timeoutMs: number,
  ): Promise<FailoverResult> {
    const master = await waitFor(
      async () => {
        for (const sentinel of this.sentinels) {
          const reply = await sentinelCommand(sentinel.port, 'get-master-addr-by-name');
          if (!Array.isArray(reply) || Number(reply[1]) === previous.port) return undefined;
        }
        const candidate = await this.master();
        const role = await candidate.cli('ROLE');
        return role.startsWith('master') ? candidate : undefined;
      },
      { timeoutMs, intervalMs: 20, message: `a new master to replace port ${previous.port}` },
    );
    return { previous, master, ms: performance.now() - started };
  }
}

/** `SENTINEL <subcommand> mymaster` on the Sentinel at `port`. */
function sentinelCommand(port: number, subcommand: string): Promise<RespReply> {
  return respCommand(port, ['SENTINEL', subcommand, SENTINEL_MASTER_NAME], { timeoutMs: 2_000 });
}

/** A flat `[name, value, name, value, ...]` reply as an object. */
function fieldsOf(entry: RespReply): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!Array.isArray(entry)) return fields;
  for (let i = 0; i + 1 < entry.length; i += 2) fields[scalar(entry[i])] = scalar(entry[i + 1]);
  return fields;
}

/** A string or number reply as text ('' for anything else). */
function scalar(reply: RespReply | undefined): string {
  return typeof reply === 'string' || typeof reply === 'number' ? String(reply) : '';
}

function tail(logFile: string): string {
  try {
    return `\n${readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-8).join('\n')}`;
  } catch {
    return ' (no log)';
  }
}
