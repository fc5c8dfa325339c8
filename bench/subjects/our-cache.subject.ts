import 'reflect-metadata';
import { type INestApplicationContext, Module, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  CacheService,
  DistributedCacheModule,
  type DistributedCacheModuleOptions,
} from 'nestjs-distributed-cache';

/** One instance of our cache: a Nest application context holding DistributedCacheModule. */
export interface OurCache {
  app: INestApplicationContext;
  cache: CacheService;
  /** `app.close()`: drains the write-behind queue, closes connections. */
  close(): Promise<void>;
}

/**
 * Starts a Nest application context with `DistributedCacheModule.forRoot(options)` (global) and
 * `providers`, as an app would; the library is imported by its package name (the built dist/).
 */
export async function startOurCache(
  options: DistributedCacheModuleOptions,
  providers: Provider[] = [],
): Promise<OurCache> {
  @Module({
    imports: [DistributedCacheModule.forRoot({ isGlobal: true, ...options })],
    providers,
    exports: providers,
  })
  class BenchCacheModule {}

  const app = await NestFactory.createApplicationContext(BenchCacheModule, {
    logger: false,
    abortOnError: false,
  });
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

/** Options of our cache on the bench Redis: the module defaults plus the address and namespace. */
export function redisOptions(
  url: string,
  namespace: string,
  overrides: DistributedCacheModuleOptions = {},
): DistributedCacheModuleOptions {
  return { namespace, ttl: '5m', l2: { type: 'redis', url }, ...overrides };
}
