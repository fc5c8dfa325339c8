import { importOptionalPeer } from '../errors/optional-peer.js';

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
  return importOptionalPeer<PromClient>(
    importer,
    { packageName: 'prom-client', feature: 'DistributedCacheMetricsModule' },
    (module) => typeof module.Counter === 'function',
  );
}
