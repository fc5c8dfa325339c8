/**
 * Jest globalSetup, and the few helpers it shares with the other support modules.
 *
 * NOTE: this file must not import relative modules. Jest loads it outside its own module system
 * (no moduleNameMapper), where a `./x.js` specifier of a TypeScript file does not resolve; so the
 * code it shares lives here and binaries.ts, processes.ts and temp-dir.ts re-export it.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The server binaries the real-component tests start. */
export const REQUIRED_BINARIES = [
  'redis-server',
  'redis-cli',
  'nutcracker',
  'redis-sentinel',
] as const;

/** One of {@link REQUIRED_BINARIES}. */
export type RequiredBinary = (typeof REQUIRED_BINARIES)[number];

/** Debian/Ubuntu packages that provide {@link REQUIRED_BINARIES}. */
export const APT_PACKAGES = [
  'redis-server',
  'redis-tools',
  'redis-sentinel',
  'nutcracker',
] as const;

/** The command that installs {@link APT_PACKAGES}, quoted in error messages. */
export const INSTALL_COMMAND = `apt-get install -y ${APT_PACKAGES.join(' ')}`;

/**
 * Directories searched after `PATH`: Debian puts `nutcracker` in /usr/sbin, which a non-root
 * user's `PATH` often lacks.
 */
export const EXTRA_BIN_DIRS = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

/**
 * Environment variable naming this test run's directory. {@link globalSetup} creates it under
 * os.tmpdir() and, when Jest exits, kills every server whose pidfile lies below it; so a crashed
 * worker or a test that forgot `stop()` leaves nothing running. Outside Jest it is unset.
 */
export const RUN_DIR_ENV = 'NDC_TEST_RUN_DIR';

/** Names of the server programs the support code starts; a sweep never kills anything else. */
export const SERVER_PROGRAMS = ['redis-server', 'redis-sentinel', 'nutcracker'] as const;

const RUN_DIR_PREFIX = 'ndc-jest-';

/**
 * Absolute path of an executable named `name` on `PATH` or in {@link EXTRA_BIN_DIRS}, or
 * `undefined` when there is none.
 */
export function findBinary(
  name: string,
  path: string = process.env['PATH'] ?? '',
): string | undefined {
  const dirs = [...path.split(delimiter).filter((dir) => dir !== ''), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: try the next directory.
    }
  }
  return undefined;
}

/** Reads a pidfile; `undefined` when it is missing, empty or not a number yet. */
export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs one of {@link SERVER_PROGRAMS} (guards against a recycled PID). */
export function isServerProcess(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return SERVER_PROGRAMS.some((name) => cmdline.includes(name));
  } catch {
    return false;
  }
}

/**
 * Synchronously SIGKILLs every server process named by a `*.pid` file under `root` (any depth),
 * then removes `root`. For exit handlers, which cannot wait.
 */
export function sweepServers(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root, { recursive: true, encoding: 'utf8' });
  } catch {
    names = [];
  }
  for (const name of names.filter((file) => file.endsWith('.pid'))) {
    const pid = readPidFile(join(root, name));
    if (pid === undefined || !isServerProcess(pid)) continue;
    for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  }
  rmSync(root, { recursive: true, force: true });
}

/** How {@link ensureBinaries} finds and installs binaries; replaced in unit tests. */
export interface BinaryEnvironment {
  find(name: string): string | undefined;
  /** Whether an automatic install may be tried (root, with apt-get). */
  canInstall(): boolean;
  /** Runs one command, throwing on failure. */
  exec(command: string, args: readonly string[]): void;
  log(message: string): void;
}

const realEnvironment: BinaryEnvironment = {
  find: (name) => findBinary(name),
  canInstall: () => process.getuid?.() === 0 && findBinary('apt-get') !== undefined,
  exec: (command, args) => {
    execFileSync(command, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 10 * 60_000,
    });
  },
  log: (message) => console.log(message),
};

/**
 * Makes sure every binary the real-component tests need is installed: when one is missing and we
 * are root with apt-get, installs the packages (running `apt-get update` first when the install
 * fails); when still missing, throws. The tests never skip silently for want of a server.
 *
 * @throws Error naming the missing binaries, why they could not be installed, and the command to run.
 */
export function ensureBinaries(environment: BinaryEnvironment = realEnvironment): void {
  const missing = (): string[] =>
    REQUIRED_BINARIES.filter((name) => environment.find(name) === undefined);
  const initiallyMissing = missing();
  if (initiallyMissing.length === 0) return;

  let reason: string;
  if (!environment.canInstall()) {
    reason = 'not running as root with apt-get, so no automatic install was tried';
  } else {
    reason = 'apt-get install ran but they are still missing';
    const install = ['install', '-y', ...APT_PACKAGES];
    environment.log(
      `[global-setup] missing ${initiallyMissing.join(', ')}: running apt-get ${install.join(' ')}`,
    );
    try {
      environment.exec('apt-get', install);
    } catch (installError: unknown) {
      environment.log(
        `[global-setup] install failed (${firstLine(installError)}): running apt-get update, then the install again`,
      );
      try {
        environment.exec('apt-get', ['update']);
        environment.exec('apt-get', install);
      } catch (retryError: unknown) {
        reason = `apt-get failed: ${firstLine(retryError)}`;
      }
    }
  }

  const stillMissing = missing();
  if (stillMissing.length === 0) {
    environment.log(`[global-setup] installed ${initiallyMissing.join(', ')}`);
    return;
  }
  const banner = '='.repeat(78);
  throw new Error(
    `\n${banner}\n` +
      `npm test needs redis-server, redis-cli, redis-sentinel and nutcracker (real servers, no mocks)\n` +
      `and could not install them: missing ${stillMissing.join(', ')}; ${reason}.\n` +
      `Install with: ${INSTALL_COMMAND}\n` +
      `${banner}`,
  );
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kills servers left behind by earlier runs whose Jest process died without cleaning up
 * (Ctrl-C, crash). Their run dirs carry the Jest PID in their name.
 */
function sweepStaleRunDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((name) => name.startsWith(RUN_DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const ownerPid = Number.parseInt(name.slice(RUN_DIR_PREFIX.length), 10);
    if (Number.isSafeInteger(ownerPid) && !isAlive(ownerPid)) sweepServers(join(tmpdir(), name));
  }
}

/**
 * Jest globalSetup: checks (and when it can, installs) the server binaries, then creates this
 * run's directory and arranges for every server started below it to be killed when Jest exits.
 */
export default function globalSetup(): void {
  ensureBinaries();
  sweepStaleRunDirs();
  const runDir = mkdtempSync(join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}-`));
  // Workers inherit the environment, so support code in every test file finds the run dir.
  process.env[RUN_DIR_ENV] = runDir;
  // This is the real Jest parent process (globalSetup does not run in the test sandbox), so the
  // hook fires even when a worker crashed or a test forgot to stop a server.
  process.once('exit', () => sweepServers(runDir));
}
