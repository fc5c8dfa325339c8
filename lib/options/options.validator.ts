import type { ClusterOptions, RedisOptions } from 'ioredis';
import { CacheOptionsError } from '../errors/cache.errors.js';
import { JsonSerializer } from '../serialization/json.serializer.js';
import type { CacheSerializer } from '../serialization/serializer.interface.js';
import type { DistributedCacheModuleOptions, L2Options } from './cache-options.interface.js';
import { assertCacheName } from './cache-name.js';
import { DEFAULT_OPTIONS, optionNames } from './default-options.js';
import { parseDuration } from './duration.js';
import {
  checkKeys,
  fail,
  flag,
  integer,
  isObject,
  nodes,
  nonEmptyString,
  objectOption,
  oneOf,
  optionalObject,
  redisUrl,
} from './option-checks.js';
import type { ResolvedCacheOptions } from './resolved-options.js';
import {
  assertProxyCompatibleOptions,
  assertReplicasReachable,
  assertSentinelCompatibleOptions,
} from './topology-rules.js';

const L2_TYPES = ['redis', 'twemproxy', 'cluster', 'sentinel', 'memory', 'custom'] as const;

function validateL2(value: unknown): L2Options {
  if (value === undefined) return { ...DEFAULT_OPTIONS.l2 };
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
      if (value['url'] !== undefined) redisUrl(value['url'], 'l2.url');
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
  const input = objectOption(value, 'writeBehind');
  checkKeys(input, optionNames('writeBehind'), 'writeBehind');
  const defaults = DEFAULT_OPTIONS.writeBehind;
  const option = (name: keyof typeof defaults, min: number): number =>
    integer(input[name], `writeBehind.${name}`, min, defaults[name] as number);
  const maxBatchSize = option('maxBatchSize', 1);
  const maxPending = option('maxPending', 1);
  if (maxPending < maxBatchSize) {
    throw new CacheOptionsError(
      'writeBehind.maxPending',
      `writeBehind.maxPending (${maxPending}) must be at least writeBehind.maxBatchSize (${maxBatchSize})`,
    );
  }
  const retryBaseDelayMs = option('retryBaseDelayMs', 1);
  return {
    enabled: flag(input['enabled'], 'writeBehind.enabled', defaults.enabled),
    flushIntervalMs: option('flushIntervalMs', 0),
    maxBatchSize,
    maxPending,
    overflow: oneOf(
      input['overflow'],
      'writeBehind.overflow',
      ['drop-oldest', 'reject'],
      defaults.overflow,
    ),
    shutdownTimeoutMs: option('shutdownTimeoutMs', 0),
    retryBaseDelayMs,
    retryMaxDelayMs: Math.max(retryBaseDelayMs, option('retryMaxDelayMs', 1)),
    replicas: option('replicas', 0),
    // WAIT with timeout 0 blocks forever.
    replicaTimeoutMs: option('replicaTimeoutMs', 1),
  };
}

