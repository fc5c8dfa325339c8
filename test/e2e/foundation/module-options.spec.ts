import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheService } from '../../../lib/cache.service.js';
import { DistributedCacheModule } from '../../../lib/cache.module.js';
import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import type { DistributedCacheModuleOptions } from '../../../lib/options/cache-options.interface.js';

const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

@Injectable()
class Settings {
  readonly namespace = 'from-settings';
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

@Injectable()
class CacheConfig {
  createCacheOptions(): DistributedCacheModuleOptions {
    return { namespace: 'from-class', ttl: '1m' };
  }
}

@Module({ providers: [CacheConfig], exports: [CacheConfig] })
class CacheConfigModule {}

@Injectable()
class Consumer {
  constructor(readonly cache: CacheService) {}
}

@Module({ providers: [Consumer] })
class FeatureModule {}

async function roundTrip(imports: unknown[]): Promise<void> {
  const moduleRef = await Test.createTestingModule({ imports: imports as never[] })
    .setLogger(silent)
    .compile();
  const app = await moduleRef.init();
  const cache = app.get(CacheService);
  await cache.set('k', { v: 1 });
  expect(await cache.get('k')).toEqual({ v: 1 });
  await app.close();
}

describe('DistributedCacheModule', () => {
  describe('forRoot()', () => {
    it('runs on the embedded memory L2 with no options', async () => {
      await roundTrip([DistributedCacheModule.forRoot()]);
    });

    it('makes CacheService injectable in every module with isGlobal', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [DistributedCacheModule.forRoot({ isGlobal: true }), FeatureModule],
      })
        .setLogger(silent)
        .compile();
      const app = await moduleRef.init();
      expect(app.get(Consumer).cache).toBeInstanceOf(CacheService);
      await app.close();
    });

    it('keeps CacheService private to importers without isGlobal', async () => {
      await expect(
        Test.createTestingModule({ imports: [DistributedCacheModule.forRoot(), FeatureModule] })
          .setLogger(silent)
          .compile(),
      ).rejects.toThrow(/CacheService/);
    });
  });

  describe('forRootAsync()', () => {
    it('takes a factory with injected dependencies', async () => {
      await roundTrip([
        DistributedCacheModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings) => ({ namespace: settings.namespace }),
        }),
      ]);
    });

    it('takes useClass and useExisting', async () => {
      await roundTrip([DistributedCacheModule.forRootAsync({ useClass: CacheConfig })]);
      await roundTrip([
        DistributedCacheModule.forRootAsync({
          imports: [CacheConfigModule],
          useExisting: CacheConfig,
        }),
      ]);
    });

    it('honours isGlobal beside useFactory', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          DistributedCacheModule.forRootAsync({
            isGlobal: true,
            useFactory: () => ({ ttl: '1m' }),
          }),
          FeatureModule,
        ],
      })
        .setLogger(silent)
        .compile();
      const app = await moduleRef.init();
      expect(app.get(Consumer).cache).toBeInstanceOf(CacheService);
      await app.close();
    });
  });

  describe('start-up validation', () => {
    it.each([
      [{ l2: { type: 'mongo' } }, 'l2.type', 'mongo'],
      [{ ttl: '5 minutes' }, 'ttl', '5 minutes'],
      [{ ttl: -1 }, 'ttl', '-1'],
      [{ ttl: Number.NaN }, 'ttl', 'NaN'],
      [{ writeBehind: { maxBatchSize: 0 } }, 'writeBehind.maxBatchSize', '0'],
      [{ l2: { type: 'redis' } }, 'l2.url', 'l2.host'],
      [
        { l2: { type: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 26379 }] } },
        'l2.name',
        'undefined',
      ],
    ])('fails app start-up for %j, naming %s and the bad value', async (options, option, shown) => {
      const start = async (): Promise<void> => {
        const moduleRef = await Test.createTestingModule({
          imports: [DistributedCacheModule.forRoot(options as DistributedCacheModuleOptions)],
        })
          .setLogger(silent)
          .compile();
        const app = await moduleRef.init();
        await app.close();
      };
      const error = await start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CacheOptionsError);
      expect((error as CacheOptionsError).option).toBe(option);
      expect((error as Error).message).toContain(shown);
    });

    it('fails start-up from an async factory too', async () => {
      await expect(
        Test.createTestingModule({
          imports: [
            DistributedCacheModule.forRootAsync({ useFactory: () => ({ l1: { max: -5 } }) }),
          ],
        })
          .setLogger(silent)
          .compile(),
      ).rejects.toThrow(/l1\.max must be an integer >= 1, got -5/);
    });
  });
});
