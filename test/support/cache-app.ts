import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheService } from '../../lib/cache.service.js';
import { DistributedCacheModule } from '../../lib/cache.module.js';
import type { DistributedCacheModuleOptions } from '../../lib/options/cache-options.interface.js';

/** A Nest application context holding one DistributedCacheModule, as an app would. */
export interface CacheApp {
  app: INestApplicationContext;
  cache: CacheService;
  /** `app.close()`: drains the write-behind queue, then closes connections. */
  close(): Promise<void>;
}

/** Builds and initialises a Nest app with `DistributedCacheModule.forRoot(options)`. */
export async function startCacheApp(options: DistributedCacheModuleOptions): Promise<CacheApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [DistributedCacheModule.forRoot(options)],
  })
    .setLogger({ log() {}, error() {}, warn() {}, debug() {}, verbose() {} })
    .compile();
  const app = await moduleRef.init();
  let closed = false;
  return {
    app,
    cache: app.get(CacheService),
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
