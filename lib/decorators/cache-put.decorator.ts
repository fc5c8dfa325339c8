import type { CachePutOptions } from './cache-decorator-options.interface.js';
import type { CacheableMethod } from './cacheable.decorator.js';
import { addCacheOperation } from './method-trampoline.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- see cache-decorator-options.interface.ts */

/**
 * Always runs the method, then stores its result under `key` (which may use the result:
 * `{result.id}`), so later `@Cacheable` reads of that key see it. A method that throws stores
 * nothing. Cannot be combined with `@Cacheable` on the same method.
 *
 * @example
 * ```ts
 * @CachePut({ key: 'product:{result.id}' })
 * create(dto: CreateProductDto): Promise<Product> { ... }
 * ```
 */
export function CachePut<A extends any[] = any[], R = any>(options: CachePutOptions<A, R> = {}) {
  return <T extends CacheableMethod>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> =>
    addCacheOperation(target, propertyKey, descriptor, {
      decorator: 'CachePut',
      options: options as CachePutOptions,
    });
}
