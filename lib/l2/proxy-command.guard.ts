import type { ChainableCommander, Command, Redis, RedisOptions } from 'ioredis';
import { CacheOptionsError } from '../errors/cache-options.error.js';
import { CacheUnsupportedCommandError } from '../errors/cache-unsupported-command.error.js';

/**
 * The command guard of the twemproxy store. twemproxy (nutcracker 0.5.0) answers an unsupported
 * command by closing the client connection, which kills every command pipelined on it; ioredis
 * then reconnects and may re-send what was in flight. Catching the error afterwards is too late,
 * so the guard refuses such commands before a single byte is written. That includes an MGET of
 * several keys: measured on nutcracker 0.5.0 with `auto_eject_hosts: false`, one that touches a
 * dead shard gets an error reply *and* the connection closed. It also refuses commands twemproxy
 * answers silently wrong across shards (multi-key EXISTS, EVAL whose keys may live on different
 * shards). See shared/REDIS-FACTS.md.
 */

const TOPOLOGY = 'twemproxy';

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
  const tags = new Set(args.slice(2, 2 + numKeys).map((key) => hashTagOf(key)));
  if (tags.size === 1 && !tags.has(undefined)) return undefined;
  return (
    'its keys may hash to different shards, where twemproxy runs it on the first key’s shard only ' +
    '(reads see nil, writes land on the wrong shard); give every key the same {hash tag} ' +
    '(the pool needs hash_tag: "{}")'
  );
}

/** The `{tag}` part of a key (Redis Cluster rules, as twemproxy's `hash_tag: "{}"`). */
function hashTagOf(key: unknown): string | undefined {
  const text = Buffer.isBuffer(key) ? key.toString('latin1') : String(key);
  const open = text.indexOf('{');
  if (open === -1) return undefined;
  const close = text.indexOf('}', open + 1);
  if (close <= open + 1) return undefined;
  return text.slice(open + 1, close);
}

/** The parts of an ioredis client the guard replaces. */
interface GuardableClient {
  sendCommand(command: Command, stream?: unknown): unknown;
  pipeline(commands?: unknown[][]): ChainableCommander;
  multi(...args: unknown[]): unknown;
  duplicate(override?: Partial<RedisOptions>): Redis;
  monitor(...args: unknown[]): unknown;
}

/** A pipeline as seen by the guard: its own sendCommand queues a command. */
interface GuardablePipeline {
  sendCommand(command: Command): unknown;
}

/** The part of ioredis' internal pipeline write stream the guard needs. */
interface PipelineWriteStream {
  isPipeline?: boolean;
  write(data: string): void;
}

const GUARDED = Symbol('ndc.twemproxyGuard');

/**
 * Makes `client` unable to send a command twemproxy cannot take (see
 * {@link proxyCommandProblem}), without ever touching the socket:
 *
 * - a direct command (`client.scan(...)`, `client.call('INFO')`, `client.subscribe(...)`)
 *   returns a promise rejected with {@link CacheUnsupportedCommandError};
 * - queuing one on a pipeline (`client.pipeline().keys('*')`, or `pipeline([['keys', '*']])`)
 *   throws it at once, so the pipeline is never sent half-way;
 * - `multi()` and `monitor()` throw / reject (MULTI/EXEC and MONITOR are unsupported);
 * - `duplicate()` returns a guarded client too.
 *
 * Returns the same client. Idempotent.
 */
