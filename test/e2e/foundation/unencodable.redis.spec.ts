import { Redis } from 'ioredis';
import { CacheSerializationError } from '../../../lib/errors/cache.errors.js';
import { startCacheApp, type CacheApp } from '../../support/cache-app.js';
import { RedisServer } from '../../support/redis-server.js';

/**
 * "Values that cannot be encoded never vanish silently" (issue 12, part 4), in write-behind mode
 * (the default) on a real Redis: `set()` and `mset()` of a value the serializer cannot encode
 * reject at once with CacheSerializationError naming the key and the path inside the value, and
 * nothing of it reaches L1, the queue or Redis, with Redis healthy and with Redis hung behind
 * 10,000 queued writes, which all land after the resume. The queue holds the bytes made at
 * `set()`: a caller mutating the value afterwards changes nothing in Redis.
 */
const NAMESPACE = 'uf';
const QUEUED = 10_000;
/** A refusal is synchronous work (encoding a small value); this leaves room for a busy machine. */
const REFUSAL_BOUND_MS = 100;

class Product {
  constructor(public id = 1) {}
}

/** A value the default serializer refuses, and what its error must say about where. */
interface Unencodable {
  readonly name: string;
  readonly make: () => unknown;
  /** Text of the error message that names the path inside the value. */
  readonly where: string;
}

const UNENCODABLE: readonly Unencodable[] = [
  {
    name: 'circular',
    make: () => {
      const value = { id: 1, nested: {} as Record<string, unknown> };
      value.nested['self'] = value;
      return value;
    },
    where: 'value.nested.self is a circular reference',
  },
  {
    name: 'function',
    make: () => ({ id: 1, nested: { price: () => 10 } }),
    where: 'value.nested.price is a function',
  },
  {
    name: 'symbol',
    make: () => ({ id: 1, nested: [1, Symbol('s')] }),
    where: 'value.nested[1] is a symbol',
  },
  {
    name: 'class-instance',
    make: () => ({ id: 1, nested: { product: new Product() } }),
    where: 'value.nested.product is an instance of Product',
  },
  {
    name: 'top-level-instance',
    make: () => new Product(),
    where: 'value is an instance of Product',
  },
  { name: 'top-level-function', make: () => () => 1, where: 'value is a function' },
];

let redis: RedisServer;
let client: Redis;
const apps: CacheApp[] = [];

async function instance(options: Parameters<typeof startCacheApp>[0] = {}): Promise<CacheApp> {
  const app = await startCacheApp({
    namespace: NAMESPACE,
    l2: { type: 'redis', url: redis.url },
    ...options,
  });
  apps.push(app);
  return app;
}

/** Awaits `call` and checks it rejected with CacheSerializationError for `key`, naming `where`. */
async function expectRefused(call: Promise<unknown>, key: string, where: string): Promise<void> {
  const started = performance.now();
  const error = await call.then(
    () => new Error(`resolved, but the value of "${key}" cannot be encoded`),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CacheSerializationError);
  expect({
    key: (error as CacheSerializationError).key,
    message: (error as Error).message,
  }).toEqual({ key, message: expect.stringContaining(where) as string });
  // Refused by set() itself, without any round trip: a hung Redis changes nothing.
  expect(performance.now() - started).toBeLessThan(REFUSAL_BOUND_MS);
}

/**
 * set() and mset() of every unencodable value, each checked to reject naming its key and the
 * path, to leave `pending` as it was and to read back as a miss. Resolves with the keys used.
 */
async function refuseEveryUnencodable(app: CacheApp, label: string): Promise<string[]> {
  const { cache } = app;
  const pending = cache.stats().pending;
  const keys: string[] = [];
  for (const { name, make, where } of UNENCODABLE) {
    const setKey = `bad:${label}:set:${name}`;
    await expectRefused(cache.set(setKey, make()), setKey, where);
    expect(cache.stats().pending).toBe(pending);
    expect(await cache.get(setKey)).toBeUndefined();

    // The bad entry sits between two good ones; the error names the bad entry's key.
    const msetKey = `bad:${label}:mset:${name}`;
    const before = `bad:${label}:mset:${name}:before`;
    const after = `bad:${label}:mset:${name}:after`;
    await expectRefused(
      cache.mset([
        { key: before, value: 'fine' },
        { key: msetKey, value: make() },
        { key: after, value: 'fine' },
      ]),
      msetKey,
      where,
    );
    expect(cache.stats().pending).toBe(pending);
    expect(await cache.get(msetKey)).toBeUndefined();
    keys.push(setKey, msetKey, before, after);
  }
  return keys;
}

