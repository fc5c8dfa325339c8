import { Redis } from 'ioredis';
import { encodeEnvelope } from '../../../lib/serialization/entry-envelope.js';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { waitFor } from '../../support/poll.js';
import { RedisServer } from '../../support/redis-server.js';

const apps: CacheApp[] = [];
const servers: RedisServer[] = [];

async function server(args: string[] = []): Promise<RedisServer> {
  const started = await RedisServer.start({ args });
  servers.push(started);
  return started;
}

async function app(
  url: string,
  options: Parameters<typeof startCacheApp>[0] = {},
): Promise<CacheApp> {
  const started = await startCacheApp({
    namespace: 'hostile',
    l2: { type: 'redis', url },
    l2TimeoutMs: 300,
    writeBehind: { retryBaseDelayMs: 20, retryMaxDelayMs: 100, shutdownTimeoutMs: 1_000 },
    ...options,
  });
  apps.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('a Redis that answers with errors', () => {
  it('OOM: writes are retried, not lost, and land once memory is available', async () => {
    const redis = await server(['--maxmemory-policy', 'noeviction']);
    const client = new Redis({ port: redis.port, lazyConnect: true });
    await client.connect();
    // A 1-byte limit: every write is refused with OOM, reads still work.
    await client.config('SET', 'maxmemory', '1');
    const cache = (await app(redis.url)).cache;
    await cache.set('k', 'v');
    await waitFor(() => cache.stats().retries >= 2, { message: 'OOM writes to be retried' });
    expect(cache.stats()).toMatchObject({ pending: 1, dropped: 0, breaker: 'closed' });
    expect(await cache.get('k')).toBe('v');
    await client.config('SET', 'maxmemory', '0');
    await cache.flush(5_000);
    expect(await client.exists('hostile:k')).toBe(1);
    client.disconnect();
  });

  it('READONLY (a replica): writes wait and land after promotion; reads keep working', async () => {
    const primary = await server();
    const replica = await server(['--replicaof', '127.0.0.1', String(primary.port)]);
    const cache = (await app(replica.url)).cache;
    await cache.set('k', 'v');
    await waitFor(() => cache.stats().retries >= 2, { message: 'READONLY writes to be retried' });
    expect(cache.stats()).toMatchObject({ pending: 1, dropped: 0 });
    expect(await cache.get('other')).toBeUndefined();
    await replica.cli('REPLICAOF', 'NO', 'ONE');
    await cache.flush(5_000);
    expect(await replica.cli('EXISTS', 'hostile:k')).toBe('1');
  });

  it('NOAUTH: a client without the password misses and queues, and recovers when auth is lifted', async () => {
    const redis = await server();
    await redis.cli('CONFIG', 'SET', 'requirepass', 'needed');
    const cache = (await app(redis.url, { invalidation: { enabled: false } })).cache;
    await cache.set('k', 'v');
    expect(await cache.get('missing')).toBeUndefined();
    expect(cache.stats().l2Errors).toBeGreaterThan(0);
    await redis.cli('-a', 'needed', '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', '');
    await cache.flush(10_000);
    expect(await redis.cli('EXISTS', 'hostile:k')).toBe('1');
  });
});

describe('hostile payloads in Redis', () => {
  it('reads crafted, truncated and foreign payloads as misses without prototype pollution', async () => {
    const redis = await server();
    const client = new Redis({ port: redis.port, lazyConnect: true });
    await client.connect();
    const { cache } = await app(redis.url);
    // Stamped with the namespace's current version, as the cache's own entries are.
    const generation = await client.get('hostile|v');
    expect(generation).toEqual(expect.any(String));
    const envelope = (payload: string): Buffer =>
      encodeEnvelope({
        expiresAt: Date.now() + 60_000,
        payload: Buffer.from(payload),
        meta: { g: generation },
      });
    await client.set(
      'hostile:proto',
      envelope('j1:{"__proto__":{"polluted":1},"constructor":{"prototype":{"p2":1}}}\n'),
    );
    await client.set('hostile:truncated', envelope('j1:{"a":12'));
    await client.set('hostile:foreign', envelope('\x82\xa1a\x01'));
    await client.set('hostile:raw-json', '{"a":1}');
    await client.set(
      'hostile:bad-stamp',
      encodeEnvelope({
        expiresAt: Date.now() + 60_000,
        payload: Buffer.from('j1:1\n'),
        meta: { g: 5 },
      }),
    );

    const proto = await cache.get<Record<string, unknown>>('proto');
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto!)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['p2']).toBeUndefined();
    for (const key of ['truncated', 'foreign', 'raw-json', 'bad-stamp']) {
      expect([key, await cache.get(key)]).toEqual([key, undefined]);
    }
    expect(cache.stats().l2Errors).toBe(4);
    await cache.set('fine', { ok: true });
    expect(await cache.get('fine')).toEqual({ ok: true });
    client.disconnect();
  });
});
