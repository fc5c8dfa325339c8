/**
 * A cache in a process of its own where `@opentelemetry/api` cannot be resolved (started with
 * test/support/hide-package.register.mjs and HIDE_PACKAGES): without `tracing` the cache works and
 * never asks for the package; with it, start-up fails naming it. Reports one JSON line.
 */
import 'reflect-metadata';
import { startCacheApp } from './cache-app.js';

const withoutTracing = await startCacheApp({ namespace: 'probe' });
await withoutTracing.cache.set('k', 1);
const value = await withoutTracing.cache.get('k');
await withoutTracing.close();

let failure: { name?: string; code?: string; message?: string } | undefined;
try {
  const traced = await startCacheApp({ namespace: 'probe2', tracing: true });
  await traced.close();
} catch (error: unknown) {
  const { name, message, code } = error as Error & { code?: string };
  failure = { name, message, code };
}
process.stdout.write(`${JSON.stringify({ value, failure })}\n`);
