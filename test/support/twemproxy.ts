import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { freePorts } from './free-port.js';
import { delay, waitFor } from './poll.js';
import { isRunning, killAndWait, readPidFile, sendSignal, terminate } from './processes.js';
import { RedisServer } from './redis-server.js';
import { respCommand } from './resp.js';
import { makeTempDir } from './temp-dir.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;
/** Name of the one pool in the generated config. */
const TWEMPROXY_POOL = 'cache';

/** Options of {@link Twemproxy.start}. */
export interface TwemproxyStartOptions {
  /**
   * Number of redis-server shards to start behind the proxy, or shards to reuse (another proxy's:
   * two proxies of one pool). Reused shards are not stopped by {@link Twemproxy.stop}.
   * @default 3
   */
  shards?: number | readonly RedisServer[];
  /**
   * `auto_eject_hosts`: with `true` a failing shard is ejected and its keys rehash to the others.
   * @default false
   */
  autoEjectHosts?: boolean;
  /** `server_retry_timeout`, milliseconds before an ejected shard is tried again. @default 2_000 */
  serverRetryTimeoutMs?: number;
  /** `server_failure_limit`: consecutive failures that eject a shard. @default 1 */
  serverFailureLimit?: number;
  /** `timeout`, milliseconds the proxy waits for a shard's answer. @default 400 */
  timeoutMs?: number;
  /** Stats aggregation interval (`-i`), in milliseconds. @default 100 */
  statsIntervalMs?: number;
  /** `hash_tag: "{}"`: keys hash by their `{tag}`. `false` leaves it out of the config. @default true */
  hashTag?: boolean;
}

/** The counters of one pool in nutcracker's stats JSON (the ones tests look at). */
export interface TwemproxyPoolStats {
  client_eof: number;
  client_err: number;
  client_connections: number;
  forward_error: number;
  server_ejects: number;
  fragments: number;
  /** Per-server counters, by server name (`r1`, `r2`, ...). */
  servers: Record<string, Record<string, number>>;
}

/**
 * A real twemproxy (nutcracker 0.5.0) pool in front of N real redis-server shards, on free loopback
 * ports, with the configuration from shared/REDIS-FACTS.md: `fnv1a_64` + `ketama`, hash tag `{}`,
 * `server_connections: 1` (more reorders pipelined writes to one key), `preconnect`. Its pidfile
 * (`nutcracker.pid`) lives in a makeTempDir() directory, so the end-of-run sweep kills a proxy a
 * test forgot. Shards are {@link RedisServer}s: kill, pause and restart them to inject faults.
 *
 * @example
 * const proxy = await Twemproxy.start({ shards: 3 });
 * try {
 *   const shard = await proxy.shardOf('some-key');
 * } finally {
 *   await proxy.stop();
 * }
 */
export class Twemproxy {
  readonly host = HOST;
  private currentPid: number;

  private constructor(
    /** Port clients connect to. */
    readonly port: number,
    /** Port of nutcracker's stats (JSON dump per connection). */
    readonly statsPort: number,
    /** Directory of the config, log and pidfile. */
    readonly dir: string,
    /** The Redis shards, in config order (server names `r1`, `r2`, ...). */
    readonly shards: readonly RedisServer[],
    private readonly statsIntervalMs: number,
    private readonly ownsShards: boolean,
    pid: number,
  ) {
    this.currentPid = pid;
  }

  /** PID of the nutcracker process. */
  get pid(): number {
    return this.currentPid;
  }

  /** Path of nutcracker's log. */
  get logFile(): string {
    return join(this.dir, 'nutcracker.log');
  }

