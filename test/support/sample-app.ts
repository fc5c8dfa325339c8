import 'reflect-metadata';
import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import { cacheOptionsFromEnv } from '../../sample-app/src/cache-options.js';
import { ProductsModule } from '../../sample-app/src/products/products.module.js';
import { RedisServer } from './redis-server.js';

type Imports = NonNullable<ModuleMetadata['imports']>;

/**
 * One sample-app instance on `redisUrl`, as `REDIS_URL=... npm start` runs it: the cache options
 * from the sample app's own env mapping, the catalogue, and `imports` (e.g. its
 * ObservabilityModule). Initialised, not listening (supertest takes `getHttpServer()`).
 */
export async function startSampleApp(options: {
  redisUrl: string;
  namespace: string;
  imports?: Imports;
  logger?: LoggerService | false;
}): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DistributedCacheModule.forRoot({
        isGlobal: true,
        ...cacheOptionsFromEnv({ REDIS_URL: options.redisUrl, CACHE_NAMESPACE: options.namespace }),
      }),
      ProductsModule,
      ...(options.imports ?? []),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: options.logger ?? false });
  await app.init();
  return app;
}

/**
 * A suite of sample-app instances on one Redis: registers the Jest hooks that start the Redis
 * before all tests, close the instances and flush Redis after each, and stop Redis after all.
 */
export function sampleAppSuite(): {
  readonly redis: RedisServer;
  start(namespace: string, imports?: Imports): Promise<INestApplication>;
} {
  let redis: RedisServer | undefined;
  const apps: INestApplication[] = [];
  const server = (): RedisServer => {
    if (!redis) throw new Error('sampleAppSuite: Redis is not started (use it inside tests)');
    return redis;
  };
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await server().cli('FLUSHALL');
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return {
    get redis() {
      return server();
    },
    async start(namespace, imports) {
      const app = await startSampleApp({ redisUrl: server().url, namespace, imports });
      apps.push(app);
      return app;
    },
  };
}
