import 'reflect-metadata';
import { Injectable, type LoggerService, Module, type ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  Cacheable,
  CacheDecoratorError,
  CacheEvict,
  CacheOptionsError,
  CachePut,
  type CacheSerializer,
  CacheService,
  DistributedCacheModule,
  type DistributedCacheModuleOptions,
  getCacheToken,
  InjectCache,
} from '../../../lib/index.js';
import {
  DistributedCacheHealthIndicator,
  DistributedCacheHealthModule,
} from '../../../lib/health/index.js';
import { CacheMetricsService, DistributedCacheMetricsModule } from '../../../lib/metrics/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { RecordingLogger } from '../../support/cache-app.js';

const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

/** A serializer whose payloads are recognisable in Redis: `S1` then JSON. */
const sessionSerializer: CacheSerializer & { calls: number } = {
  calls: 0,
  serialize(value: unknown): Buffer {
    this.calls++;
    return Buffer.from(`S1${JSON.stringify(value)}`);
  },
  deserialize(payload: Buffer): unknown {
    return JSON.parse(payload.toString('utf8').slice(2)) as unknown;
  },
};

let redis: RedisServer;
const apps: TestingModule[] = [];

/** Redis options shared by the caches on the test server: quick flushes, no bus. */
function onRedis(namespace: string): DistributedCacheModuleOptions {
  return {
    namespace,
    l2: { type: 'redis', url: redis.url },
    invalidation: { enabled: false },
    writeBehind: { flushIntervalMs: 5, shutdownTimeoutMs: 1_000 },
  };
}

/** The default cache and two named ones: `sessions` on Redis, `local` on the memory L2. */
function threeCaches(): ModuleMetadata['imports'] {
  return [
    DistributedCacheModule.forRoot({ isGlobal: true, ...onRedis('app') }),
    DistributedCacheModule.forRoot({
      name: 'sessions',
      isGlobal: true,
      ...onRedis('sessions'),
      ttl: '30m',
      serializer: sessionSerializer,
    }),
    DistributedCacheModule.forRoot({
      name: 'local',
      isGlobal: true,
      namespace: 'local',
      ttl: '2s',
      l1: { max: 5 },
    }),
  ];
}

async function start(
  metadata: ModuleMetadata,
  logger: LoggerService = silent,
): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule(metadata).setLogger(logger).compile();
  apps.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}

/** Starts an app that must fail, closes what it opened, and returns the error. */
async function startupError(metadata: ModuleMetadata): Promise<unknown> {
  try {
    await start(metadata);
  } catch (error: unknown) {
    return error;
  }
  throw new Error('the application started');
}

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await redis.cli('FLUSHALL');
});

afterAll(async () => {
  await redis.stop();
});