  /**
   * Starts the shards, then nutcracker, and resolves once the proxy accepts connections and its
   * stats port answers.
   * @throws Error quoting the nutcracker log when it does not come up.
   */
  static async start(options: TwemproxyStartOptions = {}): Promise<Twemproxy> {
    const given = typeof options.shards === 'object' ? options.shards : undefined;
    const shardCount = typeof options.shards === 'number' ? options.shards : 3;
    const statsIntervalMs = options.statsIntervalMs ?? 100;
    const shards: RedisServer[] = given === undefined ? [] : [...given];
    try {
      if (given === undefined) {
        for (let i = 0; i < shardCount; i++) shards.push(await RedisServer.start());
      }
      let lastError: unknown;
      for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        const [port, statsPort] = await freePorts(2);
        if (port === undefined || statsPort === undefined) throw new Error('no free ports');
        const dir = makeTempDir(`nutcracker-${port}-`);
        try {
          writeFileSync(join(dir, 'nutcracker.yml'), config(port, shards, options));
          const pid = await launch(dir, statsPort, statsIntervalMs, port);
          return new Twemproxy(port, statsPort, dir, shards, statsIntervalMs, !given, pid);
        } catch (error: unknown) {
          lastError = error;
          rmSync(dir, { recursive: true, force: true });
        }
      }
      throw lastError instanceof Error ? lastError : new Error(String(lastError));
    } catch (error: unknown) {
      if (given === undefined) await Promise.all(shards.map((shard) => shard.stop()));
      throw error;
    }
  }

  /**
   * Stops nutcracker and the shards it started, and removes their directories. Safe to call twice.
   */
  async stop(): Promise<void> {
    await terminate(this.currentPid, 1_000);
    rmSync(this.dir, { recursive: true, force: true });
    if (this.ownsShards) await Promise.all(this.shards.map((shard) => shard.stop()));
  }

  /** Crashes nutcracker itself (SIGKILL); the shards keep running. */
  async kill(): Promise<void> {
    await killAndWait(this.currentPid);
  }

  /** Whether nutcracker itself is alive. */
  isRunning(): boolean {
    return isRunning(this.currentPid);
  }

  /**
   * The shard holding `key`, found by asking every backend (`EXISTS`), never by assuming a
   * distribution; `undefined` when no live shard has it.
   */
  async shardOf(key: string): Promise<RedisServer | undefined> {
    for (const shard of this.shards) {
      if (!shard.isRunning()) continue;
      const reply = await respCommand(shard.port, ['EXISTS', key]);
      if (reply === 1) return shard;
    }
    return undefined;
  }

  /**
   * Groups `keys` by the shard that holds them (asking the backends with one MGET each). Keys no
   * live shard holds are under `undefined`.
   */
  async keysByShard(keys: readonly string[]): Promise<Map<RedisServer | undefined, string[]>> {
    const found = new Map<RedisServer | undefined, string[]>();
    const placed = new Set<string>();
    for (const shard of this.shards) {
      if (!shard.isRunning()) continue;
      for (let start = 0; start < keys.length; start += 500) {
        const chunk = keys.slice(start, start + 500);
        const reply = await respCommand(shard.port, ['MGET', ...chunk], { timeoutMs: 5_000 });
        if (!Array.isArray(reply))
          throw new Error(`MGET on shard ${shard.port} answered ${JSON.stringify(reply)}`);
        chunk.forEach((key, i) => {
          if (reply[i] === null || placed.has(key)) return;
          placed.add(key);
          const list = found.get(shard) ?? [];
          list.push(key);
          found.set(shard, list);
        });
      }
    }
    const missing = keys.filter((key) => !placed.has(key));
    if (missing.length > 0) found.set(undefined, missing);
    return found;
  }

  /**
   * The pool's counters from the stats port. Waits one aggregation interval first, so that what
   * happened just before the call is counted.
   */
  async stats(): Promise<TwemproxyPoolStats> {
    await delay(this.statsIntervalMs * 2 + 20);
    const json = await readAll(this.statsPort);
    const parsed = JSON.parse(json) as Record<string, unknown>;
    const pool = parsed[TWEMPROXY_POOL] as Record<string, unknown> | undefined;
    if (pool === undefined) throw new Error(`no pool '${TWEMPROXY_POOL}' in nutcracker stats`);
    const servers: Record<string, Record<string, number>> = {};
    const counters: Record<string, number> = {};
    for (const [name, value] of Object.entries(pool)) {
      if (typeof value === 'number') counters[name] = value;
      else if (typeof value === 'object' && value !== null) {
        servers[name] = value as Record<string, number>;
      }
    }
    return {
      client_eof: counters['client_eof'] ?? 0,
      client_err: counters['client_err'] ?? 0,
      client_connections: counters['client_connections'] ?? 0,
      forward_error: counters['forward_error'] ?? 0,
      server_ejects: counters['server_ejects'] ?? 0,
      fragments: counters['fragments'] ?? 0,
      servers,
    };
  }

  /**
   * Synchronous last-resort kill for exit handlers.
   * @internal
   */
  killSync(): void {
    sendSignal(this.currentPid, 'SIGKILL');
    if (this.ownsShards) for (const shard of this.shards) shard.killSync();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** nutcracker's YAML config for one pool over `shards`. */
function config(
  port: number,
  shards: readonly RedisServer[],
  options: TwemproxyStartOptions,
): string {
  const autoEject = options.autoEjectHosts ?? false;
  const lines = [
    `${TWEMPROXY_POOL}:`,
    `  listen: ${HOST}:${port}`,
    '  redis: true',
    '  hash: fnv1a_64',
    ...(options.hashTag === false ? [] : ['  hash_tag: "{}"']),
    '  distribution: ketama',
    `  timeout: ${options.timeoutMs ?? 400}`,
    '  preconnect: true',
    // NOTE: more than one connection per shard reorders pipelined writes to one key.
    '  server_connections: 1',
    `  auto_eject_hosts: ${String(autoEject)}`,
  ];
  if (autoEject) {
    lines.push(`  server_retry_timeout: ${options.serverRetryTimeoutMs ?? 2_000}`);
    lines.push(`  server_failure_limit: ${options.serverFailureLimit ?? 1}`);
  }
  lines.push('  servers:');
  shards.forEach((shard, i) => lines.push(`   - ${HOST}:${shard.port}:1 r${i + 1}`));
  return `${lines.join('\n')}\n`;
}

/** Starts nutcracker daemonized and resolves with its PID once the proxy and stats ports answer. */
async function launch(
  dir: string,
  statsPort: number,
  statsIntervalMs: number,
  port: number,
): Promise<number> {
  const pidFile = join(dir, 'nutcracker.pid');
  const logFile = join(dir, 'nutcracker.log');
  const args = [
    '-c',
    join(dir, 'nutcracker.yml'),
    '-s',
    String(statsPort),
    '-a',
    HOST,
    '-i',
    String(statsIntervalMs),
    '-o',
    logFile,
    '-p',
    pidFile,
    '-d',
  ];
  try {
    await run(requireBinary('nutcracker'), args, { timeout: 5_000 });
  } catch (error: unknown) {
    throw new Error(
      `nutcracker on port ${port} failed to start: ${String(error)}${tail(logFile)}`,
      {
        cause: error,
      },
    );
  }
  let pid: number | undefined;
  try {
    pid = await waitFor(() => readPidFile(pidFile), {
      timeoutMs: 3_000,
      message: 'nutcracker pidfile',
    });
    const started = pid;
    await waitFor(
      async () => {
        if (!isRunning(started)) throw new Error('nutcracker exited');
        await readAll(statsPort);
        // PING is answered by the proxy itself: enough to know it listens.
        return (await respCommand(port, ['PING'], { timeoutMs: 300 })) === 'PONG';
      },
      { timeoutMs: 3_000, intervalMs: 20, message: `nutcracker on port ${port} to answer` },
    );
    return started;
  } catch (error: unknown) {
    if (pid !== undefined) await terminate(pid, 500);
    throw new Error(
      `nutcracker on port ${port} did not come up: ${String(error)}${tail(logFile)}`,
      {
        cause: error,
      },
    );
  }
}

/** Everything the stats port sends before it closes the connection. */
function readAll(port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: HOST });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`stats port ${port} sent nothing within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

function tail(logFile: string): string {
  try {
    const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-8);
    return `\n${lines.join('\n')}`;
  } catch {
    return ' (no log)';
  }
}
