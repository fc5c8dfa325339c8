/**
 * A Nest 11 application compiled to CommonJS, as `nest new` sets it up. TypeScript emits
 * `require('nestjs-distributed-cache')`; the package is ESM-only, so this works through Node's
 * require(esm) (unflagged since Node 20.19 and 22.12), which needs the package's `exports` to
 * offer a non-`import` condition and its module graph to have no top-level await.
 */
import 'reflect-metadata';
import { Injectable, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  CacheEvict,
  CacheOptionsError,
  CacheService,
  Cacheable,
  DistributedCacheModule,
} from 'nestjs-distributed-cache';
import {
  DistributedCacheHealthIndicator,
  DistributedCacheHealthModule,
} from 'nestjs-distributed-cache/health';
import {
  CacheMetricsService,
  DistributedCacheMetricsModule,
} from 'nestjs-distributed-cache/metrics';
import { checkSubpaths } from './subpaths.check.js';

@Injectable()
class PriceService {
  calls = 0;

  @Cacheable({ key: 'price:{0}', ttl: '1m' })
  async price(sku: string): Promise<number> {
    this.calls++;
    return sku.length * 100 + this.calls;
  }

  @CacheEvict({ key: 'price:{0}' })
  async reprice(_sku: string): Promise<void> {
    // The repository update would go here; the decorator evicts after it succeeds.
  }
}

@Module({
  imports: [
    DistributedCacheModule.forRoot({ isGlobal: true, namespace: 'compat', l2: { type: 'memory' } }),
  ],
  providers: [PriceService],
})
class AppModule {}

/** The optional integrations, with their optional peers (prom-client, terminus) absent. */
@Module({
  imports: [
    DistributedCacheModule.forRoot({ namespace: 'compat-ops', l2: { type: 'memory' } }),
    DistributedCacheHealthModule.forRoot(),
    DistributedCacheMetricsModule.forRoot({ prometheus: false }),
  ],
})
class OpsModule {}

@Module({
  imports: [
    DistributedCacheModule.forRoot({ namespace: 'compat-prom', l2: { type: 'memory' } }),
    DistributedCacheMetricsModule.forRoot(),
  ],
})
class PrometheusModule {}

/** Keeps log lines so the scenario can check the library logs through Nest's Logger. */
class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, context?: string): void {
    this.lines.push(`${String(context)}: ${String(message)}`);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.lines.push(`ERROR ${String(message)} ${rest.map(String).join(' ')}`);
  }
  warn(message: unknown, context?: string): void {
    this.lines.push(`WARN ${String(context)}: ${String(message)}`);
  }
}

function resolvable(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const logger = new RecordingLogger();
  const app = await NestFactory.createApplicationContext(AppModule, { logger });
  const prices = app.get(PriceService);
  const cache = app.get(CacheService);
  const results: Array<[string, boolean]> = [];
  const check = (name: string, ok: boolean): void => {
    results.push([name, ok]);
  };

  check(
    'this app runs as CommonJS',
    typeof module !== 'undefined' && typeof require === 'function',
  );
  const first = await prices.price('abc');
  const second = await prices.price('abc');
  check(
    '@Cacheable: the second call is served from the cache',
    second === first && prices.calls === 1,
  );
  check(
    'CacheService sees the entry the decorator stored',
    (await cache.get('price:abc')) === first,
  );
  await prices.reprice('abc');
  check('@CacheEvict removed the entry', (await cache.get('price:abc')) === undefined);
  const third = await prices.price('abc');
  check('the method runs again after the evict', prices.calls === 2 && third !== first);
  check(
    'the start line is logged with the context DistributedCache',
    logger.lines.some((line) => line.startsWith('DistributedCache: Started')),
  );
  check(
    'optional peers (prom-client, @nestjs/terminus) are not installed',
    !resolvable('prom-client') && !resolvable('@nestjs/terminus'),
  );
  await app.close();

  const ops = await NestFactory.createApplicationContext(OpsModule, { logger: false });
  check(
    'the health indicator works without @nestjs/terminus',
    ops.get(DistributedCacheHealthIndicator).report().status === 'up',
  );
  check(
    'CacheMetricsService works without prom-client',
    ops.get(CacheMetricsService).snapshot().namespace === 'compat-ops',
  );
  await ops.close();
  let startError: unknown;
  try {
    const prom = await NestFactory.createApplicationContext(PrometheusModule, {
      logger: false,
      abortOnError: false,
    });
    await prom.close();
  } catch (error: unknown) {
    startError = error;
  }
  check(
    'the Prometheus exporter fails at start-up with a CacheOptionsError (code CACHE_OPTIONAL_DEPENDENCY) naming prom-client',
    startError instanceof CacheOptionsError &&
      startError.code === 'CACHE_OPTIONAL_DEPENDENCY' &&
      startError.message.includes('npm install prom-client'),
  );

  await checkSubpaths(check);

  const failed = results.filter(([, ok]) => !ok);
  for (const [name, ok] of results) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}`);
  if (failed.length > 0) {
    console.log(logger.lines.join('\n'));
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
