import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DistributedCacheModule } from '../../../lib/cache.module.js';
import { Cacheable } from '../../../lib/decorators/cacheable.decorator.js';
import { CacheDecoratorError } from '../../../lib/errors/cache.errors.js';
import type { DistributedCacheModuleOptions } from '../../../lib/options/cache-options.interface.js';
import { RedisServer } from '../../support/redis-server.js';

/** Counts the origin calls of every instance of the process (one per app here). */
let origin = 0;

@Injectable()
class Reports {
  @Cacheable({ key: 'report:{0}', ttl: '1m', lock: true })
  async build(id: string): Promise<{ id: string }> {
    origin++;
    await new Promise((resolve) => setTimeout(resolve, 150));
    return { id };
  }

  @Cacheable({ key: 'quick:{0}', ttl: '1m', lock: { waitMs: '2s' } })
  async quick(id: string): Promise<string> {
    origin++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    return id;
  }
}

async function start(
  options: DistributedCacheModuleOptions,
  providers: Array<new (...args: never[]) => unknown> = [Reports],
): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [DistributedCacheModule.forRoot({ isGlobal: true, ...options })],
    providers,
  })
    .setLogger(false as never)
    .compile();
  return moduleRef.init();
}

describe('@Cacheable({ lock })', () => {
  let redis: RedisServer;
  const apps: INestApplicationContext[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('runs the method once across three apps sharing Redis, and each app caches the result', async () => {
    for (let i = 0; i < 3; i++) {
      apps.push(await start({ namespace: 'dec-lock', l2: { type: 'redis', url: redis.url } }));
    }
    origin = 0;
    const calls = apps.flatMap((app) => [
      ...Array.from({ length: 30 }, () => app.get(Reports).build('r1')),
      ...Array.from({ length: 30 }, () => app.get(Reports).quick('q1')),
    ]);
    const values = await Promise.all(calls);
    expect(origin).toBe(2); // build once, quick once, across all three apps
    expect(values.filter((value) => typeof value === 'object')).toEqual(
      Array.from({ length: 90 }, () => ({ id: 'r1' })),
    );
    expect(values.filter((value) => value === 'q1')).toHaveLength(90);
    await Promise.all(apps.map((app) => app.get(Reports).build('r1')));
    expect(origin).toBe(2);
  });

  it.each([
    ['yes', "option 'lock' must be true, false or { waitMs }"],
    [{ wait: 1 }, "unknown option 'lock.wait'"],
    [{ waitMs: 'soon' }, 'lock.waitMs'],
  ])(
    'refuses lock: %j at start-up, naming the class, the method and the option',
    async (lock, says) => {
      @Injectable()
      class Broken {
        @Cacheable({ key: 'b', lock: lock as never })
        async load(): Promise<number> {
          return 1;
        }
      }
      const started = start({ namespace: 'dec-lock-bad' }, [Broken]);
      await expect(started).rejects.toBeInstanceOf(CacheDecoratorError);
      await expect(started).rejects.toThrow('@Cacheable on Broken.load');
      await expect(started).rejects.toThrow(says);
    },
  );
});
