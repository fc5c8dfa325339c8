/**
 * The package's subpath exports, each loaded and used by the consuming app: run.sh copies this
 * file into both apps' src/ (their `snippets` lists), so the Nest 11 CommonJS app reaches them
 * through require(esm) and the Nest 12 ESM app through `import`. metrics and health are used by
 * main.ts itself.
 */
import { Controller, Get, Module, Param, UseInterceptors } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheService, DistributedCacheModule } from 'nestjs-distributed-cache';
import { CacheInterceptor, CacheRoute } from 'nestjs-distributed-cache/http';
import { MemoryStore } from 'nestjs-distributed-cache/stores';
import { CacheInspector } from 'nestjs-distributed-cache/testing';

@Controller('labels')
class LabelController {
  calls = 0;

  @Get(':sku')
  @UseInterceptors(CacheInterceptor)
  @CacheRoute({ ttl: '1m' })
  label(@Param('sku') sku: string): { sku: string; call: number } {
    return { sku, call: ++this.calls };
  }
}

@Module({
  imports: [DistributedCacheModule.forRoot({ namespace: 'compat-http', l2: { type: 'memory' } })],
  controllers: [LabelController],
})
class HttpAppModule {}

@Module({ imports: [DistributedCacheModule.forTest({ namespace: 'compat-testing' })] })
class TestingAppModule {}

const customStore = new MemoryStore();

@Module({
  imports: [
    DistributedCacheModule.forRoot({
      namespace: 'compat-store',
      l2: { type: 'custom', store: customStore },
    }),
  ],
})
class CustomStoreModule {}

export async function checkSubpaths(check: (name: string, ok: boolean) => void): Promise<void> {
  // /http: the interceptor on one route serves the second GET from the cache.
  const web = await NestFactory.create(HttpAppModule, { logger: false });
  await web.listen(0, '127.0.0.1');
  const base = await web.getUrl();
  const first = (await (await fetch(`${base}/labels/a1`)).json()) as { call: number };
  const second = (await (await fetch(`${base}/labels/a1`)).json()) as { call: number };
  check(
    '/http: CacheInterceptor with @CacheRoute serves the second GET from the cache',
    first.call === 1 && second.call === 1 && web.get(LabelController).calls === 1,
  );
  await web.close();

  // /testing: forTest()'s inspector reads what write-behind stored in L2.
  const testing = await NestFactory.createApplicationContext(TestingAppModule, { logger: false });
  await testing.get(CacheService).set('sku:1', { price: 42 });
  const stored = await testing.get(CacheInspector).peek<{ price: number }>('sku:1');
  check('/testing: CacheInspector reads the stored entry', stored?.price === 42);
  await testing.close();

  // /stores: a store instance given as the custom L2 receives the writes.
  const custom = await NestFactory.createApplicationContext(CustomStoreModule, { logger: false });
  const cache = custom.get(CacheService);
  await cache.set('sku:2', 7);
  await cache.flush(); // write-behind into the store
  const [read] = await customStore.mget(['compat-store:sku:2']);
  check('/stores: a MemoryStore passed as l2.store holds the written entry', Buffer.isBuffer(read));
  await custom.close(); // closes the store too
}
