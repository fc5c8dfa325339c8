import type { Redis } from 'ioredis';
import type { BenchOptions } from './bench-options.js';
import { collectGarbage, delay } from './measure.js';
import { progress } from './progress.js';
import type { ScenarioReport } from './report.js';

/** The parts of a redis-server the scenarios use (a RedisServer satisfies it). */
export interface RedisHandle {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** `redis-cli -p PORT ...args`, stdout without the trailing newline. */
  cli(...args: string[]): Promise<string>;
}

/** What every scenario gets: the options and the single Redis all subjects share. */
export interface BenchContext {
  readonly options: BenchOptions;
  readonly redis: RedisHandle;
  /** `redis://127.0.0.1:PORT` of {@link redis}. */
  readonly redisUrl: string;
  /** An auto-pipelined client of {@link redis} for bookkeeping (flushing, counting keys). */
  readonly admin: Redis;
}

/** A scenario: runs its subjects and returns one or more tables. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(context: BenchContext): Promise<ScenarioReport[]>;
}

/**
 * Milliseconds between two runs: the previous subject's background work (a write-behind flush
 * 20 ms after its last write, an anchor's deferred Redis write or bus message) finishes before
 * the next run starts, rather than landing on its time.
 */
const SETTLE_MS = 50;

/**
 * Runs `rounds` rounds over `subjects`, one run of each per round (interleaved, so a slow moment
 * of the machine hurts every subject alike rather than one), after one unrecorded warm-up round.
 * Between runs the process settles ({@link SETTLE_MS}) and GC runs, so that one subject's
 * background work and garbage are not handled on another's time. With `alternate`, every other
 * round runs the subjects in reverse order, so none always runs first (or right after another).
 */
export async function interleave<S extends { label: string }>(
  scenarioId: string,
  subjects: readonly S[],
  rounds: number,
  runOne: (subject: S, round: number) => Promise<string | void>,
  options: { warmUp?: boolean; alternate?: boolean } = {},
): Promise<void> {
  const warmUp = options.warmUp ?? true;
  const reversed = [...subjects].reverse();
  for (let round = warmUp ? 0 : 1; round <= rounds; round++) {
    for (const subject of options.alternate === true && round % 2 === 0 ? reversed : subjects) {
      await delay(SETTLE_MS);
      collectGarbage();
      const summary = await runOne(subject, round);
      progress(
        `(${scenarioId}) ${round === 0 ? 'warm-up' : `run ${round}/${rounds}`} ${subject.label}${summary ? `: ${summary}` : ''}`,
      );
    }
  }
}

/** The error's first line, for "not available" cells. */
export function reason(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const line = text.split('\n')[0] ?? text;
  return line.length > 140 ? `${line.slice(0, 137)}...` : line;
}
