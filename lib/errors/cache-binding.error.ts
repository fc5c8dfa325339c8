import { CacheError } from './cache.error.js';

/**
 * A class with cache-decorated methods cannot be bound to a `CacheService` through DI: its module
 * cannot inject one, or one instance (or one request-scoped class) is claimed by two running
 * applications. Thrown at application start-up; the message names the class and what to change.
 */
export class CacheBindingError extends CacheError {
  constructor(
    /** Name of the class whose instances could not be bound. */
    readonly className: string,
    message: string,
  ) {
    super(message);
  }
}
