import { hashPartOf } from '../../keys/lock-keys.js';
import { CacheUnsupportedCommandError } from '../../errors/l2.errors.js';

/**
 * The commands the twemproxy store may send, and why not the others. twemproxy (nutcracker 0.5.0) answers an unsupported
 * command by closing the client connection, which kills every command pipelined on it; ioredis
 * then reconnects and may re-send what was in flight. Catching the error afterwards is too late,
 * so the guard refuses such commands before a single byte is written. That includes an MGET of
 * several keys: measured on nutcracker 0.5.0 with `auto_eject_hosts: false`, one that touches a
 * dead shard gets an error reply *and* the connection closed. It also refuses commands twemproxy
 * answers silently wrong across shards (multi-key EXISTS, EVAL whose keys may live on different
 * shards). See shared/REDIS-FACTS.md.
 */

export const TOPOLOGY = 'twemproxy';

/**
 * Commands the guard lets through to twemproxy, lower-case: what nutcracker 0.5.0 supports and
 * answers correctly whatever the shard layout. Deliberately narrower than twemproxy's own list:
 * multi-key commands that twemproxy forwards to the first key's shard only (SINTER, SMOVE,
 * RPOPLPUSH, ZUNIONSTORE, PFMERGE, COPY, ...) are left out because their answer depends on where
 * the keys happen to hash. Each entry is exercised against a real nutcracker in the twemproxy
 * store's integration test.
 */
export const TWEMPROXY_ALLOWED_COMMANDS: ReadonlySet<string> = new Set([
  // Connection (answered by the proxy itself; PING only without an argument)
  'auth',
  'ping',
  'quit',
  // Keys (EXISTS with one key only, see below)
  'del',
  'unlink',
  'touch',
  'exists',
  'expire',
  'pexpire',
  'expireat',
  'pexpireat',
  'persist',
  'ttl',
  'pttl',
  'type',
  // Strings (MGET with one key only, see below)
  'get',
  'set',
  'getex',
  'getdel',
  'getset',
  'setnx',
  'setex',
  'psetex',
  'mget',
  'mset',
  'append',
  'strlen',
  'getrange',
  'setrange',
  'incr',
  'incrby',
  'incrbyfloat',
  'decr',
  'decrby',
  'getbit',
  'setbit',
  'bitcount',
  'bitpos',
  // Hashes
  'hdel',
  'hexists',
  'hget',
  'hgetall',
  'hincrby',
  'hincrbyfloat',
  'hkeys',
  'hlen',
  'hmget',
  'hmset',
  'hset',
  'hsetnx',
  'hstrlen',
  'hvals',
  'hscan',
  // Sets
  'sadd',
  'scard',
  'sismember',
  'smembers',
  'spop',
  'srandmember',
  'srem',
  'sscan',
  // Sorted sets
  'zadd',
  'zcard',
  'zcount',
  'zincrby',
  'zrange',
  'zrangebyscore',
  'zrank',
  'zrem',
  'zremrangebyrank',
  'zremrangebyscore',
  'zrevrange',
  'zrevrangebyscore',
  'zrevrank',
  'zscore',
  'zscan',
  // Lists
  'lindex',
  'llen',
  'lpop',
  'lpush',
  'lrange',
  'lrem',
  'lset',
  'ltrim',
  'rpop',
  'rpush',
  // Scripting, with at least one key (checked below)
  'eval',
  'evalsha',
]);

/**
 * Why `name` with `args` must not be sent through twemproxy, or `undefined` when it may be.
 * Pure: looks at the command only.
 *
 * @param name Command name, any case.
 * @param args Its arguments as ioredis holds them (strings, Buffers, numbers).
 * @example
 * proxyCommandProblem('scan', ['0']); // 'twemproxy does not support it ...'
 * proxyCommandProblem('get', ['k']); // undefined
 */
export function proxyCommandProblem(name: string, args: readonly unknown[]): string | undefined {
  const command = name.toLowerCase();
  if (!TWEMPROXY_ALLOWED_COMMANDS.has(command)) {
    return 'twemproxy does not support it and answers by closing the connection, which fails every command pipelined on it';
  }
  switch (command) {
    case 'ping':
      return args.length > 0
        ? 'twemproxy supports PING only without an argument (and answers it itself, so it proves nothing about the shards)'
        : undefined;
    case 'mget':
      return args.length > 1
        ? 'twemproxy closes the client connection when an MGET of several keys touches a dead shard ' +
            '(killing every command pipelined with it); send one GET per key, pipelined'
        : undefined;
    case 'exists':
      return args.length > 1
        ? 'twemproxy does not split a multi-key EXISTS across shards: it counts only the first key’s shard; check one key per command'
        : undefined;
    case 'eval':
    case 'evalsha':
      return scriptProblem(args);
    default:
      return undefined;
  }
}

/**
 * Throws when `name` with `args` must not be sent through twemproxy (see {@link proxyCommandProblem}).
 * @throws CacheUnsupportedCommandError naming the command and the reason.
 */
export function assertProxyCommand(name: string, args: readonly unknown[]): void {
  const problem = proxyCommandProblem(name, args);
  if (problem !== undefined) {
    throw new CacheUnsupportedCommandError(name.toUpperCase(), TOPOLOGY, problem);
  }
}

/** EVAL/EVALSHA: twemproxy needs a key to route the script, and every key on one shard. */
function scriptProblem(args: readonly unknown[]): string | undefined {
  const numKeys = Number(String(args[1]));
  if (!Number.isSafeInteger(numKeys) || numKeys < 1) {
    return 'a script with no key cannot be routed by twemproxy, which closes the connection';
  }
  if (numKeys === 1) return undefined;
  // The part each key hashes by (its {tag}, else all of it): one part, one shard, given a pool
  // with hash_tag "{}" (a single-flight lock key carries its value key as its tag).
  const parts = new Set(args.slice(2, 2 + numKeys).map((key) => hashPartOf(asText(key))));
  if (parts.size === 1) return undefined;
  return (
    'its keys may hash to different shards, where twemproxy runs it on the first key’s shard only ' +
    '(reads see nil, writes land on the wrong shard); give every key the same {hash tag} ' +
    '(the pool needs hash_tag: "{}")'
  );
}

function asText(key: unknown): string {
  return Buffer.isBuffer(key) ? key.toString('latin1') : String(key);
}
