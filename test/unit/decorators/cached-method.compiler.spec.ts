import 'reflect-metadata';
import { of, type Observable } from 'rxjs';
import { Cacheable, CacheDecoratorError, CacheEvict, CachePut } from '../../../lib/index.js';
import {
  CACHED_METHOD_METADATA,
  type CachedMethodHandle,
} from '../../../lib/decorators/cached-method.handle.js';
import { withResult } from '../../../lib/instrumentation/call-key.compiler.js';
import {
  compileCachedMethod,
  returnKindOf,
} from '../../../lib/instrumentation/cached-method.compiler.js';
import { namespaceTag } from '../../../lib/instrumentation/operation.compiler.js';
import type { CacheCapabilities } from '../../../lib/instrumentation/cached-method.plan.js';

const NO_TAGS: CacheCapabilities = { tags: false, clear: false };
const ALL: CacheCapabilities = { tags: true, clear: true };

function handleOf(prototype: object, method: string): CachedMethodHandle {
  const fn = (prototype as Record<string, unknown>)[method] as object;
  return Reflect.getOwnMetadata(CACHED_METHOD_METADATA, fn) as CachedMethodHandle;
}

function compile(prototype: object, method: string, capabilities = NO_TAGS) {
  const handle = handleOf(prototype, method);
  return compileCachedMethod({
    handle,
    returnType: Reflect.getMetadata('design:returntype', prototype, method),
    capabilities,
  });
}