describe('DistributedCacheModule.forRoot({ name })', () => {
  it('keeps two named caches and the default apart: same key, same Redis, own values', async () => {
    const app = await start({ imports: threeCaches() });
    const main = app.get(CacheService);
    const sessions = app.get<CacheService>(getCacheToken('sessions'));
    const local = app.get<CacheService>(getCacheToken('local'));
    expect(new Set([main, sessions, local]).size).toBe(3);

    await main.set('user:1', { from: 'main' });
    await sessions.set('user:1', { from: 'sessions' });
    await local.set('user:1', { from: 'local' });
    expect(await main.get('user:1')).toEqual({ from: 'main' });
    expect(await sessions.get('user:1')).toEqual({ from: 'sessions' });
    expect(await local.get('user:1')).toEqual({ from: 'local' });

    await Promise.all([main.flush(), sessions.flush(), local.flush()]);
    // Both Redis caches wrote under their own namespace; the memory one wrote nothing to Redis.
    expect((await redis.cli('KEYS', '*:user:1')).split('\n').sort()).toEqual([
      'app:user:1',
      'sessions:user:1',
    ]);

    // Clearing or deleting in one cache leaves the others alone.
    await sessions.clear();
    await main.del('user:1');
    expect(await sessions.get('user:1')).toBeUndefined();
    expect(await main.get('user:1')).toBeUndefined();
    expect(await local.get('user:1')).toEqual({ from: 'local' });
  });

  it('gives each cache its own TTL, serializer and L2', async () => {
    const app = await start({ imports: threeCaches() });
    const main = app.get(CacheService);
    const sessions = app.get<CacheService>(getCacheToken('sessions'));
    const calls = sessionSerializer.calls;
    await main.set('k', { n: 1 });
    await sessions.set('k', { n: 2 });
    await Promise.all([main.flush(), sessions.flush()]);

    // TTL: the default cache's 5 minutes, the sessions cache's 30.
    const mainTtl = Number(await redis.cli('PTTL', 'app:k'));
    const sessionsTtl = Number(await redis.cli('PTTL', 'sessions:k'));
    expect(mainTtl).toBeGreaterThan(4 * 60_000);
    expect(mainTtl).toBeLessThanOrEqual(5 * 60_000);
    expect(sessionsTtl).toBeGreaterThan(29 * 60_000);
    expect(sessionsTtl).toBeLessThanOrEqual(30 * 60_000);

    // Serializer: only the sessions cache used the custom one.
    expect(sessionSerializer.calls).toBe(calls + 1);
    expect(await redis.cli('GET', 'sessions:k')).toMatch(/S1\{"n":2\}$/);
    expect(await redis.cli('GET', 'app:k')).not.toContain('S1');

    // L1 bounds: the local cache holds at most 5 entries in L1, the default cache 10,000.
    const local = app.get<CacheService>(getCacheToken('local'));
    for (let i = 0; i < 20; i++) {
      await local.set(`n${i}`, i);
      await main.set(`n${i}`, i);
    }
    expect(local.stats().l1Size).toBe(5);
    expect(main.stats().l1Size).toBe(21);
    // L2: the local cache's entries evicted from L1 are still served, from its memory L2.
    expect(await local.get('n0')).toBe(0);
    expect(await redis.cli('EXISTS', 'local:n0')).toBe('0');
  });

  it('injects named caches with @InjectCache(name), and the default with @InjectCache()', async () => {
    @Injectable()
    class SessionStore {
      constructor(
        @InjectCache('sessions') readonly sessions: CacheService,
        @InjectCache() readonly main: CacheService,
        readonly byType: CacheService,
      ) {}
    }
    @Module({ providers: [SessionStore], exports: [SessionStore] })
    class SessionsFeatureModule {}

    const app = await start({ imports: [...(threeCaches() ?? []), SessionsFeatureModule] });
    const store = app.get(SessionStore);
    expect(store.sessions).toBe(app.get(getCacheToken('sessions')));
    expect(store.main).toBe(app.get(CacheService));
    expect(store.byType).toBe(store.main);
    expect(store.sessions).toBeInstanceOf(CacheService);
  });

  it('supports forRootAsync with name beside useFactory', async () => {
    @Injectable()
    class SessionStore {
      constructor(@InjectCache('sessions') readonly sessions: CacheService) {}
    }
    const app = await start({
      imports: [
        DistributedCacheModule.forRootAsync({
          name: 'sessions',
          useFactory: () => onRedis('async-sessions'),
        }),
      ],
      providers: [SessionStore],
    });
    const { sessions } = app.get(SessionStore);
    await sessions.set('k', 'v');
    await sessions.flush();
    expect(await redis.cli('EXISTS', 'async-sessions:k')).toBe('1');
  });

  it('keeps a non-global named cache private to the modules that import it', async () => {
    @Injectable()
    class Outsider {
      constructor(@InjectCache('sessions') readonly sessions: CacheService) {}
    }
    @Module({ providers: [Outsider] })
    class FeatureModule {}
    await expect(
      Test.createTestingModule({
        imports: [DistributedCacheModule.forRoot({ name: 'sessions' }), FeatureModule],
      })
        .setLogger(silent)
        .compile(),
    ).rejects.toThrow(/distributed-cache:sessions:CacheService/);
  });

  it('logs one start line per cache, naming the named ones', async () => {
    const logger = new RecordingLogger();
    await start({ imports: threeCaches() }, logger);
    const started = logger.lines.filter((line) => line.startsWith('Started'));
    expect(started).toHaveLength(3);
    expect(
      started.filter((line) => line.startsWith("Started cache 'sessions': L2 redis")),
    ).toHaveLength(1);
    expect(
      started.filter((line) => line.startsWith("Started cache 'local': L2 memory")),
    ).toHaveLength(1);
    expect(started.filter((line) => line.startsWith('Started: L2 redis'))).toHaveLength(1);
  });
});

