import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel, type TracingChannelSubscribers } from 'node:diagnostics_channel';
import {
  CACHE_TRACING_CHANNELS,
  CacheSerializationError,
  type CacheBatchTraceContext,
  type CacheTraceContext,
} from '../../../lib/index.js';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { RedisServer } from '../../support/redis-server.js';

type AnyContext = CacheTraceContext | CacheBatchTraceContext;

/**
 * Every operation publishes on `node:diagnostics_channel` TracingChannels named
 * `nestjs-distributed-cache:<operation>`, with a context that says what happened: subscribed
 * here the way a tracer would, against a real Redis and two instances.
 */
describe('diagnostics_channel tracing', () => {
  let redis: RedisServer;
  let a: CacheApp;
  let b: CacheApp;
  const settled: AnyContext[] = [];
  const errors: AnyContext[] = [];
  const subscriptions: Array<() => void> = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    const options = { namespace: 'tr', l2: { type: 'redis' as const, url: redis.url } };
    a = await startCacheApp(options);
    b = await startCacheApp(options);
    for (const name of Object.values(CACHE_TRACING_CHANNELS)) {
      const channel = tracingChannel<unknown, AnyContext>(name);
      const handlers: TracingChannelSubscribers<AnyContext> = {
        start: () => undefined,
        end: () => undefined,
        asyncStart: () => undefined,
        asyncEnd: (context) => settled.push(context),
        error: (context) => errors.push(context),
      };
      channel.subscribe(handlers);
      subscriptions.push(() => channel.unsubscribe(handlers));
    }
  });

  afterAll(async () => {
    for (const unsubscribe of subscriptions) unsubscribe();
    await a.close();
    await b.close();
    await redis.stop();
  });

  const last = (operation: string): AnyContext | undefined =>
    settled.filter((context) => context.operation === operation).at(-1);

  it('names the channels nestjs-distributed-cache:<operation>', () => {
    expect(CACHE_TRACING_CHANNELS).toMatchObject({
      get: 'nestjs-distributed-cache:get',
      getOrSet: 'nestjs-distributed-cache:getOrSet',
      batch: 'nestjs-distributed-cache:batch',
    });
  });

  it('says where each read was answered: a miss, L1, and L2 on another instance', async () => {
    expect(await a.cache.get('p1')).toBeUndefined();
    expect(last('get')).toMatchObject({ namespace: 'tr', key: 'p1', hit: false, tier: 'miss' });

    await a.cache.set('p1', { price: 10 }, { ttl: '1m' });
    const set = last('set') as CacheTraceContext;
    expect(set).toMatchObject({ key: 'p1' });
    expect(set.itemSize).toBeGreaterThan(10);
    expect(set.ttlMs).toBe(60_000);

    await a.cache.get('p1');
    expect(last('get')).toMatchObject({ key: 'p1', hit: true, tier: 'l1' });

    await a.cache.flush();
    const batch = settled.find(
      (context) => context.operation === 'batch' && context.keys.includes('tr:p1'),
    ) as CacheBatchTraceContext | undefined;
    expect(batch).toBeDefined();
    expect(batch!.size).toBeGreaterThanOrEqual(1);
    expect(batch!.bytes).toBeGreaterThanOrEqual(set.itemSize!);

    expect(await b.cache.get('p1')).toEqual({ price: 10 });
    const l2 = last('get') as CacheTraceContext;
    expect(l2).toMatchObject({ key: 'p1', hit: true, tier: 'l2', result: { price: 10 } });
    expect(l2.itemSize).toBe(set.itemSize);

    await b.cache.mget(['p1', 'nope']);
    expect(last('mget')).toMatchObject({ keys: ['p1', 'nope'], hits: 1 });
  });

  it('runs a getOrSet factory inside the trace, and says whether this call loaded it', async () => {
    const store = new AsyncLocalStorage<AnyContext>();
    const getOrSet = tracingChannel<unknown, AnyContext>(CACHE_TRACING_CHANNELS.getOrSet);
    getOrSet.start.bindStore(store, (context) => context);
    let seenInFactory: AnyContext | undefined;
    try {
      const value = await a.cache.getOrSet('report', async () => {
        seenInFactory = store.getStore();
        return { rows: 3 };
      });
      expect(value).toEqual({ rows: 3 });
      const loaded = last('getOrSet');
      expect(loaded).toMatchObject({ key: 'report', hit: false, tier: 'miss', loaded: true });
      expect(seenInFactory).toBe(loaded);

      await a.cache.getOrSet('report', () => ({ rows: 0 }));
      expect(last('getOrSet')).toMatchObject({ key: 'report', hit: true, tier: 'l1' });
      expect(last('getOrSet')).not.toHaveProperty('loaded');
    } finally {
      getOrSet.start.unbindStore(store);
    }
  });

  it('publishes failures on the error event, and the other operations with their arguments', async () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    await expect(a.cache.set('bad', circular)).rejects.toBeInstanceOf(CacheSerializationError);
    const failed = errors.filter((context) => context.operation === 'set').at(-1);
    expect(failed).toMatchObject({ key: 'bad' });
    expect((failed as CacheTraceContext).error).toBeInstanceOf(CacheSerializationError);

    await a.cache.del(['p1', 'report']);
    expect(last('del')).toMatchObject({ keys: ['p1', 'report'] });
    await a.cache.invalidateTags(['t1']);
    expect(last('invalidateTags')).toMatchObject({ tags: ['t1'] });
    await a.cache.clear();
    expect(last('clear')).toMatchObject({ namespace: 'tr' });
    await a.cache.mset([{ key: 'm1', value: 1 }]);
    expect(last('mset')).toMatchObject({ keys: ['m1'] });
  });
});