describe('compileCachedMethod()', () => {
  describe('keys', () => {
    class Products {
      @Cacheable({ key: 'product:{0}' })
      findOne(id: string): Promise<unknown> {
        return Promise.resolve(id);
      }
      @Cacheable()
      search(query: object, _page?: number): Promise<unknown> {
        return Promise.resolve(query);
      }
      @Cacheable({ namespace: 'catalogue', key: (id: string) => `p:${id}` })
      viaFunction(id: string): Promise<unknown> {
        return Promise.resolve(id);
      }
      @CachePut({ key: 'product:{result.id}' })
      create(_dto: object): Promise<{ id: string }> {
        return Promise.resolve({ id: '1' });
      }
      @CacheEvict({
        key: (id: string, _dto: unknown, result: { v: number }) => `product:${id}:${result.v}`,
      })
      update(id: string, _dto?: object): Promise<unknown> {
        return Promise.resolve(id);
      }
    }
    class Orders {
      @Cacheable()
      search(query: object, _page?: number): Promise<unknown> {
        return Promise.resolve(query);
      }
    }

    it('renders a template from the arguments', () => {
      expect(compile(Products.prototype, 'findOne').cacheable?.key(['42'], undefined)).toBe(
        'product:42',
      );
    });

    it('defaults to ClassName.method: plus a hash independent of key order', () => {
      const key = compile(Products.prototype, 'search').cacheable?.key;
      const a = key?.([{ q: 'chair', sort: 'price' }, 2], undefined);
      expect(a).toMatch(/^Products\.search:[0-9a-f]{16}$/);
      expect(key?.([{ sort: 'price', q: 'chair' }, 2], undefined)).toBe(a);
      expect(key?.([{ sort: 'price', q: 'chair' }, 3], undefined)).not.toBe(a);
    });

    it('gives two classes with the same method name different default keys', () => {
      const args = [{ q: 'x' }];
      expect(compile(Orders.prototype, 'search').cacheable?.key(args, undefined)).not.toBe(
        compile(Products.prototype, 'search').cacheable?.key(args, undefined),
      );
    });

    it('prefixes the decorator namespace', () => {
      expect(compile(Products.prototype, 'viaFunction').cacheable?.key(['7'], undefined)).toBe(
        'catalogue:p:7',
      );
    });

    it('lets @CachePut and @CacheEvict keys use the result', () => {
      expect(compile(Products.prototype, 'create').puts[0]?.key([{}], { id: 'n1' })).toBe(
        'product:n1',
      );
      // The result comes after the declared parameters, even when an optional one was omitted.
      expect(compile(Products.prototype, 'update').evictsAfter[0]?.key?.(['5'], { v: 2 })).toBe(
        'product:5:2',
      );
    });

    it('throws CacheKeyError naming the method when a key function returns a non-string', () => {
      class Bad {
        @Cacheable({ key: () => 42 as unknown as string })
        read(): Promise<number> {
          return Promise.resolve(1);
        }
      }
      const key = compile(Bad.prototype, 'read').cacheable?.key;
      expect(() => key?.([], undefined)).toThrow(
        /@Cacheable on Bad\.read: the key function returned number 42/,
      );
    });

    it('throws CacheDecoratorError when an argument cannot be hashed', () => {
      const key = compile(Products.prototype, 'search').cacheable?.key;
      expect(() => key?.([{ cb: () => 1 }], undefined)).toThrow(
        /@Cacheable on Products\.search: cannot build a key: a function cannot be part of a cache key at \[0\]\.cb/,
      );
    });
  });

  describe('start-up validation', () => {
    it('rejects a template naming an argument the method does not declare', () => {
      class Products {
        @Cacheable({ key: 'product:{0}:{2}' })
        findOne(id: string, _locale?: string): Promise<unknown> {
          return Promise.resolve(id);
        }
      }
      expect(() => compile(Products.prototype, 'findOne')).toThrow(CacheDecoratorError);
      expect(() => compile(Products.prototype, 'findOne')).toThrow(
        "@Cacheable on Products.findOne: key template 'product:{0}:{2}' names argument {2} but the method declares 2 parameters",
      );
    });

    it('accepts a template naming a defaulted parameter, and any index with a rest parameter', () => {
      class Products {
        @Cacheable({ key: 'page:{0}' })
        findAll(page = 1): Promise<unknown> {
          return Promise.resolve(page);
        }
        @Cacheable({ key: 'many:{3}' })
        findMany(...ids: string[]): Promise<unknown> {
          return Promise.resolve(ids);
        }
      }
      expect(() => compile(Products.prototype, 'findAll')).not.toThrow();
      expect(() => compile(Products.prototype, 'findMany')).not.toThrow();
    });

    it('rejects {result} in @Cacheable and in a beforeInvocation eviction', () => {
      class Products {
        @Cacheable({ key: 'p:{result.id}' })
        read(): Promise<unknown> {
          return Promise.resolve(1);
        }
        @CacheEvict({ key: 'p:{result.id}', beforeInvocation: true })
        remove(): Promise<unknown> {
          return Promise.resolve(1);
        }
      }
      expect(() => compile(Products.prototype, 'read')).toThrow(
        /names \{result\}, which is not known before a @Cacheable/,
      );
      expect(() => compile(Products.prototype, 'remove')).toThrow(/beforeInvocation: true/);
    });

    it.each([
      [{ key: 'a:{x}' }, /bad placeholder '\{x\}'/],
      [{ key: 42 }, /option 'key' must be a template string or a function, got number 42/],
      [{ ttl: '5 minutes' }, /option 'ttl' must be milliseconds >= 1/],
      [{ ttl: 0 }, /option 'ttl' must be at least 1 ms/],
      [{ namespace: '' }, /option 'namespace' must be a non-empty string/],
      [{ condition: true }, /option 'condition' must be a function/],
      [{ ttL: 5 }, /unknown option 'ttL'/],
    ])('rejects bad @Cacheable options %p', (options, message) => {
      class Products {
        @Cacheable(options as never)
        read(id: string): Promise<unknown> {
          return Promise.resolve(id);
        }
      }
      expect(() => compile(Products.prototype, 'read')).toThrow(message);
    });

    it('rejects an eviction without target, and allEntries with a key', () => {
      class Products {
        @CacheEvict({})
        none(): Promise<unknown> {
          return Promise.resolve(1);
        }
        @CacheEvict({ key: 'a', allEntries: true })
        both(): Promise<unknown> {
          return Promise.resolve(1);
        }
      }
      expect(() => compile(Products.prototype, 'none')).toThrow(
        /give key, tags or allEntries: true/,
      );
      expect(() => compile(Products.prototype, 'both')).toThrow(/remove key/);
    });

    it('rejects @Cacheable with @CachePut, and a decorator applied twice', () => {
      class Products {
        @Cacheable()
        @CachePut()
        both(): Promise<unknown> {
          return Promise.resolve(1);
        }
        @Cacheable()
        @Cacheable()
        twice(): Promise<unknown> {
          return Promise.resolve(1);
        }
      }
      expect(() => compile(Products.prototype, 'both')).toThrow(/cannot decorate the same method/);
      expect(() => compile(Products.prototype, 'twice')).toThrow(/applied twice/);
    });

    it('rejects tags and allEntries when the CacheService has no tag support', () => {
      class Products {
        @Cacheable({ tags: ['products'] })
        read(): Promise<unknown> {
          return Promise.resolve(1);
        }
        @CacheEvict({ allEntries: true, namespace: 'catalogue' })
        evictNamespace(): Promise<unknown> {
          return Promise.resolve(1);
        }
        @CacheEvict({ allEntries: true })
        evictAll(): Promise<unknown> {
          return Promise.resolve(1);
        }
      }
      expect(() => compile(Products.prototype, 'read')).toThrow(
        "@Cacheable on Products.read: 'tags' needs tag support, which this CacheService does not have",
      );
      expect(() => compile(Products.prototype, 'evictNamespace')).toThrow(
        /'allEntries' needs tag support/,
      );
      expect(() => compile(Products.prototype, 'evictAll')).toThrow(
        /needs CacheService\.clear\(\)/,
      );
      expect(() => compile(Products.prototype, 'read', ALL)).not.toThrow();
      expect(compile(Products.prototype, 'evictNamespace', ALL).evictsAfter[0]?.allEntries).toEqual(
        {
          tag: namespaceTag('catalogue'),
        },
      );
      expect(compile(Products.prototype, 'evictAll', ALL).evictsAfter[0]?.allEntries).toBe('clear');
    });

    it('tags namespaced entries with the namespace tag when tags are supported', () => {
      class Products {
        @Cacheable({ namespace: 'catalogue', tags: ['products'] })
        read(): Promise<unknown> {
          return Promise.resolve(1);
        }
      }
      expect(compile(Products.prototype, 'read', ALL).cacheable?.staticTags).toEqual([
        'products',
        namespaceTag('catalogue'),
      ]);
    });

    it('rejects a declared return type that is neither Promise nor Observable', () => {
      class Product {}
      class Products {
        // @ts-expect-error -- the decorator type refuses it too
        @Cacheable()
        read(): Product {
          return new Product();
        }
      }
      expect(() => compile(Products.prototype, 'read')).toThrow(
        /Products\.read: cache-decorated but returns Product \(its declared return type\)/,
      );
    });
  });

  describe('return kinds', () => {
    it('knows Promise and Observable from design:returntype and leaves the rest unknown', () => {
      class Products {
        @Cacheable()
        async implicit(): Promise<number> {
          return 1;
        }
        @Cacheable()
        stream(): Observable<number> {
          return of(1);
        }
      }
      expect(compile(Products.prototype, 'implicit').kind).toBe('promise');
      // `import type { Observable }` makes TypeScript emit Object: unknown until the first call.
      expect(compile(Products.prototype, 'stream').kind).toBe('unknown');
      expect(returnKindOf(Object)).toBe('unknown');
      expect(returnKindOf(undefined)).toBe('unknown');
      expect(returnKindOf(Number)).toEqual({ invalid: 'Number' });
    });
  });
});

describe('withResult()', () => {
  it('puts the result right after the declared parameters', () => {
    expect(withResult(['a'], 2, 'r')).toEqual(['a', undefined, 'r']);
    expect(withResult(['a', 'b', 'c'], 2, 'r')).toEqual(['a', 'b', 'r']);
    expect(withResult(['a', 'b', 'c'], undefined, 'r')).toEqual(['a', 'b', 'c', 'r']);
  });
});