/** The data keys under the namespace in Redis (version keys `uf|...` excluded). */
async function keysInRedis(pattern = '*'): Promise<string[]> {
  return (await client.keys(`${NAMESPACE}:${pattern}`)).sort();
}

beforeAll(async () => {
  redis = await RedisServer.start();
  client = new Redis({
    host: redis.host,
    port: redis.port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  await client.connect();
});

afterEach(async () => {
  await redis.resume();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await client.flushall();
});

afterAll(async () => {
  await client.quit();
  await redis.stop();
});

describe('CacheService (write-behind) with values that cannot be encoded', () => {
  it('rejects set() and mset() naming the key and the path, and stores nothing of them, with Redis healthy', async () => {
    const writer = await instance();
    const reader = await instance({ l1: false });

    const refused = await refuseEveryUnencodable(writer, 'healthy');

    // Other writes go through as usual.
    await writer.cache.set('good', { ok: true });
    await writer.cache.mset([{ key: 'good:m', value: [1, 2] }]);
    await writer.cache.flush();
    expect(await reader.cache.mget(['good', 'good:m'])).toEqual([{ ok: true }, [1, 2]]);

    // Nothing of a refused call reached Redis, not even the good entries of a refused mset().
    for (const key of refused) expect(await client.exists(`${NAMESPACE}:${key}`)).toBe(0);
    expect(await keysInRedis()).toEqual([`${NAMESPACE}:good`, `${NAMESPACE}:good:m`]);
    expect(await reader.cache.mget(refused)).toEqual(refused.map(() => undefined));
    expect(writer.cache.stats()).toMatchObject({ dropped: 0, pending: 0 });
  });

  it(`rejects them the same with Redis hung and ${QUEUED} writes queued, and every queued write lands after the resume`, async () => {
    const writer = await instance({
      l2TimeoutMs: 100,
      writeBehind: { maxPending: 20_000, retryMaxDelayMs: 200 },
    });
    await redis.pause();
    for (let i = 0; i < QUEUED; i++) await writer.cache.set(`q:${i}`, i);
    expect(writer.cache.stats().pending).toBe(QUEUED);

    const refused = await refuseEveryUnencodable(writer, 'hung');
    expect(writer.cache.stats().pending).toBe(QUEUED);

    await redis.resume();
    const resumedAt = performance.now();
    await writer.cache.flush(20_000);
    const drainedMs = performance.now() - resumedAt;
    if (process.env['SHOW_TIMINGS'] === '1') {
      console.info(`${QUEUED} queued writes drained ${drainedMs.toFixed(0)} ms after the resume`);
    }

    expect(writer.cache.stats()).toMatchObject({ dropped: 0, pending: 0 });
    expect(await keysInRedis('q:*')).toHaveLength(QUEUED);
    const reader = await instance({ l1: false });
    const keys = Array.from({ length: QUEUED }, (_, i) => `q:${i}`);
    const values = await reader.cache.mget<number>(keys);
    expect(values.findIndex((value, i) => value !== i)).toBe(-1);

    for (const key of refused) expect(await client.exists(`${NAMESPACE}:${key}`)).toBe(0);
    expect(await keysInRedis('bad:*')).toEqual([]);
    expect(await reader.cache.mget(refused)).toEqual(refused.map(() => undefined));
  });
});

describe('CacheService (write-behind) with values mutated after set()', () => {
  it('stores the value as it was at set() and mset(), whatever the caller changes while it is queued', async () => {
    // A long interval: the writes are surely still queued when the caller mutates the values.
    const writer = await instance({ writeBehind: { flushIntervalMs: 300 } });
    const reader = await instance({ l1: false });
    const plain = { name: 'before', list: ['a'], nested: { n: 1 } };
    const tagged = { when: new Date(1_000), map: new Map([['k', 1]]), set: new Set(['a']) };
    const batched = { name: 'before' };

    await writer.cache.set('plain', plain);
    await writer.cache.set('tagged', tagged);
    await writer.cache.mset([{ key: 'batched', value: batched }]);
    expect(writer.cache.stats().pending).toBe(3);
    plain.name = 'after';
    plain.list.push('b');
    plain.nested.n = 2;
    tagged.when.setTime(2_000);
    tagged.map.set('k', 2);
    tagged.set.add('b');
    batched.name = 'after';
    expect(writer.cache.stats().pending).toBe(3);

    await writer.cache.flush();
    expect(await reader.cache.get('plain')).toEqual({
      name: 'before',
      list: ['a'],
      nested: { n: 1 },
    });
    expect(await reader.cache.get('tagged')).toEqual({
      when: new Date(1_000),
      map: new Map([['k', 1]]),
      set: new Set(['a']),
    });
    expect(await reader.cache.get('batched')).toEqual({ name: 'before' });
  });
});
