import { randomBytes } from 'node:crypto';
import { CacheL2Error, CacheL2TimeoutError } from '../errors/l2.errors.js';
import type { L2Store } from '../contracts/l2-store.interface.js';

/** Lifetime of the fallback probe key, in milliseconds: it outlives one probe, not more. */
const PROBE_TTL_MS = 10_000;

/**
 * Proves L2 can serve a real key now, within `timeoutMs`: the store's own `healthCheck()` where it
 * has one (the Redis stores round-trip a key on each shard or master), else a write and read-back
 * of `${namespace}|h:${instanceId}` (the `|` keeps it apart from user keys; TTL 10 s).
 *
 * NOTE: never a PING: twemproxy answers PING itself, even with every shard down.
 *
 * @throws CacheL2TimeoutError when the probe takes longer than `timeoutMs`.
 * @throws CacheL2Error when L2 fails the round trip.
 */
export async function probeL2(store: L2Store, probeKey: string, timeoutMs: number): Promise<void> {
  const healthCheck = store.healthCheck?.bind(store);
  const run = healthCheck ?? (() => roundTrip(store, probeKey));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CacheL2TimeoutError('health probe', timeoutMs)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error: unknown) {
    if (error instanceof CacheL2Error) throw error;
    throw new CacheL2Error('health probe', `L2 health probe failed: ${describe(error)}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** The key the fallback probe of one instance writes. */
export function probeKeyOf(namespace: string, instanceId: string): string {
  return `${namespace}|h:${instanceId}`;
}

async function roundTrip(store: L2Store, key: string): Promise<void> {
  const token = randomBytes(8);
  await store.write([{ kind: 'set', key, value: token, expiresAt: Date.now() + PROBE_TTL_MS }]);
  const read = await store.get(key);
  if (read === undefined || !token.equals(read)) {
    throw new CacheL2Error(
      'health probe',
      `L2 health probe read back ${read === undefined ? 'nothing' : 'another value'} for ${key}`,
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
