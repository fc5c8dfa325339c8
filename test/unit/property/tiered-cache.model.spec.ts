import fc from 'fast-check';
import { MemoryStore } from '../../../lib/l2/memory/memory.store.js';
import { resolveCacheOptions } from '../../../lib/options/options.validator.js';
import { TieredCache } from '../../../lib/tiering/tiered-cache.js';
import { ChaosStore } from '../../support/chaos-store.js';

type Op =
  | { op: 'set'; key: string; value: number }
  | { op: 'get'; key: string }
  | { op: 'del'; key: string }
  | { op: 'getOrSet'; key: string; value: number }
  | { op: 'mget'; keys: string[] }
  | { op: 'flush' }
  | { op: 'fail'; calls: number };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('del' as const), key }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('getOrSet' as const), key, value: fc.integer() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('mget' as const),
      keys: fc.array(key, { maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flush' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('fail' as const),
      calls: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

/**
 * Model-based check of L1 + L2 + write-behind: random sequences of operations against a tiny L1
 * (evictions), a fast flusher and injected L2 failures agree with a plain Map. A read may miss
 * only when an L2 call failed during it (the documented outage behaviour); it never returns a
 * wrong or stale value. After a final flush, a fresh instance reading L2 sees exactly the model.
 */
describe('TieredCache (model-based)', () => {
  it('agrees with a reference Map over random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const store = new ChaosStore(new MemoryStore());
        const options = resolveCacheOptions({
          namespace: 'model',
          l1: { max: 3 },
          l2TimeoutMs: 200,
          circuitBreaker: false,
          writeBehind: {
            flushIntervalMs: 1,
            maxBatchSize: 2,
            retryBaseDelayMs: 1,
            retryMaxDelayMs: 5,
          },
        });
        const cache = new TieredCache(options, store);
        // Started, as the module starts it: the namespace version is known before the first write
        // (an instance that could not learn it re-stamps its first writes once it does).
        await cache.start();
        const model = new Map<string, number>();
        const agrees = (actual: unknown, expected: unknown, errorsBefore: number): boolean =>
          actual === expected || (actual === undefined && cache.stats().l2Errors > errorsBefore);
        try {
          for (const step of ops) {
            const errorsBefore = cache.stats().l2Errors;
            switch (step.op) {
              case 'set':
                await cache.set(step.key, step.value);
                model.set(step.key, step.value);
                break;
              case 'get':
                expect(agrees(await cache.get(step.key), model.get(step.key), errorsBefore)).toBe(
                  true,
                );
                break;
              case 'del':
                await cache.del(step.key);
                model.delete(step.key);
                break;
              case 'getOrSet': {
                const had = model.get(step.key);
                const result = await cache.getOrSet(step.key, () => step.value);
                if (had === undefined || result !== had) {
                  // A miss (possibly from an L2 failure) runs the factory and stores its value.
                  expect(
                    result === step.value &&
                      (had === undefined || cache.stats().l2Errors > errorsBefore),
                  ).toBe(true);
                  model.set(step.key, step.value);
                }
                break;
              }
              case 'mget': {
                const values = await cache.mget(step.keys);
                step.keys.forEach((k, i) =>
                  expect(agrees(values[i], model.get(k), errorsBefore)).toBe(true),
                );
                break;
              }
              case 'flush':
                await cache.flush(5_000);
                break;
              case 'fail':
                store.failNext(step.calls);
                break;
            }
          }
          store.recover();
          await cache.flush(5_000);
          const reader = new TieredCache(
            resolveCacheOptions({ namespace: 'model', l1: false }),
            store,
          );
          await reader.start();
          for (const k of ['a', 'b', 'c', 'd', 'e', 'f'])
            expect([k, await reader.get(k)]).toEqual([k, model.get(k)]);
          await reader.close();
        } finally {
          store.recover();
          await cache.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
