import type { ClusterOptions, RedisOptions } from 'ioredis';
import { CacheOptionsError } from '../errors/cache-options.error.js';
import { assertProxyCompatibleOptions, assertSentinelCompatibleOptions } from './topology-rules.js';
import { JsonSerializer } from '../serialization/json.serializer.js';
import type { CacheSerializer } from '../serialization/serializer.interface.js';
import type {
  DistributedCacheModuleOptions,
  L2Options,
  RedisNode,
  WriteBehindOptions,
} from './cache-options.interface.js';
import { assertCacheName } from './cache-name.js';
import { parseDuration } from './duration.js';
import type { ResolvedCacheOptions } from './resolved-options.js';

const L2_TYPES = ['redis', 'twemproxy', 'cluster', 'sentinel', 'memory', 'custom'] as const;

/** JSON of a value for an error message, without throwing on cycles or BigInt. */
function show(value: unknown): string {
  try {
    return typeof value === 'string'
      ? JSON.stringify(value)
      : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

function fail(option: string, expected: string, value: unknown): never {
  throw new CacheOptionsError(option, `${option} must be ${expected}, got ${show(value)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const where = path === '' ? key : `${path}.${key}`;
      throw new CacheOptionsError(
        where,
        `Unknown option ${where}; expected one of: ${allowed.join(', ')}`,
      );
    }
  }
}

function integer(value: unknown, option: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(option, `an integer >= ${min}`, value);
  }
  return value;
}

function nonEmptyString(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(option, 'a non-empty string', value);
  return value;
}

function optionalObject(value: unknown, option: string): void {
  if (value !== undefined && !isObject(value)) fail(option, 'an object', value);
}

function nodes(value: unknown, option: string): RedisNode[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail(option, 'a non-empty array of { host, port }', value);
  }
  return value.map((node: unknown, i) => {
    if (!isObject(node)) fail(`${option}[${i}]`, '{ host, port }', node);
    nonEmptyString(node['host'], `${option}[${i}].host`);
    integer(node['port'], `${option}[${i}].port`, 1, 0);
    if (node['port'] === undefined || (node['port'] as number) > 65535) {
      fail(`${option}[${i}].port`, 'a port number (1-65535)', node['port']);
    }
    return node as unknown as RedisNode;
  });
}

function validateUrl(value: unknown, option: string): void {
  const url = nonEmptyString(value, option);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // NOTE: the URL may carry a password: never echo it back.
    throw new CacheOptionsError(option, `${option} is not a valid redis:// or rediss:// URL`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new CacheOptionsError(
      option,
      `${option} must use redis:// or rediss://, got ${parsed.protocol}//`,
    );
  }
}

function validateL2(value: unknown): L2Options {
  if (value === undefined) return { type: 'memory' };
  if (!isObject(value)) fail('l2', 'an object with a type', value);
  const type = value['type'];
  if (!(L2_TYPES as readonly unknown[]).includes(type)) {
    fail('l2.type', `one of ${L2_TYPES.map((t) => `'${t}'`).join(', ')}`, type);
  }
  switch (type) {
    case 'redis':
      checkKeys(value, ['type', 'url', 'host', 'port', 'redis'], 'l2');
      if (value['url'] === undefined && value['host'] === undefined) {
        throw new CacheOptionsError(
          'l2.url',
          "l2.url or l2.host is required when l2.type is 'redis'",
        );
      }
      if (value['url'] !== undefined) validateUrl(value['url'], 'l2.url');
      if (value['host'] !== undefined) nonEmptyString(value['host'], 'l2.host');
      if (value['port'] !== undefined) integer(value['port'], 'l2.port', 1, 6379);
      optionalObject(value['redis'], 'l2.redis');
      break;
    case 'twemproxy':
      checkKeys(value, ['type', 'host', 'port', 'proxies', 'redis'], 'l2');
      if (value['proxies'] !== undefined) {
        if (value['host'] !== undefined || value['port'] !== undefined) {
          throw new CacheOptionsError(
            'l2.proxies',
            'l2.proxies cannot be combined with l2.host/l2.port; list every proxy in l2.proxies',
          );
        }
        nodes(value['proxies'], 'l2.proxies');
      } else {
        nonEmptyString(value['host'], 'l2.host');
        if (value['port'] !== undefined) integer(value['port'], 'l2.port', 1, 22121);
      }
      optionalObject(value['redis'], 'l2.redis');
      // db, connectionName, a ready check, RESP3 ... each makes twemproxy close the connection.
      assertProxyCompatibleOptions(value['redis'] as RedisOptions | undefined, 'l2.redis');
      break;
    case 'cluster': {
      checkKeys(value, ['type', 'nodes', 'cluster'], 'l2');
      nodes(value['nodes'], 'l2.nodes');
      optionalObject(value['cluster'], 'l2.cluster');
      const db = (value['cluster'] as ClusterOptions | undefined)?.redisOptions?.db;
      if (db !== undefined && db !== 0) {
        throw new CacheOptionsError(
          'l2.cluster.redisOptions.db',
          "l2.cluster.redisOptions.db cannot be used with l2.type 'cluster': Redis Cluster has database 0 only; remove it",
        );
      }
      break;
    }
    case 'sentinel':
      checkKeys(value, ['type', 'sentinels', 'name', 'redis'], 'l2');
      nodes(value['sentinels'], 'l2.sentinels');
      nonEmptyString(value['name'], 'l2.name');
      optionalObject(value['redis'], 'l2.redis');
      assertSentinelCompatibleOptions(value['redis'] as RedisOptions | undefined, 'l2.redis');
      break;
    case 'memory':
      checkKeys(value, ['type'], 'l2');
      break;
    case 'custom': {
      checkKeys(value, ['type', 'store'], 'l2');
      const store = value['store'];
      const methods = ['get', 'mget', 'write', 'del', 'close'];
      if (!isObject(store) || methods.some((m) => typeof store[m] !== 'function')) {
        fail('l2.store', `an L2Store (with ${methods.join(', ')} methods)`, typeof store);
      }
      break;
    }
  }
  return value as unknown as L2Options;
}

function validateWriteBehind(value: unknown): ResolvedCacheOptions['writeBehind'] {
  if (value === undefined) value = {};
  if (!isObject(value)) fail('writeBehind', 'an object', value);
  const keys: Array<keyof WriteBehindOptions> = [
    'enabled',
    'flushIntervalMs',
    'maxBatchSize',
    'maxPending',
    'overflow',
    'shutdownTimeoutMs',
    'retryBaseDelayMs',
    'retryMaxDelayMs',
  ];
  checkKeys(value, keys, 'writeBehind');
  const enabled = value['enabled'] ?? true;
  if (typeof enabled !== 'boolean') fail('writeBehind.enabled', 'a boolean', enabled);
  const overflow = value['overflow'] ?? 'drop-oldest';
  if (overflow !== 'drop-oldest' && overflow !== 'reject') {
    fail('writeBehind.overflow', "'drop-oldest' or 'reject'", overflow);
  }
  const maxBatchSize = integer(value['maxBatchSize'], 'writeBehind.maxBatchSize', 1, 1000);
  const maxPending = integer(value['maxPending'], 'writeBehind.maxPending', 1, 100_000);
  if (maxPending < maxBatchSize) {
    throw new CacheOptionsError(
      'writeBehind.maxPending',
      `writeBehind.maxPending (${maxPending}) must be at least writeBehind.maxBatchSize (${maxBatchSize})`,
    );
  }
  const retryBaseDelayMs = integer(
    value['retryBaseDelayMs'],
    'writeBehind.retryBaseDelayMs',
    1,
    50,
  );
  const retryMaxDelayMs = integer(
    value['retryMaxDelayMs'],
    'writeBehind.retryMaxDelayMs',
    1,
    2_000,
  );
  return {
    enabled,
    flushIntervalMs: integer(value['flushIntervalMs'], 'writeBehind.flushIntervalMs', 0, 20),
    maxBatchSize,
    maxPending,
    overflow,
    shutdownTimeoutMs: integer(
      value['shutdownTimeoutMs'],
      'writeBehind.shutdownTimeoutMs',
      0,
      10_000,
    ),
    retryBaseDelayMs,
    retryMaxDelayMs: Math.max(retryBaseDelayMs, retryMaxDelayMs),
  };
}

function validateSerializer(value: unknown): CacheSerializer {
  if (value === undefined || value === 'json') return new JsonSerializer();
  if (
    isObject(value) &&
    typeof value['serialize'] === 'function' &&
    typeof value['deserialize'] === 'function'
  ) {
    return value as unknown as CacheSerializer;
  }
  return fail('serializer', "'json' or an object with serialize() and deserialize()", value);
}

/**
 * Checks the module options and fills in defaults. Every problem is a `CacheOptionsError`
 * naming the option and the bad value (passwords in URLs are never echoed).
 */
export function resolveCacheOptions(raw: unknown): ResolvedCacheOptions {
  const options = (raw ?? {}) as Record<string, unknown>;
  if (!isObject(options)) fail('options', 'an object', raw);
  checkKeys(
    options,
    [
      'namespace',
      'ttl',
      'l1',
      'l2',
      'writeBehind',
      'invalidation',
      'serializer',
      'l2TimeoutMs',
      'circuitBreaker',
      'maxKeyLength',
      'maxValueBytes',
      'isGlobal',
      'name',
    ],
    '',
  );
  const input = options as DistributedCacheModuleOptions;
  // The registration's name chose its tokens already; here it only has to be well-formed.
  assertCacheName(input.name);

  const namespace = input.namespace ?? 'cache';
  // NOTE: ':' separates keys and '|' version keys (see keys/version-keys.ts); braces would turn
  // into hash tags on twemproxy and Cluster and pin the whole namespace to one shard.
  if (typeof namespace !== 'string' || !/^[^\s:|{}]+$/.test(namespace)) {
    fail('namespace', "a non-empty string without spaces, ':', '|' or braces", namespace);
  }
  const ttlMs = parseDuration(input.ttl ?? '5m', 'ttl');
  if (ttlMs === 0) fail('ttl', 'greater than zero', input.ttl);

  let l1: ResolvedCacheOptions['l1'] = false;
  if (input.l1 !== false) {
    const l1Input: unknown = input.l1 ?? {};
    if (!isObject(l1Input)) fail('l1', 'an object or false', l1Input);
    checkKeys(l1Input, ['max', 'maxBytes', 'ttl'], 'l1');
    l1 = {
      max: integer(l1Input['max'], 'l1.max', 1, 10_000),
      maxBytes: integer(l1Input['maxBytes'], 'l1.maxBytes', 1, 64 * 1024 * 1024),
      ttlMs: parseDuration(l1Input['ttl'] ?? '30s', 'l1.ttl'),
    };
    if (l1.ttlMs === 0)
      fail('l1.ttl', 'greater than zero (use l1: false to disable L1)', l1Input['ttl']);
  }

  const l2 = validateL2(input.l2);
  const writeBehind = validateWriteBehind(input.writeBehind);

  const invalidationInput: unknown = input.invalidation ?? {};
  if (!isObject(invalidationInput)) fail('invalidation', 'an object', invalidationInput);
  checkKeys(invalidationInput, ['enabled', 'url', 'redis', 'channel'], 'invalidation');
  const remote = l2.type !== 'memory' && l2.type !== 'custom';
  const enabled = invalidationInput['enabled'] ?? remote;
  if (typeof enabled !== 'boolean') fail('invalidation.enabled', 'a boolean', enabled);
  if (invalidationInput['url'] !== undefined)
    validateUrl(invalidationInput['url'], 'invalidation.url');
  optionalObject(invalidationInput['redis'], 'invalidation.redis');
  if (
    enabled &&
    l2.type === 'twemproxy' &&
    invalidationInput['url'] === undefined &&
    invalidationInput['redis'] === undefined
  ) {
    throw new CacheOptionsError(
      'invalidation.url',
      "invalidation.url (or invalidation.redis) is required when l2.type is 'twemproxy': twemproxy " +
        'has no pub/sub, so the invalidation bus needs a direct Redis connection ' +
        '(or set invalidation.enabled: false and rely on l1.ttl alone)',
    );
  }
  const channel = invalidationInput['channel'] ?? `${namespace}:invalidate`;
  nonEmptyString(channel, 'invalidation.channel');

  const l2TimeoutMs = integer(input.l2TimeoutMs, 'l2TimeoutMs', 1, 250);

  let circuitBreaker: ResolvedCacheOptions['circuitBreaker'] = false;
  if (input.circuitBreaker !== false) {
    const breaker: unknown = input.circuitBreaker ?? {};
    if (!isObject(breaker)) fail('circuitBreaker', 'an object or false', breaker);
    checkKeys(breaker, ['failureThreshold', 'cooldownMs'], 'circuitBreaker');
    circuitBreaker = {
      failureThreshold: integer(
        breaker['failureThreshold'],
        'circuitBreaker.failureThreshold',
        1,
        5,
      ),
      cooldownMs: integer(breaker['cooldownMs'], 'circuitBreaker.cooldownMs', 1, 1_000),
    };
  }

  return {
    namespace,
    ttlMs,
    l1,
    l2,
    writeBehind,
    invalidation: { ...(invalidationInput as object), enabled, channel: channel as string },
    serializer: validateSerializer(input.serializer),
    l2TimeoutMs,
    circuitBreaker,
    maxKeyLength: integer(input.maxKeyLength, 'maxKeyLength', 1, 1_024),
    maxValueBytes: integer(input.maxValueBytes, 'maxValueBytes', 1, 8 * 1024 * 1024),
  };
}
