import type { Cluster, Redis } from 'ioredis';
import type { L2Locks, L2Write } from '../../contracts/l2-store.interface.js';
import { type BurstCommand, burstCommand, type KeyPrefixed } from './command-burst.js';
import { expiryArgs } from './redis-batch.js';

/**
 * The distributed single-flight locks on Redis (single, Sentinel, twemproxy, Cluster): `SET NX
 * PX` to take a lock, and token-checked single-key scripts to renew and release it, so a holder
 * whose lease lapsed never extends or deletes the next holder's lock. The value write that ends a
 * flight checks the token and deletes the lock in the same script (two keys of one hash slot).
 *
 * Every script has at least one key and all its keys share a hash tag, so it passes twemproxy
 * (which routes a script by its first key) and Redis Cluster (one slot per script).
 */

/** KEYS[1] lock; ARGV[1] token, ARGV[2] lease ms. 1 when the token held the lock, else 0. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/** KEYS[1] lock; ARGV[1] token. Deletes the lock only for its holder. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/**
 * KEYS[1] value, KEYS[2] lock; ARGV[1] token, ARGV[2] value, ARGV[3] 'PXAT' or 'PX', ARGV[4]
 * expiry. Sets the value and deletes the lock only while the token holds it; 1 if it did.
 */
const SET_AND_RELEASE = `
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], ARGV[3], ARGV[4])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`;

type Client = Redis | Cluster;

/**
 * A set as a command of `client` to send in a burst (command-burst.ts): a plain `SET … PXAT`, or,
 * for a set that ends a flight (see `L2Write.releases`), the token-checked set-and-release.
 *
 * NOTE: plain EVAL, never a script defined on the client: ioredis sends a defined script's first
 * call as SCRIPT EXISTS / SCRIPT LOAD, which twemproxy answers by closing the connection. The
 * scripts are a few lines; Redis caches their compiled form by hash.
 */
function setCommand(
  client: KeyPrefixed,
  write: Extract<L2Write, { kind: 'set' }>,
  pxat: boolean,
): BurstCommand {
  const expiry = expiryArgs(write.expiresAt, pxat);
  if (write.releases === undefined)
    return burstCommand(client, 'set', [write.key, write.value, ...expiry]);
  const { key, token } = write.releases;
  return burstCommand(client, 'eval', [
    SET_AND_RELEASE,
    2,
    write.key,
    key,
    token,
    write.value,
    ...expiry,
  ]);
}

/** A write (SET or DEL) as a command of `client` to send in a burst. */
export function writeCommand(client: KeyPrefixed, write: L2Write, pxat: boolean): BurstCommand {
  return write.kind === 'del'
    ? burstCommand(client, 'del', [write.key])
    : setCommand(client, write, pxat);
}

/** {@link setCommand} as one command on `client` (a Cluster follows MOVED/ASK by itself). */
export function sendSet(
  client: Client,
  write: Extract<L2Write, { kind: 'set' }>,
  pxat: boolean,
): Promise<unknown> {
  const expiry = expiryArgs(write.expiresAt, pxat);
  if (write.releases === undefined) return client.set(write.key, write.value, ...expiry);
  const { key, token } = write.releases;
  return client.eval(SET_AND_RELEASE, 2, write.key, key, token, write.value, expiry[0], expiry[1]);
}

/** Whether any write of a batch ends a flight (those batches go as bursts, not scripts). */
export function releasesAny(writes: readonly L2Write[]): boolean {
  return writes.some((write) => write.kind === 'set' && write.releases !== undefined);
}

/**
 * The {@link L2Locks} of a store on `client()` (asked per call: the twemproxy store rotates its
 * proxies), with errors turned into the store's own by `translate`.
 */
export function redisLocks(
  client: () => Client,
  translate: (operation: string, error: unknown) => unknown,
): L2Locks {
  const call = async <T>(operation: string, body: (target: Client) => Promise<T>): Promise<T> => {
    try {
      return await body(client());
    } catch (error: unknown) {
      throw translate(operation, error);
    }
  };
  return {
    acquire: (key, token, leaseMs) =>
      call('lock', async (target) => (await target.set(key, token, 'PX', leaseMs, 'NX')) === 'OK'),
    renew: (key, token, leaseMs) =>
      call(
        'lock renew',
        async (target) => Number(await target.eval(RENEW, 1, key, token, leaseMs)) === 1,
      ),
    release: (key, token) =>
      call('lock release', async (target) => {
        await target.eval(RELEASE, 1, key, token);
      }),
  };
}
