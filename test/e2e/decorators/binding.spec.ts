import 'reflect-metadata';
import { Controller, Get, Inject, Injectable, Module, Param, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Cacheable, CacheDecoratorError, DistributedCacheModule } from '../../../lib/index.js';
import { delay } from '../../support/poll.js';
import { RedisServer } from '../../support/redis-server.js';
import { type CacheApp, startCacheApp } from './support/cache-app.js';
import { RecordingLogger } from './support/recording-logger.js';

/** Shared by every fixture below: how many times each class's method body ran. */
const runs = new Map<string, number>();
function ran(name: string): void {
  runs.set(name, (runs.get(name) ?? 0) + 1);
}
function count(name: string): number {
  return runs.get(name) ?? 0;
}

@Injectable()
class ProductService {
  @Cacheable({ key: 'product:{0}' })
  async findOne(id: string): Promise<string> {
    ran('ProductService');
    return `product ${id}`;
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedPricing {
  constructor(@Inject(REQUEST) private readonly req: { headers: Record<string, string> }) {}

  @Cacheable({ key: 'price:{0}' })
  async price(id: string): Promise<{ id: string; firstCurrency: string }> {
    ran('RequestScopedPricing');
    return { id, firstCurrency: this.req.headers['x-currency'] ?? 'EUR' };
  }
}

/** Request-scoped by dependency: Nest builds it per request too. */
@Controller('prices')
class PricesController {
  constructor(private readonly pricing: RequestScopedPricing) {}

  @Get(':id')
  price(@Param('id') id: string): Promise<{ id: string; firstCurrency: string }> {
    return this.pricing.price(id);
  }

  @Get(':id/label')
  @Cacheable({ key: 'label:{0}' })
  async label(@Param('id') id: string): Promise<string> {
    ran('PricesController.label');
    return `label ${id}`;
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientFormatter {
  @Cacheable({ key: 'format:{0}' })
  async format(value: string): Promise<string> {
    ran('TransientFormatter');
    return `[${value}]`;
  }
}

@Injectable()
class FormatterUserA {
  constructor(readonly formatter: TransientFormatter) {}
}

@Injectable()
class FormatterUserB {
  constructor(readonly formatter: TransientFormatter) {}
}

class BaseRepository {
  @Cacheable()
  async load(id: string): Promise<string> {
    ran('BaseRepository');
    return `base ${id}`;
  }
}

/** Overrides a cached method and calls the parent's cached method with super. */
@Injectable()
class DerivedRepository extends BaseRepository {
  @Cacheable()
  override async load(id: string): Promise<string> {
    ran('DerivedRepository');
    return `${await super.load(id)} + derived`;
  }
}

let redis: RedisServer;
const apps: CacheApp[] = [];

async function start(
  namespace: string,
  providers: unknown[],
  controllers: unknown[] = [],
): Promise<CacheApp> {
  const app = await startCacheApp(redis, {
    namespace,
    fixture: { providers: providers as never[], controllers: controllers as never[] },
  });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  redis = await RedisServer.start();
});

beforeEach(() => runs.clear());

afterEach(async () => {
  RecordingLogger.restore();
  await Promise.all(apps.splice(0).map(({ app }) => app.close()));
  await redis.cli('FLUSHALL');
});

afterAll(async () => {
  await redis.stop();
});

describe('CacheExplorer binding through DI (real Redis)', () => {
  it('binds each application to its own CacheService: two namespaces never share entries', async () => {
    const alpha = await start('alpha', [ProductService]);
    const beta = await start('beta', [ProductService]);
    await alpha.get(ProductService).findOne('1');
    await beta.get(ProductService).findOne('1');
    expect(count('ProductService')).toBe(2);
    await alpha.get(ProductService).findOne('1');
    await beta.get(ProductService).findOne('1');
    expect(count('ProductService')).toBe(2);
    await Promise.all([alpha.cache.flush(), beta.cache.flush()]);
    expect(await redis.cli('EXISTS', 'alpha:product:1', 'beta:product:1')).toBe('2');
  });

  it('runs uncached on an instance no application bound, and says so once in a debug log', async () => {
    await start('alpha', [ProductService]);
    // After start: creating an app with `logger: false` replaces Nest's static logger.
    const logger = RecordingLogger.install();
    const unbound = new ProductService();
    await unbound.findOne('1');
    await unbound.findOne('1');
    expect(count('ProductService')).toBe(2);
    const lines = logger.find(
      'debug',
      /ProductService\.findOne was called on an instance that no application bound/,
    );
    expect(lines).toHaveLength(1);
  });

  it('binds a useValue instance of a decorated class', async () => {
    const instance = new ProductService();
    await start('alpha', [{ provide: 'PRODUCTS', useValue: instance }]);
    await instance.findOne('v');
    await instance.findOne('v');
    expect(count('ProductService')).toBe(1);
  });

  it('supports request-scoped providers: per-request instances share one cache entry', async () => {
    const app = await start('alpha', [RequestScopedPricing], [PricesController]);
    const server = app.app.getHttpServer() as Parameters<typeof request>[0];
    const first = await request(server).get('/prices/9').set('x-currency', 'USD').expect(200);
    const second = await request(server).get('/prices/9').set('x-currency', 'GBP').expect(200);
    expect(first.body).toEqual({ id: '9', firstCurrency: 'USD' });
    expect(second.body).toEqual(first.body);
    expect(count('RequestScopedPricing')).toBe(1);
  });

  it('supports a controller made request-scoped by its dependency, on a cached route', async () => {
    const app = await start('alpha', [RequestScopedPricing], [PricesController]);
    const server = app.app.getHttpServer() as Parameters<typeof request>[0];
    await request(server).get('/prices/3/label').expect(200, 'label 3');
    await request(server).get('/prices/3/label').expect(200, 'label 3');
    expect(count('PricesController.label')).toBe(1);
  });

  it('refuses a second running application providing the same request-scoped class', async () => {
    const first = await start('alpha', [RequestScopedPricing], [PricesController]);
    await expect(start('beta', [RequestScopedPricing], [PricesController])).rejects.toMatchObject({
      code: 'CACHE_BINDING',
    });
    await expect(start('beta', [RequestScopedPricing], [PricesController])).rejects.toThrow(
      /RequestScopedPricing: it is request-scoped and has cache-decorated methods, and two running applications/,
    );
    await first.app.close();
    apps.splice(apps.indexOf(first), 1);
    await expect(start('beta', [RequestScopedPricing], [PricesController])).resolves.toBeDefined();
  });

  it('binds every instance of a transient provider', async () => {
    const app = await start('alpha', [TransientFormatter, FormatterUserA, FormatterUserB]);
    const a = app.get(FormatterUserA).formatter;
    const b = app.get(FormatterUserB).formatter;
    expect(a).not.toBe(b);
    expect(await a.format('x')).toBe('[x]');
    expect(await b.format('x')).toBe('[x]');
    expect(count('TransientFormatter')).toBe(1);
  });

  it('keeps an overriding cached method and its cached super method apart', async () => {
    const app = await start('alpha', [DerivedRepository]);
    const repository = app.get(DerivedRepository);
    expect(await repository.load('1')).toBe('base 1 + derived');
    expect(await repository.load('1')).toBe('base 1 + derived');
    expect(count('DerivedRepository')).toBe(1);
    expect(count('BaseRepository')).toBe(1);
  });

  it('runs uncached after the application closed', async () => {
    const app = await start('alpha', [ProductService]);
    const products = app.get(ProductService);
    await products.findOne('1');
    await app.app.close();
    apps.splice(apps.indexOf(app), 1);
    expect(await products.findOne('1')).toBe('product 1');
    expect(count('ProductService')).toBe(2);
  });
});

describe('CacheExplorer start-up checks', () => {
  it('fails when a key template names a missing argument, naming class and method', async () => {
    @Injectable()
    class BadTemplate {
      @Cacheable({ key: 'user:{0.id}:orders:{1}' })
      async orders(user: { id: string }): Promise<string[]> {
        return [user.id];
      }
    }
    const started = start('alpha', [BadTemplate]);
    await expect(started).rejects.toThrow(CacheDecoratorError);
    await expect(start('alpha', [BadTemplate])).rejects.toThrow(
      "@Cacheable on BadTemplate.orders: key template 'user:{0.id}:orders:{1}' names argument {1} but the method declares 1 parameter",
    );
  });

  it('fails when the declared return type is neither Promise nor Observable', async () => {
    @Injectable()
    class SyncService {
      // @ts-expect-error -- refused by the decorator's type as well
      @Cacheable()
      total(): number {
        return 1;
      }
    }
    await expect(start('alpha', [SyncService])).rejects.toThrow(
      'SyncService.total: cache-decorated but returns Number (its declared return type)',
    );
  });

  it("fails when the decorated provider's module cannot inject CacheService, and close() then leaves no connection open", async () => {
    // Connections to Redis other than the redis-cli that counts them.
    const connections = async (): Promise<number> =>
      (await redis.cli('CLIENT', 'LIST')).split('\n').filter((line) => line.includes('id='))
        .length - 1;
    const before = await connections();
    @Module({ providers: [ProductService] })
    class IsolatedModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        DistributedCacheModule.forRoot({
          namespace: 'alpha',
          l2: { type: 'redis', url: redis.url },
        }),
        IsolatedModule,
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await expect(app.init()).rejects.toThrow(
        'ProductService: its module IsolatedModule cannot inject CacheService',
      );
    } finally {
      await app.close();
    }
    // The check fails while the cache's own start-up is still connecting (Nest runs a module's
    // init hooks together); what that start-up opens must not outlive close().
    expect(await connections()).toBe(before);
    await delay(300);
    expect(await connections()).toBe(before);
  });

  it('binds a provider of a module that imports the (non-global) cache module', async () => {
    @Module({
      imports: [
        DistributedCacheModule.forRoot({
          namespace: 'scoped',
          l2: { type: 'redis', url: redis.url },
        }),
      ],
      providers: [ProductService],
    })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({ imports: [FeatureModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const products = app.get(ProductService);
      await products.findOne('1');
      await products.findOne('1');
      expect(count('ProductService')).toBe(1);
    } finally {
      await app.close();
    }
  });
});