export function guardProxyClient(client: Redis): Redis {
  const target = client as unknown as GuardableClient & { [GUARDED]?: true };
  if (target[GUARDED]) return client;
  target[GUARDED] = true;

  const sendCommand = target.sendCommand.bind(client);
  target.sendCommand = (command: Command, stream?: unknown): unknown => {
    const problem = proxyCommandProblem(command.name, command.args);
    if (problem === undefined) return sendCommand(command, stream);
    command.reject(new CacheUnsupportedCommandError(command.name.toUpperCase(), TOPOLOGY, problem));
    const pipelineStream = stream as PipelineWriteStream | undefined;
    // NOTE: only reachable for a command queued on a pipeline the guard did not create (ours
    // check at queue time). The pipeline writes its buffer once every command has called
    // write(); an empty write keeps it from waiting forever for the refused one.
    if (pipelineStream?.isPipeline) pipelineStream.write('');
    return command.promise;
  };

  const pipeline = target.pipeline.bind(client);
  target.pipeline = (commands?: unknown[][]): ChainableCommander => {
    const created = pipeline();
    guardPipeline(created);
    // Queued through the guarded sendCommand: a refused command throws here, and the half-filled
    // pipeline is dropped unsent.
    if (commands !== undefined) {
      (created as unknown as { addBatch(commands: unknown[][]): void }).addBatch(commands);
    }
    return created;
  };

  target.multi = (): never => {
    throw new CacheUnsupportedCommandError(
      'MULTI',
      TOPOLOGY,
      'twemproxy has no transactions (MULTI/EXEC/WATCH) and closes the connection',
    );
  };

  target.monitor = (): Promise<never> =>
    Promise.reject(
      new CacheUnsupportedCommandError('MONITOR', TOPOLOGY, 'twemproxy does not support it'),
    );

  const duplicate = target.duplicate.bind(client);
  target.duplicate = (override?: Partial<RedisOptions>): Redis =>
    guardProxyClient(duplicate(override));

  return client;
}

/** Refuses, at queue time, a command the pipeline must never carry. */
function guardPipeline(pipeline: ChainableCommander): void {
  const target = pipeline as unknown as GuardablePipeline;
  const sendCommand = target.sendCommand.bind(pipeline);
  target.sendCommand = (command: Command): unknown => {
    assertProxyCommand(command.name, command.args);
    return sendCommand(command);
  };
}

/**
 * ioredis options under `l2.redis` that cannot work through twemproxy, checked at start-up.
 * Each maps to the reason shown in the error.
 */
const PROXY_INCOMPATIBLE_OPTIONS: ReadonlyArray<{
  readonly option: keyof RedisOptions;
  readonly breaks: (value: unknown) => boolean;
  readonly reason: string;
}> = [
  {
    option: 'db',
    breaks: (value) => value !== undefined && value !== 0,
    reason: 'twemproxy serves database 0 only and closes the connection on SELECT',
  },
  {
    option: 'connectionName',
    breaks: (value) => value !== undefined && value !== null && value !== '',
    reason: 'naming the connection sends CLIENT SETNAME, which twemproxy does not support',
  },
  {
    option: 'enableReadyCheck',
    breaks: (value) => value === true,
    reason: 'the ready check sends INFO, which twemproxy does not support (the store disables it)',
  },
  {
    option: 'disableClientInfo',
    breaks: (value) => value === false,
    reason: 'client info is sent with CLIENT SETINFO, which twemproxy does not support',
  },
  {
    option: 'protocol',
    breaks: (value) => value !== undefined && value !== 2,
    reason: 'RESP3 starts with HELLO 3, which twemproxy cannot parse (the store uses RESP2)',
  },
  {
    option: 'readOnly',
    breaks: (value) => value === true,
    reason: 'read-only mode sends READONLY, which twemproxy does not support',
  },
  {
    option: 'sentinels',
    breaks: (value) => value !== undefined && value !== null,
    reason: "use l2.type 'sentinel' for Sentinel",
  },
];

/**
 * Checks the ioredis options given for a twemproxy L2.
 *
 * @param redis The user's `l2.redis` options.
 * @param path Dotted path of those options in the module options, for the error.
 * @throws CacheOptionsError naming the first option that cannot work through a proxy.
 */
export function assertProxyCompatibleOptions(
  redis: Readonly<RedisOptions> | undefined,
  path = 'l2.redis',
): void {
  if (redis === undefined) return;
  for (const { option, breaks, reason } of PROXY_INCOMPATIBLE_OPTIONS) {
    const value: unknown = redis[option];
    if (breaks(value)) {
      throw new CacheOptionsError(
        `${path}.${option}`,
        `${path}.${option} cannot be used with l2.type 'twemproxy': ${reason}; remove it`,
      );
    }
  }
}
