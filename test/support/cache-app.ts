import 'reflect-metadata';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
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

const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

/** A logger that keeps every line, for tests that check what is (not) logged. */
export class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, ...rest: unknown[]): void {
    this.lines.push([message, ...rest].map(String).join(' '));
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.log(message, ...rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.log(message, ...rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.log(message, ...rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.log(message, ...rest);
  }
}

/** Builds and initialises a Nest app with `DistributedCacheModule.forRoot(options)`. */
export async function startCacheApp(
  options: DistributedCacheModuleOptions,
  logger: LoggerService = silent,
): Promise<CacheApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [DistributedCacheModule.forRoot(options)],
  })
    .setLogger(logger)
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
