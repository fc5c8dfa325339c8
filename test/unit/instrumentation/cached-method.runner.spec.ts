import type { Logger } from '@nestjs/common';
import { lastValueFrom, of, toArray, type Observable } from 'rxjs';
import { CacheService } from '../../../lib/cache.service.js';
import { CacheDecoratorError } from '../../../lib/errors/cache.errors.js';
import { createCachedMethodBinding } from '../../../lib/instrumentation/cached-method.factory.js';
import type {
  CompiledEvict,
  CompiledStore,
  MethodPlan,
} from '../../../lib/instrumentation/cached-method.plan.js';
import { MemoryStore } from '../../../lib/l2/memory/memory.store.js';
import { resolveCacheOptions } from '../../../lib/options/options.validator.js';
import { TieredCache } from '../../../lib/tiering/tiered-cache.js';
import { ChaosStore } from '../../support/chaos-store.js';

/**
 * The method runner (createCachedMethodBinding): what a decorated method does when called, on a
 * real cache over the in-process memory L2. Plans are written out by hand here; the compiler that
 * makes them from decorators has its own spec.
 */
const caches: TieredCache[] = [];

async function cache(store = new ChaosStore(new MemoryStore())): Promise<{
  service: CacheService;
  store: ChaosStore;
}> {
  const tiered = new TieredCache(resolveCacheOptions({ namespace: 'm', l2TimeoutMs: 50 }), store);
  await tiered.start();
  caches.push(tiered);
  return { service: new CacheService(tiered), store };
}

afterEach(async () => {
  await Promise.all(caches.splice(0).map((tiered) => tiered.close()));
});

const warnings: string[] = [];
const logger = { warn: (line: string) => warnings.push(line) } as unknown as Logger;
const owner = { active: true };

const byId = (args: readonly unknown[]): string => `item:${String(args[0])}`;

function store(options: Partial<CompiledStore> = {}): CompiledStore {
  return {
    decorator: 'Cacheable',
    cacheName: undefined,
    key: byId,
    ttlMs: undefined,
    staticTags: undefined,
    tags: undefined,
    condition: undefined,
    unless: undefined,
    ...options,
  };
}

function evict(options: Partial<CompiledEvict> = {}): CompiledEvict {
  return {
    decorator: 'CacheEvict',
    cacheName: undefined,
    key: byId,
    tags: undefined,
    allEntries: undefined,
    beforeInvocation: false,
    condition: undefined,
    ...options,
  };
}

function plan(
  original: (...args: unknown[]) => unknown,
  parts: Partial<Pick<MethodPlan, 'kind' | 'cacheable' | 'puts' | 'evictsBefore' | 'evictsAfter'>>,
): MethodPlan {
  return {
    className: 'Repo',
    methodName: 'find',
    original,
    kind: 'promise',
    cacheable: undefined,
    puts: [],
    evictsBefore: [],
    evictsAfter: [],
    ...parts,
  };
}

/** A method that counts its runs and answers `value-<id>-<run>`. */
function counted(): { calls: () => number; method: (id: unknown) => Promise<string> } {
  let runs = 0;
  return {
    calls: () => runs,
    method: (id: unknown) => Promise.resolve(`value-${String(id)}-${++runs}`),
  };
}

