import { CacheError } from './cache.error.js';

/**
 * An optional integration was used but the package it needs is not installed (prom-client for
 * the Prometheus exporter). The core module never needs it: install it only to use that feature.
 * Thrown at start-up, when the integration's module initialises.
 */
export class CacheOptionalDependencyError extends CacheError {
  constructor(
    /** The missing package, e.g. `prom-client`. */
    readonly packageName: string,
    /** What needs it, e.g. `DistributedCacheMetricsModule`. */
    readonly feature: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${feature} needs the optional peer dependency '${packageName}', which could not be loaded: ` +
        `install it with 'npm install ${packageName}' (or remove ${feature} from your imports)`,
      options,
    );
  }
}
