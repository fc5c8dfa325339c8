import { CacheError } from './cache.error.js';

/**
 * An integration (metrics, health) was registered in an application that has no
 * `DistributedCacheModule`. Thrown at start-up.
 */
export class CacheModuleMissingError extends CacheError {
  constructor(
    /** The integration that needs the cache, e.g. `DistributedCacheHealthModule`. */
    readonly feature: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${feature} found no DistributedCacheModule in this application: import ` +
        `DistributedCacheModule.forRoot(...) (or forRootAsync) in the same application`,
      options,
    );
  }
}
