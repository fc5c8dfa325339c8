import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // SIGTERM/SIGINT run app.close(), which drains the cache's write-behind queue.
  app.enableShutdownHooks();
  const port = Number(process.env['PORT'] ?? 3000);
  await app.listen(port, '127.0.0.1');
  new Logger('SampleApp').log(
    `Catalogue on http://127.0.0.1:${port}/products/1, metrics on /metrics, health on /health (L2: ${process.env['REDIS_URL'] ? 'Redis' : 'embedded memory'})`,
  );
}

void bootstrap();
