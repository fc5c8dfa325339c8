import { CacheError } from './cache.error.js';

/**
 * A `@Cacheable`, `@CacheEvict` or `@CachePut` cannot work as written: a bad option, a key
 * template naming a missing argument, a method that returns neither a Promise nor an Observable.
 * Thrown at application start-up (or, where only a call can tell, by that call), never silently
 * ignored. The message names the class and the method.
 */
export class CacheDecoratorError extends CacheError {
  constructor(
    /** Name of the class that owns the decorated method. */
    readonly className: string,
    /** Name of the decorated method. */
    readonly methodName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
