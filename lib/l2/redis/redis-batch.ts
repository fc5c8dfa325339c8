import { CacheBatchError } from '../../errors/l2.errors.js';
import { CacheL2Error } from '../../errors/l2.errors.js';
import { CacheUnsendableWriteError } from '../../errors/l2.errors.js';
import type { L2Write } from '../../contracts/l2-store.interface.js';

/**
 * Pure helpers shared by the Redis-backed stores (single Redis, twemproxy, Sentinel, Cluster):
 * chunking multi-key commands, checking a write before it is sent, and turning per-command
 * failures into the errors the L2Store contract promises.
 */

/** Most keys in one MGET or DEL command; larger inputs are split and pipelined. */
export const REDIS_KEYS_PER_COMMAND = 1_000;

/** `keys` in slices of at most `size`. */
export function* chunks<T>(keys: readonly T[], size = REDIS_KEYS_PER_COMMAND): Generator<T[]> {
  for (let start = 0; start < keys.length; start += size) {
    yield keys.slice(start, start + size);
  }
}

/**
 * The expiry arguments of `SET key value ...` for an entry expiring at `expiresAt`: `PXAT
 * expiresAt`, or on a server without PXAT (Redis < 6.2) `PX` with what remains now, at least 1 ms
 * (a write that expired before it is sent is turned into a DEL by the write-behind queue).
 */
export function expiryArgs(expiresAt: number, pxat: boolean): ['PXAT', number] {
  if (pxat) return ['PXAT', expiresAt];
  // NOTE: typed as PXAT only because ioredis' overloads take one literal per call; PX has the same
  // shape (a unit and a number).
  return ['PX', Math.max(1, Math.ceil(expiresAt - Date.now()))] as unknown as ['PXAT', number];
}

/** The error recorded for a set that was not sent because `invalidSet` refused it. */
export function unsentSetError(
  write: Extract<L2Write, { kind: 'set' }>,
  problem: string,
): CacheL2Error {
  return new CacheUnsendableWriteError(write.key, problem);
}

/**
 * Whether `error` means the command never got an answer (as opposed to a Redis error reply,
 * which is specific to that command: ioredis names those `ReplyError`).
 */
function isConnectionError(error: unknown): boolean {
  return (
    !(error instanceof CacheL2Error) && !(error instanceof Error && error.name === 'ReplyError')
  );
}

/** MGET replies as the contract wants them; a short reply (never expected) reads as misses. */
export function toValues(
  count: number,
  reply: ReadonlyArray<Buffer | null> | null | undefined,
): Array<Buffer | undefined> {
  const values = new Array<Buffer | undefined>(count);
  for (let i = 0; i < count; i++) values[i] = reply?.[i] ?? undefined;
  return values;
}

/**
 * Settles a write batch from its per-write failures (batch index to error): nothing when there are
 * none; the first error itself when every write failed for a connection reason (nothing is known
 * to be applied, so it is not a partial failure); otherwise `CacheBatchError` naming the failed
 * positions.
 */
export function throwBatchFailures(
  failures: ReadonlyMap<number, unknown>,
  batchSize: number,
): void {
  if (failures.size === 0) return;
  const failedIndexes = [...failures.keys()].sort((a, b) => a - b);
  const firstError = failures.get(failedIndexes[0] ?? 0);
  if (failures.size === batchSize && [...failures.values()].every(isConnectionError)) {
    throw firstError;
  }
  throw new CacheBatchError(failedIndexes, {
    cause: firstError,
    errors: failedIndexes.map((index) => failures.get(index)),
  });
}