describe('decorators with cache: name', () => {
  const runs: string[] = [];

  @Injectable()
  class SessionsService {
    @Cacheable({ cache: 'sessions', key: 'session:{0}' })
    async find(id: string): Promise<{ id: string }> {
      runs.push(`find ${id}`);
      return { id };
    }

    @Cacheable({ key: 'profile:{0}' })
    async profile(id: string): Promise<string> {
      runs.push(`profile ${id}`);
      return `profile ${id}`;
    }

    /** Evicts from the sessions cache and stores in the default one: two caches, one method. */
    @CacheEvict({ cache: 'sessions', key: 'session:{0}' })
    @CachePut({ key: 'last-logout:{0}' })
    async logout(id: string): Promise<string> {
      runs.push(`logout ${id}`);
      return `bye ${id}`;
    }
  }

  beforeEach(() => runs.splice(0));

  it('stores a @Cacheable({ cache }) result in that cache only', async () => {
    const app = await start({ imports: threeCaches(), providers: [SessionsService] });
    const service = app.get(SessionsService);
    const sessions = app.get<CacheService>(getCacheToken('sessions'));
    const main = app.get(CacheService);

    expect(await service.find('7')).toEqual({ id: '7' });
    expect(await service.find('7')).toEqual({ id: '7' });
    expect(runs).toEqual(['find 7']);
    expect(await sessions.get('session:7')).toEqual({ id: '7' });
    expect(await main.get('session:7')).toBeUndefined();

    await service.profile('7');
    expect(await main.get('profile:7')).toBe('profile 7');
    expect(await sessions.get('profile:7')).toBeUndefined();

    await sessions.flush();
    expect(await redis.cli('EXISTS', 'sessions:session:7', 'app:session:7')).toBe('1');
  });

  it('runs each decorator of one method on the cache it names', async () => {
    const app = await start({ imports: threeCaches(), providers: [SessionsService] });
    const service = app.get(SessionsService);
    const sessions = app.get<CacheService>(getCacheToken('sessions'));
    const main = app.get(CacheService);
    await service.find('3');
    expect(await service.logout('3')).toBe('bye 3');
    expect(await sessions.get('session:3')).toBeUndefined();
    expect(await main.get('last-logout:3')).toBe('bye 3');
    expect(await sessions.get('last-logout:3')).toBeUndefined();
  });

  it('binds a method of a named cache registered by forRootAsync', async () => {
    const app = await start({
      imports: [
        DistributedCacheModule.forRoot({ isGlobal: true }),
        DistributedCacheModule.forRootAsync({
          name: 'sessions',
          isGlobal: true,
          useFactory: () => ({ namespace: 'async' }),
        }),
      ],
      providers: [SessionsService],
    });
    await app.get(SessionsService).find('1');
    expect(await app.get<CacheService>(getCacheToken('sessions')).get('session:1')).toEqual({
      id: '1',
    });
  });
});

