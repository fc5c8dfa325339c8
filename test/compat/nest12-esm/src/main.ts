/**
 * A Nest 12 application, ESM throughout (`"type": "module"`, `module: nodenext`), as Nest 12
 * projects are. It loads the package with a plain static `import`.
 *
 * It also walks the newcomer's path: src/first-cache.ts is the README's "Install and first cache"
 * example, copied from test/docs/snippets by run.sh, run here over HTTP on a real redis-server.
 */
import 'reflect-metadata';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { Injectable, type LoggerService, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
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
    import.meta.resolve(name);
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
    'this app runs as ESM',
    typeof require === 'undefined' && import.meta.url.startsWith('file:'),
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

  await firstCache(check);

  const failed = results.filter(([, ok]) => !ok);
  for (const [name, ok] of results) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}`);
  if (failed.length > 0) {
    console.log(logger.lines.join('\n'));
    process.exitCode = 1;
  }
}

/** A redis-server of its own on a free loopback port, stopped by `stop()`. */
async function startRedis(): Promise<{ url: string; client: Redis; stop(): Promise<void> }> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin'];
  const binary = dirs.map((dir) => join(dir, 'redis-server')).find((path) => existsSync(path));
  if (binary === undefined)
    throw new Error('redis-server is not installed (apt-get install redis-server)');
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => {}); // refused while the server starts: retried below
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (error: unknown) {
      client.disconnect();
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    client,
    async stop() {
      client.disconnect();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The README's first cache (src/first-cache.ts), as a newcomer runs it: HTTP on a real Redis. */
async function firstCache(check: (name: string, ok: boolean) => void): Promise<void> {
  const redis = await startRedis();
  try {
    process.env.REDIS_URL = redis.url;
    // Imported now: the module reads REDIS_URL when it is evaluated. run.sh copies the file in
    // from test/docs/snippets, so the specifier is a variable: the repository's type-check of
    // this app (where the file is absent) must not resolve it.
    const snippet = './first-cache.js';
    const { AppModule } = (await import(snippet)) as { AppModule: Type };
    const app = await NestFactory.create(AppModule, { logger: false });
    app.enableShutdownHooks();
    await app.listen(0, '127.0.0.1');
    const base = await app.getUrl();
    const get = async (path: string): Promise<{ ms: number; body: unknown }> => {
      const started = performance.now();
      const response = await fetch(`${base}${path}`);
      const body: unknown = await response.json();
      return { ms: performance.now() - started, body };
    };
    const first = await get('/products/1');
    const second = await get('/products/1');
    check(
      `first cache: the second GET is served by L1 (${first.ms.toFixed(1)} ms, then ${second.ms.toFixed(1)} ms)`,
      first.ms >= 90 &&
        second.ms < 90 &&
        JSON.stringify(second.body) === JSON.stringify(first.body),
    );
    await fetch(`${base}/products/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Lamp' }),
    });
    const renamed = await get('/products/1');
    check(
      'first cache: PUT evicts (@CacheEvict), the next GET reads the new name',
      (renamed.body as { name?: string }).name === 'Lamp',
    );
    const stats = (await get('/cache/stats')).body as Record<string, unknown>;
    check(
      'first cache: /cache/stats reports the hit, the misses and hitRatio',
      stats.l1Hits === 1 && stats.misses === 2 && typeof stats.hitRatio === 'number',
    );
    await app.close(); // drains write-behind
    check(
      'first cache: the entry is in Redis under the namespace',
      (await redis.client.exists('shop:product:1')) === 1,
    );
  } finally {
    delete process.env.REDIS_URL;
    await redis.stop();
  }
}

try {
  await main();
} catch (error: unknown) {
  console.error(error);
  process.exitCode = 1;
}
