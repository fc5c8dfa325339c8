import { CacheOptionalDependencyError } from '../errors/cache.errors.js';

/** The prom-client module. Internal: only the exporter's implementation sees its types. */
export type PromClient = typeof import('prom-client');

/** How prom-client is imported; replaced in tests to act as if it were not installed. */
export type PromClientImporter = () => Promise<unknown>;

const importPromClient: PromClientImporter = () => import('prom-client');

/**
 * Loads prom-client on first use.
 *
 * NOTE: a dynamic import, reached only when the exporter starts, so that nothing in the package's
 * static import graph needs prom-client: apps without it installed load the package normally.
 *
 * @throws CacheOptionalDependencyError when prom-client is not installed.
 */
export async function loadPromClient(
  importer: PromClientImporter = importPromClient,
): Promise<PromClient> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error: unknown) {
    throw new CacheOptionalDependencyError('prom-client', 'DistributedCacheMetricsModule', {
      cause: error,
    });
  }
  // prom-client is CommonJS: depending on the loader its exports arrive as named exports, as
  // `default`, or both.
  const module = loaded as PromClient & { default?: PromClient };
  return typeof module.Counter === 'function' ? module : (module.default ?? module);
}