describe('start-up checks', () => {
  it('fails when a name is registered twice, naming it', async () => {
    @Module({ imports: [DistributedCacheModule.forRoot({ name: 'sessions', namespace: 'a' })] })
    class FirstModule {}
    @Module({ imports: [DistributedCacheModule.forRoot({ name: 'sessions', namespace: 'a' })] })
    class SecondModule {}
    const error = await startupError({ imports: [FirstModule, SecondModule] });
    expect(error).toBeInstanceOf(CacheOptionsError);
    expect((error as CacheOptionsError).option).toBe('name');
    expect((error as Error).message).toBe(
      "DistributedCacheModule.forRoot({ name: 'sessions' }) is registered 2 times in this " +
        'application; a cache name may be registered once. Register it once (with isGlobal: ' +
        'true, or in a module that exports it) and import that module wherever the cache is needed',
    );
  });

  it('accepts one registration imported by several modules', async () => {
    const Sessions = DistributedCacheModule.forRoot({ name: 'sessions' });
    @Injectable()
    class A {
      constructor(@InjectCache('sessions') readonly cache: CacheService) {}
    }
    @Injectable()
    class B {
      constructor(@InjectCache('sessions') readonly cache: CacheService) {}
    }
    @Module({ imports: [Sessions], providers: [A], exports: [A] })
    class ModuleA {}
    @Module({ imports: [Sessions], providers: [B], exports: [B] })
    class ModuleB {}
    const app = await start({ imports: [ModuleA, ModuleB] });
    expect(app.get(A).cache).toBe(app.get(B).cache);
  });

  it('fails when a decorator names an unknown cache, naming class, method and cache', async () => {
    @Injectable()
    class Typo {
      @Cacheable({ cache: 'sesions', key: 'x:{0}' })
      async find(id: string): Promise<string> {
        return id;
      }
    }
    const error = await startupError({ imports: threeCaches(), providers: [Typo] });
    expect(error).toBeInstanceOf(CacheDecoratorError);
    expect(error).toMatchObject({ className: 'Typo', methodName: 'find' });
    expect((error as Error).message).toBe(
      "@Cacheable on Typo.find: option 'cache' names 'sesions', but no " +
        "DistributedCacheModule.forRoot({ name: 'sesions' }) is registered in this application " +
        "(registered: the default cache, 'sessions', 'local')",
    );
  });

  it('fails when the cache is registered but the module cannot inject it', async () => {
    @Injectable()
    class Hidden {
      @CacheEvict({ cache: 'sessions', key: 'x:{0}' })
      async drop(id: string): Promise<string> {
        return id;
      }
    }
    @Module({ providers: [Hidden] })
    class FeatureModule {}
    @Module({ imports: [DistributedCacheModule.forRoot({ name: 'sessions' })] })
    class SessionsModule {}
    const error = await startupError({ imports: [SessionsModule, FeatureModule] });
    expect(error).toBeInstanceOf(CacheDecoratorError);
    expect(error).toMatchObject({ code: 'CACHE_BINDING' });
    expect((error as Error).message).toContain(
      "@CacheEvict on Hidden.drop: cache 'sessions' is registered, but module FeatureModule cannot inject it",
    );
  });

  it('refuses a cache option that is not a name', async () => {
    @Injectable()
    class Bad {
      @Cacheable({ cache: '' })
      async find(id: string): Promise<string> {
        return id;
      }
    }
    const error = await startupError({ imports: threeCaches(), providers: [Bad] });
    expect(error).toBeInstanceOf(CacheDecoratorError);
    expect((error as Error).message).toBe(
      "@Cacheable on Bad.find: option 'cache' must be the name of a registered cache (a non-empty string), got the string ''",
    );
  });

  it.each([['default'], [''], ['two words'], ['a:b']])('refuses name %j at once', (name) => {
    expect(() => DistributedCacheModule.forRoot({ name })).toThrow(CacheOptionsError);
    expect(() => InjectCache(name)).toThrow(CacheOptionsError);
  });

  it('refuses a name returned by an async factory that differs from the registration', async () => {
    const error = await startupError({
      imports: [
        DistributedCacheModule.forRootAsync({
          name: 'sessions',
          useFactory: () => ({ name: 'other' }),
        }),
      ],
    });
    expect(error).toBeInstanceOf(CacheOptionsError);
    expect((error as Error).message).toContain(
      "The options of cache 'sessions' name 'other': give name beside useFactory",
    );
  });
});

describe('metrics and health of a named cache', () => {
  it('report the cache named by their cache option', async () => {
    const app = await start({
      imports: [
        ...(threeCaches() ?? []),
        DistributedCacheMetricsModule.forRoot({ cache: 'sessions', prometheus: false }),
        DistributedCacheHealthModule.forRoot({ cache: 'sessions' }),
      ],
    });
    const sessions = app.get<CacheService>(getCacheToken('sessions'));
    await sessions.set('k', 1);
    await sessions.get('k');
    const metrics = app.get(CacheMetricsService).snapshot();
    expect(metrics.namespace).toBe('sessions');
    expect(metrics.l1Hits).toBe(1);
    expect(app.get(DistributedCacheHealthIndicator).report()).toMatchObject({
      status: 'up',
      namespace: 'sessions',
    });
  });

  it('fail start-up when the named cache does not exist', async () => {
    const error = await startupError({
      imports: [
        DistributedCacheModule.forRoot(),
        DistributedCacheMetricsModule.forRoot({ cache: 'nope', prometheus: false }),
      ],
    });
    expect(error).toBeInstanceOf(CacheOptionsError);
    expect(error).toMatchObject({ code: 'CACHE_MODULE_MISSING', cacheName: 'nope' });
    expect((error as Error).message).toContain("found no cache named 'nope'");
  });
});
