import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { delay } from './poll.js';
import { isRunning, killAndWait, readPidFile, sendSignal, terminate } from './processes.js';
import { respCommand, RespErrorReply } from './resp.js';
import { makeTempDir } from './temp-dir.js';

const run = promisify(execFile);

/** Options of {@link RedisServer.start}. */
export interface RedisServerStartOptions {
  /** Extra `redis-server` arguments, e.g. `['--requirepass', 's3cret']`. @default [] */
  args?: readonly string[];
  /** Port to listen on. @default a free port (retried with another one when the bind fails) */
  port?: number;
  /** Milliseconds to wait for the server to answer PING. @default 5_000 */
  startTimeoutMs?: number;
}

const HOST = '127.0.0.1';
const START_ATTEMPTS = 4;
/** Lines redis-server logs when it cannot start; seeing one ends the wait early. */
const FATAL_LOG = /Address already in use|Failed listening|Fatal error|FATAL|Bad directive|Can't /;

/**
 * Every server started and not stopped by this module instance. A process `exit` handler kills
 * them as a safety net. NOTE: inside Jest, `process` is a per-test-file copy whose `exit` never
 * fires; there the run directory sweep of global-setup.ts is what cleans up.
 */
const liveServers = new Set<RedisServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of liveServers) server.killSync();
  });
}

/**
 * A real `redis-server` on a free loopback port, daemonized, with a fresh temp dir for its
 * pidfile, log and data. Faults are injected with real signals: {@link kill} (crash),
 * {@link pause}/{@link resume} (hung server), {@link restart} (back on the same port).
 *
 * @example
 * const redis = await RedisServer.start();
 * try {
 *   await redis.cli('SET', 'k', 'v');
 * } finally {
 *   await redis.stop();
 * }
 */
export class RedisServer {
  /** Always the loopback address. */
  readonly host = HOST;
  private currentPid: number;
  private stopped = false;

  private constructor(
    /** TCP port the server listens on; the same across {@link restart}. */
    readonly port: number,
    /** Directory holding `redis.pid`, `redis.log` and data files. */
    readonly dir: string,
    private readonly args: readonly string[],
    private readonly startTimeoutMs: number,
    pid: number,
  ) {
    this.currentPid = pid;
  }

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** PID of the server process (of the last one, once killed or stopped). */
  get pid(): number {
    return this.currentPid;
  }

  /** Path of the server's log file, handy in failure messages. */
  get logFile(): string {
    return join(this.dir, 'redis.log');
  }

