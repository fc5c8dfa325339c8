import type { Observable } from 'rxjs';
import type { CacheableOptions } from './cache-decorator-options.interface.js';
import { addCacheOperation } from './method-trampoline.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- see cache-decorator-options.interface.ts */

/** A method a cache decorator accepts: it returns a Promise or an Observable. */
export type CacheableMethod = (...args: any[]) => Promise<unknown> | Observable<unknown>;

/**
 * Caches what the method returns. On a hit the method does not run and the cached value is
 * returned (as a Promise, or an Observable replaying the cached emissions). On a miss the method
 * runs once however many calls wait for the same key (single-flight), its result is stored for
 * `ttl` and returned. A method that throws stores nothing and every waiting call gets its error;
 * an unreachable Redis never fails a call: it runs uncached.
 *
 * Works on provider and controller methods, above or below `@Get`, `@Param`, guards, pipes and
 * interceptors. The method is bound to its module's `CacheService` when the application starts;
 * on an instance no application created (plain `new`) it runs uncached.
 *
 * @example
 * ```ts
 * @Cacheable({ key: 'product:{0}', ttl: '1m', unless: (product) => product == null })
 * findOne(id: string): Promise<Product | null> { ... }
 * ```
 */
export function Cacheable<A extends any[] = any[], R = any>(options: CacheableOptions<A, R> = {}) {
  return <T extends CacheableMethod>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> =>
    addCacheOperation(target, propertyKey, descriptor, {
      decorator: 'Cacheable',
      options: options as CacheableOptions,
    });
}
