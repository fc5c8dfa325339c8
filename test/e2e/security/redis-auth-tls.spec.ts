import { firstValueFrom, filter, take, toArray } from 'rxjs';
import type { CacheEvent } from '../../../lib/events/cache-event.js';
import { RecordingLogger, startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { freePort } from '../../support/free-port.js';
import { waitFor } from '../../support/poll.js';
import { RedisServer } from '../../support/redis-server.js';
import { makeTestCertificates, type TestCertificates } from '../../support/tls.js';

const apps: CacheApp[] = [];
const servers: RedisServer[] = [];

async function server(args: string[]): Promise<RedisServer> {
  const started = await RedisServer.start({ args });
  servers.push(started);
  return started;
}

async function app(...args: Parameters<typeof startCacheApp>): Promise<CacheApp> {
  const started = await startCacheApp(...args);
  apps.push(started);
  return started;
}

/** Every message in an error and its causes. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    parts.push(e.message, String(e.stack));
  return parts.join('\n');
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('Redis AUTH, ACL users and TLS', () => {
  it('works with requirepass and never shows the password in logs or errors', async () => {
    const redis = await server([]);
    // Set after start-up, so the support code's readiness check needs no password.
    await redis.cli('CONFIG', 'SET', 'requirepass', 'pw-s3cret-123');
    const url = `redis://:pw-s3cret-123@127.0.0.1:${redis.port}`;
    const logger = new RecordingLogger();
    const writer = await app({ namespace: 'auth', l2: { type: 'redis', url } }, logger);
    const reader = await app({ namespace: 'auth', l1: false, l2: { type: 'redis', url } });
    await writer.cache.set('k', 'v');
    await writer.cache.flush();
    expect(await reader.cache.get('k')).toBe('v');
    expect(logger.lines.join('\n')).toContain(`redis :***@127.0.0.1:${redis.port}`);

    // The same server with a wrong password: reads miss, nothing throws, nothing leaks.
    const badLogger = new RecordingLogger();
    const bad = await app(
      {
        namespace: 'auth',
        l2TimeoutMs: 100,
        l2: { type: 'redis', url: `redis://:wrong-pw-777@127.0.0.1:${redis.port}` },
      },
      badLogger,
    );
    const errors = firstValueFrom(
      bad.cache.events$.pipe(
        filter((e: CacheEvent) => e.type === 'error'),
        take(1),
        toArray(),
      ),
    );
    expect(await bad.cache.get('k')).toBeUndefined();
    const seen = (await errors).map((e) => messages((e as { error: unknown }).error)).join('\n');
    const everything = `${seen}\n${badLogger.lines.join('\n')}`;
    expect(everything).not.toContain('wrong-pw-777');
    expect(everything).not.toContain('pw-s3cret-123');
  });

  it('works as an ACL user confined to its namespace, and a NOPERM reply is a miss, not an outage', async () => {
    const redis = await server([]);
    await redis.cli(
      'ACL',
      'SETUSER',
      'shop-app',
      'on',
      '>shop-pw',
      '~shop:*',
      '~shop|*',
      '&*',
      '+@all',
    );
    const url = `redis://shop-app:shop-pw@127.0.0.1:${redis.port}`;
    const shop = await app({ namespace: 'shop', l2: { type: 'redis', url } });
    const reader = await app({ namespace: 'shop', l1: false, l2: { type: 'redis', url } });
    await shop.cache.set('k', { ok: true }, { tags: ['t'] });
    await shop.cache.flush();
    expect(await reader.cache.get('k')).toEqual({ ok: true });

    // Misconfigured: the same user on a namespace its ACL does not allow.
    const other = await app({
      namespace: 'blog',
      l1: false,
      l2: { type: 'redis', url },
      circuitBreaker: { failureThreshold: 1, cooldownMs: 60_000 },
      writeBehind: { retryBaseDelayMs: 10, retryMaxDelayMs: 50 },
    });
    const drop = firstValueFrom(
      other.cache.events$.pipe(filter((e: CacheEvent) => e.type === 'drop')),
    );
    expect(await other.cache.get('k')).toBeUndefined();
    await other.cache.set('k', 1);
    // Refused for good: dropped and reported once, not retried forever.
    expect(await drop).toMatchObject({ type: 'drop', key: 'k', reason: 'rejected' });
    expect(messages(((await drop) as { error: unknown }).error)).toContain('NOPERM');
    expect(other.cache.stats()).toMatchObject({ pending: 0, dropped: 1 });
    // Redis answered: the breaker must not treat a permission error as an outage.
    expect(other.cache.stats().breaker).toBe('closed');
    const writeThrough = await app({
      namespace: 'blog',
      l2: { type: 'redis', url },
      writeBehind: { enabled: false },
    });
    await expect(writeThrough.cache.set('k', 1)).rejects.toThrow(/NOPERM/);
    expect(await reader.cache.get('k')).toEqual({ ok: true });
  });

  describe('TLS', () => {
    let certs: TestCertificates;

    beforeAll(async () => {
      certs = await makeTestCertificates();
    });

    /** A redis-server that also listens with TLS (server certificate from the test CA); returns the TLS port. */
    async function tlsServer(): Promise<number> {
      const tlsPort = await freePort();
      await server([
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        certs.serverCert,
        '--tls-key-file',
        certs.serverKey,
        '--tls-ca-cert-file',
        certs.caCert,
        '--tls-auth-clients',
        'no',
      ]);
      return tlsPort;
    }

    it('reads, writes and invalidates over TLS (rediss://) with a CA made at test time', async () => {
      const tlsPort = await tlsServer();
      const l2 = {
        type: 'redis' as const,
        url: `rediss://127.0.0.1:${tlsPort}`,
        redis: { tls: { ca: certs.caPem } },
      };
      const invalidation = { url: l2.url, redis: l2.redis };
      const a = await app({ namespace: 'tls', l2, invalidation });
      const b = await app({ namespace: 'tls', l2, invalidation });
      await a.cache.set('k', 'v1');
      await a.cache.flush();
      expect(await b.cache.get('k')).toBe('v1');
      await a.cache.set('k', 'v2');
      await waitFor(async () => (await b.cache.get('k')) === 'v2', {
        message: 'invalidation over TLS',
      });
      expect(a.cache.stats().l2Errors + b.cache.stats().l2Errors).toBe(0);
    });

    it('refuses a server whose certificate is not from the trusted CA: misses, no crash', async () => {
      const tlsPort = await tlsServer();
      const untrusting = await app({
        namespace: 'tls',
        l2TimeoutMs: 100,
        l2: { type: 'redis', url: `rediss://127.0.0.1:${tlsPort}` },
        invalidation: { enabled: false },
      });
      expect(await untrusting.cache.get('k')).toBeUndefined();
      expect(untrusting.cache.stats().l2Errors).toBeGreaterThan(0);
    });
  });
});

describe('namespace isolation', () => {
  it('two apps on one Redis never read, clear or invalidate each other', async () => {
    const redis = await server([]);
    const l2 = { type: 'redis' as const, url: redis.url };
    const a = await app({ namespace: 'app-a', l2 });
    const b = await app({ namespace: 'app-b', l2 });
    const bCold = await app({ namespace: 'app-b', l2, l1: false });
    await a.cache.set('same-key', 'a', { tags: ['shared-tag'] });
    await b.cache.set('same-key', 'b', { tags: ['shared-tag'] });
    await Promise.all([a.cache.flush(), b.cache.flush()]);
    expect(await bCold.cache.get('same-key')).toBe('b');
    await a.cache.invalidateTags(['shared-tag']);
    await a.cache.clear();
    await a.cache.del('same-key');
    expect(await b.cache.get('same-key')).toBe('b');
    expect(await bCold.cache.get('same-key')).toBe('b');
    expect(await a.cache.get('same-key')).toBeUndefined();
  });
});
