import type { Redis } from 'ioredis';
import { median } from './measure.js';

/**
 * CPU spent during one timed run, by this process (the client side: the library or client under
 * test and the loop driving it) and by the Redis server, in microseconds. Side by side they show
 * which side a row is bound by: a row whose client CPU per operation is near its wall time per
 * operation is client-bound, whatever Redis does.
 */
export interface CpuSpent {
  readonly clientUs: number;
  readonly redisUs: number;
}

/** Seconds of CPU the Redis server has used since it started (user + system), from INFO cpu. */
async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info);
    if (match === null) throw new Error(`INFO cpu has no ${name}`);
    return Number(match[1]);
  };
  return field('used_cpu_user') + field('used_cpu_sys');
}

/**
 * Starts counting; the function returned stops and answers. Call it right after the timed part:
 * this process's CPU is read at once, Redis's with one more INFO (which costs Redis a few µs).
 */
export async function startCpuMeter(admin: Redis): Promise<() => Promise<CpuSpent>> {
  const redisAtStart = await redisCpuSeconds(admin);
  const clientAtStart = process.cpuUsage();
  return async () => {
    const client = process.cpuUsage(clientAtStart);
    const redisAtEnd = await redisCpuSeconds(admin);
    return {
      clientUs: client.user + client.system,
      redisUs: Math.max(0, (redisAtEnd - redisAtStart) * 1e6),
    };
  };
}

/** What a run spent per operation. */
export function perOp(spent: CpuSpent, ops: number): CpuSpent {
  return { clientUs: spent.clientUs / ops, redisUs: spent.redisUs / ops };
}

/** The median over runs of one side's µs per operation, as a table cell (`n/a` without runs). */
export function cpuCell(perOpRuns: readonly CpuSpent[], side: keyof CpuSpent): string {
  return perOpRuns.length === 0 ? 'n/a' : median(perOpRuns.map((s) => s[side])).toFixed(1);
}
