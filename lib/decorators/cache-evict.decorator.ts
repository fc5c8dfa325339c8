import type { CacheEvictOptions } from './cache-decorator-options.interface.js';
import type { CacheableMethod } from './cacheable.decorator.js';
import { addCacheOperation } from './method-trampoline.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- see cache-decorator-options.interface.ts */

/**
 * Evicts entries once the method succeeded: `key` (from the L1 of this instance and from L2),
 * or every entry with one of `tags`, or with `allEntries` everything in the decorator's
 * `namespace` (the whole cache namespace without one). A method that throws evicts nothing,
 * unless `beforeInvocation: true`, which evicts before the method runs. Several `@CacheEvict`
 * (and one `@CachePut` or `@Cacheable`) may decorate one method.
 *
 * @example
 * ```ts
 * @CacheEvict({ key: 'product:{0}' })
 * update(id: string, dto: UpdateProductDto): Promise<Product> { ... }
 * ```
 */
export function CacheEvict<A extends any[] = any[], R = any>(options: CacheEvictOptions<A, R>) {
  return <T extends CacheableMethod>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> =>
    addCacheOperation(target, propertyKey, descriptor, {
      decorator: 'CacheEvict',
      options: options as CacheEvictOptions,
    });
}
