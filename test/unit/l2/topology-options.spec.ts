import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import {
  buildClusterOptions,
  createClusterClient,
  describeCluster,
} from '../../../lib/l2/cluster/cluster-client.factory.js';
import { clusterKeySlot } from '../../../lib/l2/cluster/cluster-slots.js';
import { createL2Store } from '../../../lib/l2/l2-store.factory.js';
import {
  buildSentinelClientOptions,
  describeSentinel,
} from '../../../lib/l2/sentinel/sentinel.store.js';
import {
  createTwemproxyClient,
  describeTwemproxy,
  TwemproxyStore,
} from '../../../lib/l2/twemproxy/twemproxy.store.js';
import { ClusterStore } from '../../../lib/l2/cluster/cluster.store.js';
import { SentinelStore } from '../../../lib/l2/sentinel/sentinel.store.js';
import { resolveCacheOptions } from '../../../lib/options/options.validator.js';

const FAIL_FAST = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  protocol: 2,
};

/** The CacheOptionsError `resolveCacheOptions(options)` throws. */
function optionError(options: unknown): CacheOptionsError {
  try {
    resolveCacheOptions(options);
  } catch (error: unknown) {
    if (error instanceof CacheOptionsError) return error;
    throw error;
  }
  throw new Error('resolveCacheOptions accepted the options');
}

describe('resolveCacheOptions() for the scale-out topologies', () => {
  it.each([
    [{ type: 'twemproxy', host: 'p', redis: { db: 1 } }, 'l2.redis.db'],
    [{ type: 'twemproxy', host: 'p', redis: { connectionName: 'x' } }, 'l2.redis.connectionName'],
    [{ type: 'twemproxy', host: 'p', redis: { protocol: 3 } }, 'l2.redis.protocol'],
    [{ type: 'twemproxy', host: 'p', proxies: [{ host: 'a', port: 1 }] }, 'l2.proxies'],
    [{ type: 'twemproxy', proxies: [] }, 'l2.proxies'],
    [{ type: 'twemproxy', proxies: [{ host: 'a' }] }, 'l2.proxies[0].port'],
    [
      { type: 'cluster', nodes: [{ host: 'a', port: 1 }], cluster: { redisOptions: { db: 2 } } },
      'l2.cluster.redisOptions.db',
    ],
    [
      {
        type: 'sentinel',
        sentinels: [{ host: 'a', port: 1 }],
        name: 'm',
        redis: { failoverDetector: false },
      },
      'l2.redis.failoverDetector',
    ],
    [
      {
        type: 'sentinel',
        sentinels: [{ host: 'a', port: 1 }],
        name: 'm',
        redis: { role: 'slave' },
      },
      'l2.redis.role',
    ],
  ])('fails at start-up for %j, naming %s', (l2, option) => {
    const error = optionError({ l2 });
    expect(error.option).toBe(option);
    expect(error.message).toContain(option);
  });

  it('accepts several twemproxy proxies', () => {
    const proxies = [
      { host: 'a', port: 22121 },
      { host: 'b', port: 22121 },
    ];
    const options = { l2: { type: 'twemproxy', proxies }, invalidation: { enabled: false } };
    expect(resolveCacheOptions(options).l2).toEqual({
      type: 'twemproxy',
      proxies,
    });
  });
});

describe('createL2Store()', () => {
  it('builds the store of each scale-out topology without connecting', async () => {
    const stores = [
      createL2Store({ type: 'twemproxy', host: '127.0.0.1', port: 1 }),
      createL2Store({ type: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }] }),
      createL2Store({ type: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'm' }),
    ];
    expect(stores[0]).toBeInstanceOf(TwemproxyStore);
    expect(stores[1]).toBeInstanceOf(ClusterStore);
    expect(stores[2]).toBeInstanceOf(SentinelStore);
    expect((stores[0] as TwemproxyStore).client.status).toBe('wait');
    expect((stores[1] as ClusterStore).cluster.status).toBe('wait');
    expect((stores[2] as SentinelStore).client.status).toBe('wait');
    await Promise.all(stores.map((store) => store.close()));
  });
});

