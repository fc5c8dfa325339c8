/**
 * The HTTP scenario's server, run as a child process so the load generator does not share its
 * event loop: the sample app plus the bench routes, on 127.0.0.1:$PORT, with $REDIS_URL as L2.
 * Prints READY once listening; SIGTERM closes the app (draining the cache) and exits.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { BenchHttpModule } from './bench-http.module.js';

const app = await NestFactory.create(BenchHttpModule, { logger: ['error'] });
await app.listen(Number(process.env['PORT']), '127.0.0.1');
process.stdout.write('READY\n');
process.once('SIGTERM', () => {
  void app.close().finally(() => process.exit(0));
});
