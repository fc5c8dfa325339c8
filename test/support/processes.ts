import { readFileSync } from 'node:fs';
import { delay } from './poll.js';

export { readPidFile } from './global-setup.js';

/**
 * Process helpers for servers started with `--daemonize`: they are not our children, so we only
 * have their PID (from a pidfile) and signals.
 */

/**
 * Whether `pid` is a live process. A zombie counts as gone: a killed daemon is nobody's child
 * here, and whether it is reaped at once depends on the container's PID 1.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may contain spaces).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // No /proc (not Linux) or the process vanished between the two checks.
    return isAliveBySignal(pid);
  }
}

function isAliveBySignal(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to `pid`; a process that is already gone is not an error. */
export function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Resolves `true` once `pid` is gone, or `false` after `timeoutMs` milliseconds. */
async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await delay(10);
  }
  return true;
}

/**
 * Stops `pid`: SIGCONT (a SIGSTOPped process would never act on SIGTERM), SIGTERM, and SIGKILL
 * when it has not exited after `graceMs` milliseconds.
 * @throws Error when the process survives SIGKILL for 5 s.
 */
export async function terminate(pid: number, graceMs = 3_000): Promise<void> {
  if (!isRunning(pid)) return;
  sendSignal(pid, 'SIGCONT');
  sendSignal(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs)) return;
  await killAndWait(pid);
}

/**
 * SIGKILLs `pid` and waits until it is gone.
 * @throws Error when the process is still there after `timeoutMs` milliseconds.
 */
export async function killAndWait(pid: number, timeoutMs = 5_000): Promise<void> {
  sendSignal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, timeoutMs))) {
    throw new Error(`process ${pid} is still running ${timeoutMs} ms after SIGKILL`);
  }
}