describe('twemproxy client options', () => {
  it('sets up ioredis for a proxy over the fail-fast options, whatever the user passes', () => {
    const client = createTwemproxyClient(
      { host: 'proxy', port: 22122 },
      { password: 'pw', connectTimeout: 300, enableOfflineQueue: true, maxRetriesPerRequest: 5 },
    );
    expect(client.options).toMatchObject({
      ...FAIL_FAST,
      host: 'proxy',
      port: 22122,
      password: 'pw',
      connectTimeout: 300,
      enableReadyCheck: false,
      disableClientInfo: true,
    });
    expect(client.options.db ?? 0).toBe(0);
    expect(client.options.connectionName ?? null).toBeNull();
    client.disconnect();
  });

  it('describes the proxies without the password', () => {
    expect(
      describeTwemproxy(
        [
          { host: 'a', port: 1 },
          { host: 'b', port: 2 },
        ],
        { password: 's3cret' },
      ),
    ).toBe('twemproxy :***@a:1, :***@b:2');
  });
});

describe('buildClusterOptions()', () => {
  it('forces the fail-fast settings on the cluster and on every node connection', () => {
    const options = buildClusterOptions({
      type: 'cluster',
      nodes: [{ host: 'a', port: 1 }],
      cluster: {
        enableOfflineQueue: true,
        enableAutoPipelining: true,
        retryDelayOnFailover: 300,
        redisOptions: { password: 'pw', connectTimeout: 700, maxRetriesPerRequest: 9 },
      },
    });
    expect(options).toMatchObject({
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      retryDelayOnFailover: 300,
      retryDelayOnClusterDown: 0,
    });
    expect(options.redisOptions).toMatchObject({
      password: 'pw',
      connectTimeout: 700,
      socketTimeout: 5_000,
      disconnectTimeout: 200,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      protocol: 2,
    });
  });

  it('never stops reconnecting, even with a strategy that gives up', () => {
    const options = buildClusterOptions({
      type: 'cluster',
      nodes: [{ host: 'a', port: 1 }],
      cluster: { clusterRetryStrategy: () => null },
    });
    const delay = options.clusterRetryStrategy?.(3);
    expect(typeof delay).toBe('number');
  });

  it('builds a lazy client and describes it by its seed nodes', () => {
    const client = createClusterClient({ type: 'cluster', nodes: [{ host: 'a', port: 1 }] });
    expect(client.status).toBe('wait');
    client.disconnect();
    expect(
      describeCluster([
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ]),
    ).toBe('cluster a:7000, b:7001');
  });
});

describe('clusterKeySlot()', () => {
  it('computes Redis Cluster slots, hash tags included', () => {
    // Reference values from CLUSTER KEYSLOT (Redis 7.0).
    expect(clusterKeySlot('foo')).toBe(12182);
    expect(clusterKeySlot('123456789')).toBe(12739);
    expect(clusterKeySlot('{user1000}.following')).toBe(clusterKeySlot('user1000'));
    expect(clusterKeySlot('foo{}{bar}')).toBe(clusterKeySlot('foo{}{bar}'.slice(0)));
    expect(clusterKeySlot('{}x')).not.toBe(clusterKeySlot('x'));
  });
});

describe('buildSentinelClientOptions()', () => {
  it('follows failovers (failover detector, master role, ready check) over the fail-fast options', () => {
    const options = buildSentinelClientOptions({
      type: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      redis: { password: 'pw', sentinelPassword: 'spw', enableOfflineQueue: true },
    });
    expect(options).toMatchObject({
      ...FAIL_FAST,
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      role: 'master',
      failoverDetector: true,
      enableReadyCheck: true,
      password: 'pw',
      sentinelPassword: 'spw',
      sentinelCommandTimeout: 1_000,
    });
    expect(
      options.reconnectOnError?.(
        new Error("READONLY You can't write against a read only replica."),
      ),
    ).toBe(true);
    expect(options.reconnectOnError?.(new Error('ERR other'))).toBe(false);
    expect(describeSentinel('mymaster', [{ host: 's1', port: 26379 }])).toBe(
      'sentinel mymaster via s1:26379',
    );
  });
});
