/** Environment variable carrying the bench's start (epoch ms) from the parent to its children. */
export const STARTED_AT_ENV = 'NDC_BENCH_STARTED_AT';

const inherited = Number(process.env[STARTED_AT_ENV]);
const startedAt = Number.isFinite(inherited) && inherited > 0 ? inherited : Date.now();

/** When the bench started (the parent's start, in a scenario's child process), epoch ms. */
export function startedAtEpochMs(): number {
  return startedAt;
}

/** Seconds since the bench started. */
export function elapsedSeconds(): number {
  return (Date.now() - startedAt) / 1000;
}

/** A progress line on stderr, prefixed with the seconds since the bench started. */
export function progress(message: string): void {
  process.stderr.write(`[${elapsedSeconds().toFixed(1).padStart(6)}s] ${message}\n`);
}
