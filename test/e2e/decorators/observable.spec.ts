import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import {
  defer,
  delay,
  firstValueFrom,
  lastValueFrom,
  Observable,
  of,
  throwError,
  toArray,
} from 'rxjs';
import type { Observable as ObservableType } from 'rxjs';
import { Cacheable, CacheDecoratorError, CacheEvict } from '../../../lib/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { type CacheApp, startCacheApp } from './support/cache-app.js';

/** Observable methods; `runs` counts subscriptions that reached the body. */
@Injectable()
class PriceFeed {
  readonly runs = new Map<string, number>();
  failure: Error | undefined;

  // Declared with the runtime Observable class: known to be an Observable at start-up.
  @Cacheable({ key: 'price:{0}' })
  price(sku: string): Observable<number> {
    return this.body('price', of(sku.length * 100).pipe(delay(20)));
  }

  @Cacheable({ key: 'history:{0}' })
  history(sku: string): Observable<number> {
    return this.body('history', of(1, 2, 3).pipe(delay(10)), sku);
  }

  @Cacheable({ key: 'empty' })
  nothing(): Observable<number> {
    return this.body('nothing', of<number>());
  }

  // A type-only import makes TypeScript emit Object: the first call tells the kind.
  @Cacheable({ key: 'typeOnly:{0}' })
  typeOnly(sku: string): ObservableType<string> {
    return this.body('typeOnly', of(`t-${sku}`, `u-${sku}`));
  }

  @CacheEvict({ key: 'history:{0}' })
  resetHistory(sku: string): Observable<string> {
    return this.body('resetHistory', of('reset', sku));
  }

  count(method: string): number {
    return this.runs.get(method) ?? 0;
  }

  /** Cold, like a real Observable method: the body runs on subscription. */
  private body<T>(method: string, source: Observable<T>, ..._args: unknown[]): Observable<T> {
    return defer(() => {
      this.runs.set(method, this.count(method) + 1);
      return this.failure ? throwError(() => this.failure) : source;
    });
  }
}

/** No return type annotation: unknown until called, and it returns a plain value. */
@Injectable()
class Undeclared {
  runs = 0;

  // @ts-expect-error -- the decorator's type refuses a plain return type too
  @Cacheable()
  plain(id: string) {
    this.runs++;
    return `plain ${id}`;
  }
}

let redis: RedisServer;
const apps: CacheApp[] = [];

async function start(): Promise<CacheApp & { feed: PriceFeed }> {
  const app = await startCacheApp(redis, { fixture: { providers: [PriceFeed, Undeclared] } });
  apps.push(app);
  return { ...app, feed: app.get(PriceFeed) };
}

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map(({ app }) => app.close()));
  await redis.cli('FLUSHALL');
});

afterAll(async () => {
  await redis.stop();
});

describe('@Cacheable on an Observable method (real Redis)', () => {
  it('returns an Observable of the cached value on a hit, without running the method', async () => {
    const { feed } = await start();
    const first = feed.price('abc');
    expect(first).toBeInstanceOf(Observable);
    expect(await firstValueFrom(first)).toBe(300);
    expect(await firstValueFrom(feed.price('abc'))).toBe(300);
    expect(feed.count('price')).toBe(1);
  });

  it('stores a multi-value Observable as its emissions and replays them in order', async () => {
    const { feed, cache } = await start();
    expect(await lastValueFrom(feed.history('a').pipe(toArray()))).toEqual([1, 2, 3]);
    expect(await lastValueFrom(feed.history('a').pipe(toArray()))).toEqual([1, 2, 3]);
    expect(feed.count('history')).toBe(1);
    expect(await cache.get('history:a')).toEqual([1, 2, 3]);
  });

  it('caches an Observable that completes without emitting as an empty replay', async () => {
    const { feed } = await start();
    expect(await lastValueFrom(feed.nothing().pipe(toArray()))).toEqual([]);
    expect(await lastValueFrom(feed.nothing().pipe(toArray()))).toEqual([]);
    expect(feed.count('nothing')).toBe(1);
  });

  it('does nothing until subscribed, and runs once for concurrent subscribers', async () => {
    const { feed } = await start();
    const price$ = feed.price('lazy');
    expect(feed.count('price')).toBe(0);
    const values = await Promise.all([
      firstValueFrom(price$),
      firstValueFrom(price$),
      firstValueFrom(feed.price('lazy')),
    ]);
    expect(values).toEqual([400, 400, 400]);
    expect(feed.count('price')).toBe(1);
  });

  it('gives every concurrent subscriber the error and caches nothing', async () => {
    const { feed, cache } = await start();
    const failure = new Error('feed down');
    feed.failure = failure;
    const settled = await Promise.allSettled([
      firstValueFrom(feed.price('err')),
      firstValueFrom(feed.price('err')),
    ]);
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as unknown) : s.value))).toEqual(
      [failure, failure],
    );
    expect(feed.count('price')).toBe(1);
    expect(await cache.get('price:err')).toBeUndefined();
  });

  it('learns the kind of a method whose return type is not known at start-up from its first call', async () => {
    const { feed } = await start();
    expect(await lastValueFrom(feed.typeOnly('x').pipe(toArray()))).toEqual(['t-x', 'u-x']);
    expect(await lastValueFrom(feed.typeOnly('x').pipe(toArray()))).toEqual(['t-x', 'u-x']);
    expect(feed.count('typeOnly')).toBe(1);
  });

  it('throws CacheDecoratorError naming the method when an undeclared method returns a plain value', async () => {
    const { get } = await start();
    const undeclared = get(Undeclared);
    expect(() => undeclared.plain('1')).toThrow(CacheDecoratorError);
    expect(() => undeclared.plain('1')).toThrow(
      /Undeclared\.plain: cache-decorated but returns the string 'plain 1' \(not a Promise or Observable\)/,
    );
  });

  it('evicts once an Observable @CacheEvict method completes, letting its emissions through', async () => {
    const { feed, cache } = await start();
    await lastValueFrom(feed.history('e').pipe(toArray()));
    expect(await cache.get('history:e')).toEqual([1, 2, 3]);
    const reset$ = feed.resetHistory('e');
    expect(await cache.get('history:e')).toEqual([1, 2, 3]); // not subscribed yet
    expect(await lastValueFrom(reset$.pipe(toArray()))).toEqual(['reset', 'e']);
    expect(await cache.get('history:e')).toBeUndefined();
    await lastValueFrom(feed.history('e').pipe(toArray()));
    expect(feed.count('history')).toBe(2);
  });
});
