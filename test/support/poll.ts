import { inspect } from 'node:util';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Milliseconds before giving up. @default 5_000 */
  timeoutMs?: number;
  /** Milliseconds between two checks. @default 25 */
  intervalMs?: number;
  /** What is awaited, for the timeout error, e.g. `'redis on port 6379 to answer PING'`. */
  message?: string;
}

/**
 * Resolves after `ms` milliseconds. For support code pacing its own retries; tests should poll
 * with {@link waitFor} instead of sleeping a fixed time.
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `predicate` until it returns a truthy value (or a promise of one), and resolves with that
 * value. A predicate that throws or rejects counts as "not yet"; its last error is quoted in the
 * timeout error. The predicate is always given one last chance at the deadline, so a slow
 * predicate does not lose a check.
 *
 * @throws Error `waitFor timed out after N ms: <message>` when the deadline passes.
 * @example
 * await waitFor(async () => (await server.cli('GET', 'k')) === '', {
 *   timeoutMs: 2_000,
 *   message: 'key k to expire',
 * });
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 5_000, intervalMs = 25, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const last = Date.now() >= deadline;
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error: unknown) {
      lastError = error;
    }
    if (last) break;
    await delay(Math.max(0, Math.min(intervalMs, deadline - Date.now())));
  }
  const detail =
    lastError === undefined
      ? ''
      : ` (last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)})`;
  throw new Error(`waitFor timed out after ${timeoutMs} ms: ${message}${detail}`);
}

/**
 * Polls `read` until it returns a value equal (as JSON) to `expected`, and resolves with how long
 * that took, in milliseconds. For "another instance reads the new state once it landed" checks.
 */
export async function waitForValue(
  read: () => Promise<unknown>,
  expected: unknown,
  { timeoutMs = 3_000, intervalMs = 2 }: Pick<WaitForOptions, 'timeoutMs' | 'intervalMs'> = {},
): Promise<number> {
  const started = performance.now();
  await waitFor(async () => JSON.stringify(await read()) === JSON.stringify(expected), {
    timeoutMs,
    intervalMs,
    message: `read to return ${JSON.stringify(expected)}`,
  });
  return performance.now() - started;
}
