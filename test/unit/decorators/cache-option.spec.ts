import 'reflect-metadata';
import { Cacheable, CacheDecoratorError, CacheEvict, CachePut } from '../../../lib/index.js';
import {
  CACHED_METHOD_METADATA,
  type CachedMethodHandle,
} from '../../../lib/decorators/cached-method.handle.js';
import { compileCachedMethod } from '../../../lib/instrumentation/cached-method.compiler.js';
import { operationCacheName } from '../../../lib/instrumentation/operation.compiler.js';
import type { CacheCapabilities } from '../../../lib/instrumentation/cached-method.plan.js';

function handleOf(prototype: object, method: string): CachedMethodHandle {
  const fn = (prototype as Record<string, unknown>)[method] as object;
  return Reflect.getOwnMetadata(CACHED_METHOD_METADATA, fn) as CachedMethodHandle;
}

const ALL: CacheCapabilities = { tags: true, clear: true };

class Sessions {
  @Cacheable({ cache: 'sessions', key: 'session:{0}' })
  find(id: string): Promise<string> {
    return Promise.resolve(id);
  }

  @CacheEvict({ cache: 'sessions', key: 'session:{0}', tags: ['s'] })
  @CachePut({ key: 'last:{0}' })
  logout(id: string): Promise<string> {
    return Promise.resolve(id);
  }

  @Cacheable({ cache: 42 as unknown as string })
  bad(id: string): Promise<string> {
    return Promise.resolve(id);
  }
}

describe('operationCacheName()', () => {
  it('reads the cache option of an operation, undefined for the default cache', () => {
    const handle = handleOf(Sessions.prototype, 'logout');
    expect(handle.operations.map((op) => operationCacheName(handle, op))).toEqual([
      undefined,
      'sessions',
    ]);
  });

  it('refuses a cache option that is not a non-empty string, naming class and method', () => {
    const handle = handleOf(Sessions.prototype, 'bad');
    expect(() => operationCacheName(handle, handle.operations[0]!)).toThrow(CacheDecoratorError);
    expect(() => operationCacheName(handle, handle.operations[0]!)).toThrow(
      "@Cacheable on Sessions.bad: option 'cache' must be the name of a registered cache (a non-empty string), got number 42",
    );
  });
});

describe('compileCachedMethod() with cache', () => {
  it('records the cache of each operation', () => {
    const plan = compileCachedMethod({
      handle: handleOf(Sessions.prototype, 'logout'),
      returnType: Promise,
      capabilities: ALL,
    });
    expect(plan.puts[0]?.cacheName).toBeUndefined();
    expect(plan.evictsAfter[0]?.cacheName).toBe('sessions');
  });

  it('checks each operation against the capabilities of its own cache', () => {
    const asked: Array<string | undefined> = [];
    const compile = (): unknown =>
      compileCachedMethod({
        handle: handleOf(Sessions.prototype, 'logout'),
        returnType: Promise,
        capabilities: (name) => {
          asked.push(name);
          return name === 'sessions' ? { tags: false, clear: false } : ALL;
        },
      });
    expect(compile).toThrow("@CacheEvict on Sessions.logout: 'tags' needs tag support");
    expect(asked).toEqual([undefined, 'sessions']);
  });
});