  /**
   * Starts a server and resolves once it answers PING.
   * @throws Error naming the port and quoting the server log when it does not come up.
   */
  static async start(options: RedisServerStartOptions = {}): Promise<RedisServer> {
    const args = options.args ?? [];
    const startTimeoutMs = options.startTimeoutMs ?? 5_000;
    let lastError: unknown;
    for (let attempt = 0; attempt < (options.port === undefined ? START_ATTEMPTS : 1); attempt++) {
      const port = options.port ?? (await freePort());
      const dir = makeTempDir(`redis-${port}-`);
      try {
        const pid = await launch(port, dir, args, startTimeoutMs);
        const server = new RedisServer(port, dir, args, startTimeoutMs, pid);
        liveServers.add(server);
        installExitHook();
        return server;
      } catch (error: unknown) {
        // Most likely another process took the port between freePort() and the bind: retry.
        lastError = error;
        rmSync(dir, { recursive: true, force: true });
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  /** Whether the server process is alive (a paused one counts as alive). */
  isRunning(): boolean {
    return isRunning(this.currentPid);
  }

  /**
   * Stops the server (SIGCONT in case it is paused, SIGTERM, SIGKILL after 3 s) and removes its
   * temp dir. Safe to call twice, or after {@link kill}.
   */
  async stop(): Promise<void> {
    await terminate(this.currentPid);
    this.stopped = true;
    liveServers.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Crashes the server with SIGKILL (kill -9) and resolves once its process is gone. */
  async kill(): Promise<void> {
    await killAndWait(this.currentPid);
  }

  /** Freezes the server with SIGSTOP: it keeps its sockets open but answers nothing. */
  pause(): Promise<void> {
    sendSignal(this.currentPid, 'SIGSTOP');
    return Promise.resolve();
  }

  /** Thaws a server frozen by {@link pause}. */
  resume(): Promise<void> {
    sendSignal(this.currentPid, 'SIGCONT');
    return Promise.resolve();
  }

  /**
   * Starts the server again on the same port, with the same arguments and an empty dataset,
   * after {@link kill} or {@link stop}; resolves once it answers PING.
   * @throws Error when the server is still running, or does not come up (e.g. the port was taken).
   */
  async restart(): Promise<void> {
    if (this.isRunning()) {
      throw new Error(
        `redis-server on port ${this.port} is still running; kill() or stop() it first`,
      );
    }
    mkdirSync(this.dir, { recursive: true });
    this.currentPid = await launch(this.port, this.dir, this.args, this.startTimeoutMs);
    this.stopped = false;
    liveServers.add(this);
  }

  /**
   * Runs `redis-cli -h 127.0.0.1 -p PORT ...args` and resolves with its stdout, without the
   * trailing newline. Without a TTY redis-cli prints raw values: `GET` of a missing key gives `''`,
   * integers print as digits, errors as `ERR ...`.
   * @throws Error when redis-cli exits non-zero or takes longer than 5 s (e.g. the server is paused).
   */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run(
      requireBinary('redis-cli'),
      ['-h', this.host, '-p', String(this.port), ...args],
      {
        timeout: 5_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return stdout.replace(/\n$/, '');
  }

  /**
   * Synchronous last-resort kill for exit handlers: SIGCONT, SIGKILL, remove the temp dir.
   * @internal
   */
  killSync(): void {
    if (!this.stopped) {
      sendSignal(this.currentPid, 'SIGCONT');
      sendSignal(this.currentPid, 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a daemonized redis-server and resolves with its PID once it answers PING. */
async function launch(
  port: number,
  dir: string,
  extraArgs: readonly string[],
  startTimeoutMs: number,
): Promise<number> {
  const pidFile = join(dir, 'redis.pid');
  const logFile = join(dir, 'redis.log');
  rmSync(pidFile, { force: true });
  rmSync(logFile, { force: true });
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'yes',
    '--pidfile',
    pidFile,
    '--logfile',
    logFile,
    '--dir',
    dir,
    ...extraArgs,
  ];
  try {
    // With --daemonize the command returns as soon as the server has forked.
    await run(requireBinary('redis-server'), args, { timeout: startTimeoutMs });
  } catch (error: unknown) {
    throw new Error(
      `redis-server on port ${port} failed to start: ${describe(error)}${logTail(logFile)}`,
      {
        cause: error,
      },
    );
  }

  const deadline = Date.now() + startTimeoutMs;
  let lastProblem = 'no pidfile yet';
  for (;;) {
    const pid = readPidFile(pidFile);
    const log = readLog(logFile);
    if (FATAL_LOG.test(log)) {
      if (pid !== undefined) await terminate(pid, 500);
      throw new Error(`redis-server on port ${port} failed to start:${logTail(logFile)}`);
    }
    if (pid !== undefined) {
      if (!isRunning(pid)) {
        throw new Error(
          `redis-server on port ${port} exited right after starting:${logTail(logFile)}`,
        );
      }
      try {
        // PING alone could be answered by some other server that owns the port: check the PID.
        const info = await respCommand(port, ['INFO', 'server'], { timeoutMs: 500 });
        if (info instanceof RespErrorReply) {
          lastProblem = `INFO answered ${info.message}`;
        } else if (
          typeof info === 'string' &&
          new RegExp(`^process_id:${pid}\\r?$`, 'm').test(info)
        ) {
          return pid;
        } else {
          lastProblem = `port ${port} is answered by another process than PID ${pid}`;
        }
      } catch (error: unknown) {
        lastProblem = describe(error);
      }
    }
    if (Date.now() >= deadline) {
      if (pid !== undefined) await terminate(pid, 500);
      throw new Error(
        `redis-server on port ${port} did not answer within ${startTimeoutMs} ms ` +
          `(${lastProblem}):${logTail(logFile)}`,
      );
    }
    await delay(20);
  }
}

function readLog(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8');
  } catch {
    return '';
  }
}

function logTail(logFile: string): string {
  const lines = readLog(logFile).trimEnd().split('\n').slice(-8);
  return lines.length === 0 || lines[0] === '' ? ' (empty log)' : `\n${lines.join('\n')}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    return typeof stderr === 'string' && stderr.trim() !== ''
      ? `${error.message}: ${stderr.trim()}`
      : error.message;
  }
  return String(error);
}
