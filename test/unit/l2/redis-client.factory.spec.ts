import {
  buildRedisClientOptions,
  createRedisClient,
  describeRedisTarget,
  reconnectDelayMs,
  REDIS_CLIENT_FORCED,
} from '../../../lib/l2/redis/redis-client.factory.js';

const FORCED = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  protocol: 2,
};

describe('buildRedisClientOptions()', () => {
  it('returns fail-fast defaults and the forced options when only a url is given', () => {
    const options = buildRedisClientOptions({ url: 'redis://10.0.0.5:6390' });
    expect(options).toMatchObject({
      ...FORCED,
      host: '10.0.0.5',
      port: 6390,
      connectTimeout: 2_000,
      socketTimeout: 5_000,
      disconnectTimeout: 200,
    });
    expect(options.password).toBeUndefined();
    expect(options.tls).toBeUndefined();
    expect(typeof options.retryStrategy).toBe('function');
  });

  it('lets pass-through options override defaults but never the forced options', () => {
    const options = buildRedisClientOptions({
      host: 'cache',
      redis: {
        connectTimeout: 700,
        socketTimeout: 0,
        commandTimeout: 100,
        keyPrefix: 'x:',
        enableOfflineQueue: true,
        lazyConnect: false,
        maxRetriesPerRequest: null,
        autoResendUnfulfilledCommands: true,
        protocol: 3,
      },
    });
    expect(options).toMatchObject({
      ...FORCED,
      connectTimeout: 700,
      socketTimeout: 0,
      commandTimeout: 100,
      keyPrefix: 'x:',
    });
  });

  it('reads host, port, credentials, db and TLS from the url, decoding them', () => {
    const options = buildRedisClientOptions({
      url: 'rediss://alice:p%40ss%3Aword@cache.example.com:6380/3',
      redis: { password: 'ignored', db: 9 },
    });
    expect(options).toMatchObject({
      host: 'cache.example.com',
      port: 6380,
      username: 'alice',
      password: 'p@ss:word',
      db: 3,
      tls: {},
    });
  });

  it('keeps the tls options passed through for a rediss url', () => {
    const tls = { rejectUnauthorized: false };
    expect(buildRedisClientOptions({ url: 'rediss://h', redis: { tls } }).tls).toBe(tls);
  });

  it('takes the password and db from the pass-through options when the url has none', () => {
    const options = buildRedisClientOptions({
      url: 'redis://h:1234',
      redis: { password: 'pw', db: 2 },
    });
    expect(options).toMatchObject({ host: 'h', port: 1234, password: 'pw', db: 2 });
  });

  it('uses host and port when there is no url, port 6379 by default', () => {
    expect(buildRedisClientOptions({ host: 'a' })).toMatchObject({ host: 'a', port: 6379 });
    expect(buildRedisClientOptions({ host: 'a', port: 7000 })).toMatchObject({ port: 7000 });
    expect(buildRedisClientOptions({ url: 'redis://[::1]:7001' })).toMatchObject({
      host: '::1',
      port: 7001,
    });
  });

  it("applies extra options over the user's, and still keeps the forced ones", () => {
    const options = buildRedisClientOptions(
      { host: 'proxy', redis: { enableReadyCheck: true, connectionName: 'x' } },
      { enableReadyCheck: false, protocol: 3, enableOfflineQueue: true },
    );
    expect(options).toMatchObject({ ...FORCED, enableReadyCheck: false, connectionName: 'x' });
  });

  it('never stops reconnecting, whatever retryStrategy the user gives', () => {
    const giveUp = buildRedisClientOptions({ host: 'h', redis: { retryStrategy: () => null } });
    expect(giveUp.retryStrategy?.(3)).toEqual(expect.any(Number));
    const none = buildRedisClientOptions({ host: 'h', redis: { retryStrategy: null } });
    expect(none.retryStrategy?.(1)).toEqual(expect.any(Number));
    const custom = buildRedisClientOptions({ host: 'h', redis: { retryStrategy: (n) => n * 7 } });
    expect(custom.retryStrategy?.(3)).toBe(21);
  });

  it('cannot be changed through the exported forced options', () => {
    expect(Object.isFrozen(REDIS_CLIENT_FORCED)).toBe(true);
  });
});

describe('reconnectDelayMs()', () => {
  it('doubles from 50 ms and caps at 2,000 ms', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 100, 10_000].map((n) => reconnectDelayMs(n, () => 0));
    expect(delays).toEqual([50, 100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000]);
  });

  it('adds up to 10% jitter', () => {
    expect(reconnectDelayMs(1, () => 0.999)).toBe(55);
    expect(reconnectDelayMs(50, () => 0.999)).toBe(2_200);
  });
});

describe('describeRedisTarget()', () => {
  it('describes a plain address', () => {
    expect(describeRedisTarget({ url: 'redis://127.0.0.1:6379' })).toBe('redis 127.0.0.1:6379');
    expect(describeRedisTarget({ host: 'cache' })).toBe('redis cache:6379');
    expect(describeRedisTarget({ host: 'proxy', port: 22121 }, 'twemproxy')).toBe(
      'twemproxy proxy:22121',
    );
  });

  it('never shows a password, from the url or the pass-through options', () => {
    const fromUrl = describeRedisTarget({ url: 'rediss://alice:hunter2@cache:6380/2' });
    expect(fromUrl).toBe('redis alice:***@cache:6380/2 (tls)');
    const fromOptions = describeRedisTarget({ host: 'cache', redis: { password: 'hunter2' } });
    expect(fromOptions).toBe('redis :***@cache:6379');
    expect(`${fromUrl} ${fromOptions}`).not.toContain('hunter2');
  });

  it('does not throw, nor echo the input, for an invalid url', () => {
    const description = describeRedisTarget({ url: 'redis://user:hunter2@ bad host' });
    expect(description).toBe('redis (invalid url)');
  });

  it('brackets an IPv6 host', () => {
    expect(describeRedisTarget({ url: 'redis://[::1]:7000' })).toBe('redis [::1]:7000');
  });
});

describe('createRedisClient()', () => {
  it('returns an ioredis client that has not opened a connection', () => {
    const client = createRedisClient({ type: 'redis', url: 'redis://127.0.0.1:1' });
    try {
      expect(client.status).toBe('wait');
      expect(client.options).toMatchObject(FORCED);
    } finally {
      client.disconnect();
    }
  });
});
