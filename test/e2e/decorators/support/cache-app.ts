import 'reflect-metadata';
import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  CacheService,
  DistributedCacheModule,
  type DistributedCacheModuleOptions,
} from '../../../../lib/index.js';
import type { RedisServer } from '../../../support/redis-server.js';

/** Options of {@link startCacheApp}. */
export interface CacheAppOptions {
  /** Providers, controllers and imports of the fixture module. */
  fixture: ModuleMetadata;
  /** Redis namespace of the app. @default 'decorators' */
  namespace?: string;
  /** Overrides of the cache module's options. */
  cache?: DistributedCacheModuleOptions;
  /** @default false (silent) */
  logger?: LoggerService | false;
}

/** A running fixture app and its cache. */
export interface CacheApp {
  app: INestApplication;
  cache: CacheService;
  /** `app.get(token)`, typed. */
  get<T>(token: abstract new (...args: never[]) => T): T;
}

/**
 * Starts a small Nest application: DistributedCacheModule (global, on `redis`, write-behind with
 * a short flush interval) plus the scenario's fixture module. The caller closes it.
 */
export async function startCacheApp(
  redis: RedisServer,
  options: CacheAppOptions,
): Promise<CacheApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DistributedCacheModule.forRoot({
        isGlobal: true,
        namespace: options.namespace ?? 'decorators',
        l2: { type: 'redis', url: redis.url },
        l2TimeoutMs: 200,
        invalidation: { enabled: false },
        writeBehind: {
          flushIntervalMs: 5,
          retryBaseDelayMs: 10,
          retryMaxDelayMs: 50,
          shutdownTimeoutMs: 1_000,
        },
        ...options.cache,
      }),
      ...(options.fixture.imports ?? []),
    ],
    providers: options.fixture.providers ?? [],
    controllers: options.fixture.controllers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: options.logger ?? false });
  try {
    await app.init();
  } catch (error: unknown) {
    // A start-up check failed: close what already started (connections, timers).
    await app.close();
    throw error;
  }
  return {
    app,
    cache: app.get(CacheService),
    get: <T>(token: abstract new (...args: never[]) => T): T => app.get<T>(token),
  };
}

/** Resolves after `ms` milliseconds: only to hold a method body open, never to wait for a result. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
