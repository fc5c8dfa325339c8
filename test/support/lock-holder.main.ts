/**
 * A cache instance in a process of its own, for the test that kills a single-flight holder with
 * kill -9 (test/faults/single-flight-kill.faults.spec.ts). Started by `startLockHolder()` with its
 * configuration as one JSON argument; it runs `callers` getOrSet calls of `key` with `lock: true`
 * and a factory that takes `factoryMs`, and reports on stdout, one JSON object per line:
 * `{ "event": "factory-start" }` when its factory begins, then `{ "event": "value" }` per caller.
 */
import 'reflect-metadata';
import type { DistributedCacheModuleOptions } from '../../lib/options/cache-options.interface.js';
import { startCacheApp } from './cache-app.js';

interface HolderConfig {
  options: DistributedCacheModuleOptions;
  key: string;
  factoryMs: number;
  callers: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as HolderConfig;
const say = (message: object): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};

const app = await startCacheApp(config.options);
say({ event: 'ready' });
const factory = async (): Promise<string> => {
  say({ event: 'factory-start', pid: process.pid });
  await new Promise((resolve) => setTimeout(resolve, config.factoryMs));
  return `from ${process.pid}`;
};
await Promise.all(
  Array.from({ length: config.callers }, async () => {
    const value = await app.cache.getOrSet(config.key, factory, { lock: true });
    say({ event: 'value', value });
  }),
);
await app.close();