describe('CachedMethodRunner', () => {
  beforeEach(() => {
    warnings.length = 0;
  });

  describe('run() with @Cacheable', () => {
    it('runs the method on a miss, stores its value, and skips the method on a hit', async () => {
      const { service } = await cache();
      const { calls, method } = counted();
      const bound = createCachedMethodBinding(
        plan(method, { cacheable: store() }),
        {},
        service,
        owner,
        logger,
      );
      expect(await bound.run([1])).toBe('value-1-1');
      expect(await bound.run([1])).toBe('value-1-1');
      expect(calls()).toBe(1);
      expect(await service.get('item:1')).toBe('value-1-1');
    });

    it('bypasses the cache when condition is false, and stores nothing when unless is true', async () => {
      const { service } = await cache();
      const { calls, method } = counted();
      const bound = createCachedMethodBinding(
        plan(method, {
          cacheable: store({
            condition: (id) => id !== 'skip',
            unless: (result) => String(result).startsWith('value-refused'),
          }),
        }),
        {},
        service,
        owner,
        logger,
      );
      expect(await bound.run(['skip'])).toBe('value-skip-1');
      expect(await bound.run(['skip'])).toBe('value-skip-2');
      expect(await bound.run(['refused'])).toBe('value-refused-3');
      expect(await bound.run(['refused'])).toBe('value-refused-4');
      expect(calls()).toBe(4);
      expect(await service.get('item:skip')).toBeUndefined();
      expect(await service.get('item:refused')).toBeUndefined();
    });

    it('runs the method once for concurrent misses and shares its error, caching nothing', async () => {
      const { service } = await cache();
      let runs = 0;
      const failing = async (): Promise<never> => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new Error('origin down');
      };
      const bound = createCachedMethodBinding(
        plan(failing, { cacheable: store() }),
        {},
        service,
        owner,
        logger,
      );
      const calls = Array.from({ length: 5 }, () => bound.run([1]) as Promise<unknown>);
      const outcomes = await Promise.allSettled(calls);
      expect(runs).toBe(1);
      expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
      expect(await service.get('item:1')).toBeUndefined();
    });

    it('replays every emission of an Observable method from the cache', async () => {
      const { service } = await cache();
      let runs = 0;
      const stream = (): Observable<number> => {
        runs++;
        return of(1, 2, 3);
      };
      const bound = createCachedMethodBinding(
        plan(stream, { kind: 'observable', cacheable: store() }),
        {},
        service,
        owner,
        logger,
      );
      const first = await lastValueFrom((bound.run([1]) as Observable<number>).pipe(toArray()));
      const second = await lastValueFrom((bound.run([1]) as Observable<number>).pipe(toArray()));
      expect([first, second, runs]).toEqual([[1, 2, 3], [1, 2, 3], 1]);
    });

    it('learns the kind from the first call, and fails naming class and method for a plain value', async () => {
      const { service } = await cache();
      const learnt = plan(() => Promise.resolve('v'), { kind: 'unknown', cacheable: store() });
      const bound = createCachedMethodBinding(learnt, {}, service, owner, logger);
      expect(await bound.run([1])).toBe('v');
      expect(learnt.kind).toBe('promise');
      const plain = createCachedMethodBinding(
        plan(() => 'not a promise', { kind: 'unknown', cacheable: store() }),
        {},
        service,
        owner,
        logger,
      );
      expect(() => plain.run([1])).toThrow(CacheDecoratorError);
      expect(() => plain.run([1])).toThrow(/Repo\.find/);
    });
  });

  describe('run() with @CachePut and @CacheEvict', () => {
    it('stores the result with @CachePut, and evicts after success only', async () => {
      const { service } = await cache();
      await service.set('item:2', 'old');
      let fail = false;
      const update = (id: unknown): Promise<string> =>
        fail ? Promise.reject(new Error('refused')) : Promise.resolve(`new-${String(id)}`);
      const put = createCachedMethodBinding(
        plan(update, { puts: [store({ decorator: 'CachePut' })] }),
        {},
        service,
        owner,
        logger,
      );
      expect(await put.run([1])).toBe('new-1');
      expect(await service.get('item:1')).toBe('new-1');

      const remove = createCachedMethodBinding(
        plan(update, { evictsAfter: [evict()] }),
        {},
        service,
        owner,
        logger,
      );
      fail = true;
      await expect(remove.run([2])).rejects.toThrow('refused');
      expect(await service.get('item:2')).toBe('old');
      fail = false;
      await remove.run([2]);
      expect(await service.get('item:2')).toBeUndefined();
    });

    it('evicts before the method with beforeInvocation, even when the method then throws', async () => {
      const { service } = await cache();
      await service.set('item:3', 'old');
      const bound = createCachedMethodBinding(
        plan(() => Promise.reject(new Error('boom')), {
          evictsBefore: [evict({ beforeInvocation: true })],
        }),
        {},
        service,
        owner,
        logger,
      );
      await expect(bound.run([3])).rejects.toThrow('boom');
      expect(await service.get('item:3')).toBeUndefined();
    });
  });

  describe('run() when the cache fails', () => {
    it('returns the method value when storing fails, and logs one warning naming class, method and operation', async () => {
      const { service, store: chaos } = await cache();
      const bound = createCachedMethodBinding(
        plan(() => Promise.resolve('fresh'), {
          evictsAfter: [evict()],
          puts: [store({ decorator: 'CachePut' })],
        }),
        {},
        service,
        owner,
        logger,
      );
      chaos.failAlways();
      // The put queues (write-behind); the delete meets the failing L2 and is queued for retry.
      expect(await bound.run([4])).toBe('fresh');
      chaos.recover();
      expect(warnings).toEqual([]);

      const refusing = {
        ...service,
        set: () => Promise.reject(new Error('queue full')),
        getOrSet: service.getOrSet.bind(service),
        del: service.del.bind(service),
      } as unknown as CacheService;
      const failingPut = createCachedMethodBinding(
        plan(() => Promise.resolve('fresh'), { puts: [store({ decorator: 'CachePut' })] }),
        {},
        refusing,
        owner,
        logger,
      );
      expect(await failingPut.run([5])).toBe('fresh');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/CachePut on Repo\.find: storing 'item:5' failed.*queue full/);
    });
  });
});