function validateSerializer(value: unknown): CacheSerializer {
  if (value === undefined || value === DEFAULT_OPTIONS.serializer) return new JsonSerializer();
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
  checkKeys(options, optionNames(''), '');
  const input = options as DistributedCacheModuleOptions;
  // The registration's name chose its tokens already; here it only has to be well-formed.
  assertCacheName(input.name);

  const namespace = input.namespace ?? DEFAULT_OPTIONS.namespace;
  // NOTE: ':' separates keys and '|' version keys (see keys/version-keys.ts); braces would turn
  // into hash tags on twemproxy and Cluster and pin the whole namespace to one shard.
  if (typeof namespace !== 'string' || !/^[^\s:|{}]+$/.test(namespace)) {
    fail('namespace', "a non-empty string without spaces, ':', '|' or braces", namespace);
  }
  const ttlMs = parseDuration(input.ttl ?? DEFAULT_OPTIONS.ttl, 'ttl');
  if (ttlMs === 0) fail('ttl', 'greater than zero', input.ttl);

  let l1: ResolvedCacheOptions['l1'] = false;
  if (input.l1 !== false) {
    const l1Input: unknown = input.l1 ?? {};
    if (!isObject(l1Input)) fail('l1', 'an object or false', l1Input);
    checkKeys(l1Input, optionNames('l1'), 'l1');
    const defaults = DEFAULT_OPTIONS.l1;
    l1 = {
      max: integer(l1Input['max'], 'l1.max', 1, defaults.max),
      maxBytes: integer(l1Input['maxBytes'], 'l1.maxBytes', 1, defaults.maxBytes),
      ttlMs: parseDuration(l1Input['ttl'] ?? defaults.ttl, 'l1.ttl'),
    };
    if (l1.ttlMs === 0)
      fail('l1.ttl', 'greater than zero (use l1: false to disable L1)', l1Input['ttl']);
  }

  const l2 = validateL2(input.l2);
  const writeBehind = validateWriteBehind(input.writeBehind);
  assertReplicasReachable(writeBehind.replicas, l2.type);

  const invalidationInput = objectOption(input.invalidation, 'invalidation');
  checkKeys(invalidationInput, optionNames('invalidation'), 'invalidation');
  const remote = l2.type !== 'memory' && l2.type !== 'custom';
  const enabled = flag(invalidationInput['enabled'], 'invalidation.enabled', remote);
  if (invalidationInput['url'] !== undefined)
    redisUrl(invalidationInput['url'], 'invalidation.url');
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

  const l2TimeoutMs = integer(input.l2TimeoutMs, 'l2TimeoutMs', 1, DEFAULT_OPTIONS.l2TimeoutMs);

  let circuitBreaker: ResolvedCacheOptions['circuitBreaker'] = false;
  if (input.circuitBreaker !== false) {
    const breaker: unknown = input.circuitBreaker ?? {};
    if (!isObject(breaker)) fail('circuitBreaker', 'an object or false', breaker);
    checkKeys(breaker, optionNames('circuitBreaker'), 'circuitBreaker');
    const defaults = DEFAULT_OPTIONS.circuitBreaker;
    circuitBreaker = {
      failureThreshold: integer(
        breaker['failureThreshold'],
        'circuitBreaker.failureThreshold',
        1,
        defaults.failureThreshold,
      ),
      cooldownMs: integer(
        breaker['cooldownMs'],
        'circuitBreaker.cooldownMs',
        1,
        defaults.cooldownMs,
      ),
    };
  }

  const lockInput = objectOption(input.lock, 'lock');
  checkKeys(lockInput, optionNames('lock'), 'lock');
  const lock = {
    leaseMs: parseDuration(lockInput['leaseMs'] ?? DEFAULT_OPTIONS.lock.leaseMs, 'lock.leaseMs'),
    waitMs: parseDuration(lockInput['waitMs'] ?? DEFAULT_OPTIONS.lock.waitMs, 'lock.waitMs'),
  };
  // A lease renewed every third of itself must outlast an L2 round trip or two.
  if (lock.leaseMs < 3 * l2TimeoutMs) {
    fail('lock.leaseMs', `at least 3 x l2TimeoutMs (${3 * l2TimeoutMs} ms)`, lockInput['leaseMs']);
  }

  let tracing: ResolvedCacheOptions['tracing'] = false;
  if (input.tracing !== undefined && input.tracing !== false) {
    const given: unknown = input.tracing === true ? {} : input.tracing;
    if (!isObject(given)) fail('tracing', 'true, false or { recordKeys }', input.tracing);
    checkKeys(given, optionNames('tracing'), 'tracing');
    tracing = {
      recordKeys: flag(
        given['recordKeys'],
        'tracing.recordKeys',
        DEFAULT_OPTIONS.tracing.recordKeys,
      ),
    };
  }

  let hotKeys: ResolvedCacheOptions['hotKeys'] = false;
  if (input.hotKeys !== undefined && input.hotKeys !== false) {
    const given: unknown = input.hotKeys === true ? {} : input.hotKeys;
    if (!isObject(given))
      fail('hotKeys', 'true, false or { capacity, sampleEvery }', input.hotKeys);
    checkKeys(given, optionNames('hotKeys'), 'hotKeys');
    const defaults = DEFAULT_OPTIONS.hotKeys;
    hotKeys = {
      capacity: integer(given['capacity'], 'hotKeys.capacity', 1, defaults.capacity),
      sampleEvery: integer(given['sampleEvery'], 'hotKeys.sampleEvery', 1, defaults.sampleEvery),
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
    maxKeyLength: integer(input.maxKeyLength, 'maxKeyLength', 1, DEFAULT_OPTIONS.maxKeyLength),
    maxValueBytes: integer(input.maxValueBytes, 'maxValueBytes', 1, DEFAULT_OPTIONS.maxValueBytes),
    lock,
    tracing,
    hotKeys,
  };
}
