import { CacheError } from './cache.error.js';

/**
 * An integration (metrics, health) was registered in an application that has no
 * `DistributedCacheModule` (or none registered under the `cache` name it was given). Thrown at
 * start-up.
 */
export class CacheModuleMissingError extends CacheError {
  /** The `cache` option of the integration; `undefined` for the default cache. */
  readonly cacheName: string | undefined;

  constructor(
    /** The integration that needs the cache, e.g. `DistributedCacheHealthModule`. */
    readonly feature: string,
    options?: { cause?: unknown; cacheName?: string },
  ) {
    const cacheName = options?.cacheName;
    super(
      cacheName === undefined
        ? `${feature} found no DistributedCacheModule in this application: import ` +
            `DistributedCacheModule.forRoot(...) (or forRootAsync) in the same application`
        : `${feature} found no cache named '${cacheName}' in this application: import ` +
            `DistributedCacheModule.forRoot({ name: '${cacheName}', ... }) in the same application, ` +
            `or fix the 'cache' option`,
      options,
    );
    this.cacheName = cacheName;
  }
}
