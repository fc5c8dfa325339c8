import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import { resolveCacheOptions } from '../../../lib/options/options.validator.js';

function errorOf(options: unknown): CacheOptionsError {
  try {
    resolveCacheOptions(options);
  } catch (error: unknown) {
    if (error instanceof CacheOptionsError) return error;
    throw error;
  }
  throw new Error('expected a CacheOptionsError');
}

describe('resolveCacheOptions()', () => {
  it('fills every default when given nothing', () => {
    const resolved = resolveCacheOptions(undefined);
    expect(resolved.namespace).toBe('cache');
    expect(resolved.ttlMs).toBe(300_000);
    expect(resolved.l1).toEqual({ max: 10_000, maxBytes: 64 * 1024 * 1024, ttlMs: 30_000 });
    expect(resolved.l2).toEqual({ type: 'memory' });
    expect(resolved.writeBehind).toEqual({
      enabled: true,
      flushIntervalMs: 20,
      maxBatchSize: 1000,
      maxPending: 100_000,
      overflow: 'drop-oldest',
      shutdownTimeoutMs: 10_000,
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 2_000,
      replicas: 0,
      replicaTimeoutMs: 500,
    });
    expect(resolved.invalidation.enabled).toBe(false);
    expect(resolved.l2TimeoutMs).toBe(250);
    expect(resolved.lock).toEqual({ leaseMs: 30_000, waitMs: 10_000 });
  });

  it('turns duration strings into milliseconds and keeps l1: false', () => {
    const resolved = resolveCacheOptions({ ttl: '1h', l1: false });
    expect(resolved.ttlMs).toBe(3_600_000);
    expect(resolved.l1).toBe(false);
  });

  it('enables invalidation by default when L2 is Redis', () => {
    const resolved = resolveCacheOptions({ l2: { type: 'redis', url: 'redis://127.0.0.1:6379' } });
    expect(resolved.invalidation).toMatchObject({ enabled: true, channel: 'cache:invalidate' });
  });

  it.each([
    [{ l2: { type: 'mongo' } }, 'l2.type', '"mongo"'],
    [{ ttl: '5 minutes' }, 'ttl', '"5 minutes"'],
    [{ ttl: -1 }, 'ttl', '-1'],
    [{ ttl: Number.NaN }, 'ttl', 'NaN'],
    [{ ttl: 0 }, 'ttl', '0'],
    [{ l1: { ttl: '1 week' } }, 'l1.ttl', '"1 week"'],
    [{ l1: { max: 0 } }, 'l1.max', '0'],
    [{ l1: 'big' }, 'l1', '"big"'],
    [{ writeBehind: { maxBatchSize: 0 } }, 'writeBehind.maxBatchSize', '0'],
    [{ writeBehind: { maxBatchSize: 1.5 } }, 'writeBehind.maxBatchSize', '1.5'],
    [{ writeBehind: { maxPending: 10, maxBatchSize: 100 } }, 'writeBehind.maxPending', '10'],
    [{ writeBehind: { overflow: 'block' } }, 'writeBehind.overflow', '"block"'],
    [{ writeBehind: { flushIntervalMs: '20' } }, 'writeBehind.flushIntervalMs', '"20"'],
    [{ l2: { type: 'redis' } }, 'l2.url', 'l2.host'],
    [{ l2: { type: 'redis', url: 'http://x' } }, 'l2.url', 'http:'],
    [{ l2: { type: 'twemproxy' } }, 'l2.host', 'undefined'],
    [{ l2: { type: 'cluster', nodes: [] } }, 'l2.nodes', '[]'],
    [{ l2: { type: 'cluster', nodes: [{ host: 'h', port: 70000 }] } }, 'l2.nodes[0].port', '70000'],
    [{ l2: { type: 'sentinel', sentinels: [{ host: 'h', port: 1 }] } }, 'l2.name', 'undefined'],
    [{ l2: { type: 'custom', store: {} } }, 'l2.store', 'L2Store'],
    [{ namespace: 'a b' }, 'namespace', '"a b"'],
    [{ namespace: '' }, 'namespace', '""'],
    [{ serializer: 'xml' }, 'serializer', '"xml"'],
    [{ l2TimeoutMs: 0 }, 'l2TimeoutMs', '0'],
    [{ ttlMs: 5 }, 'ttlMs', 'Unknown option'],
    [{ writeBehind: { flushInterval: 5 } }, 'writeBehind.flushInterval', 'Unknown option'],
    [{ lock: { leaseMs: 500 } }, 'lock.leaseMs', '750 ms'],
    [{ lock: { waitMs: '10 seconds' } }, 'lock.waitMs', '"10 seconds"'],
    [{ lock: { lease: 1_000 } }, 'lock.lease', 'Unknown option'],
    [{ lock: true }, 'lock', 'true'],
    [{ writeBehind: { replicas: -1 } }, 'writeBehind.replicas', '-1'],
    [{ writeBehind: { replicas: 1, replicaTimeoutMs: 0 } }, 'writeBehind.replicaTimeoutMs', '0'],
    [{ writeBehind: { replicas: 1 } }, 'writeBehind.replicas', "l2.type 'memory'"],
    [
      {
        l2: { type: 'twemproxy', host: '127.0.0.1', port: 22121 },
        invalidation: { enabled: false },
        writeBehind: { replicas: 1 },
      },
      'writeBehind.replicas',
      'twemproxy does not support WAIT',
    ],
  ])('rejects %j naming %s', (options, option, shown) => {
    const error = errorOf(options);
    expect(error.option).toBe(option);
    expect(error.message).toContain(option);
    expect(error.message).toContain(shown);
  });

  it('never echoes a password from an invalid URL', () => {
    const error = errorOf({ l2: { type: 'redis', url: 'redis://:s3cret@exa mple:6379' } });
    expect(error.option).toBe('l2.url');
    expect(error.message).not.toContain('s3cret');
  });
});
