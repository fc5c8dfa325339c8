import { CacheOptionalDependencyError } from './cache.errors.js';

/**
 * Loads an optional peer dependency with `importer` (a dynamic `import()`, so that nothing in the
 * package's static import graph needs it). A CommonJS package's exports arrive as named exports,
 * as `default`, or both, depending on the loader: `hasExports` tells the module from a wrapper.
 * @throws CacheOptionalDependencyError naming the package and the feature when it cannot be loaded
 */
export async function importOptionalPeer<T extends object>(
  importer: () => Promise<unknown>,
  peer: { packageName: string; feature: string; instead?: string },
  hasExports: (module: T) => boolean,
): Promise<T> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error: unknown) {
    const { packageName, feature, instead } = peer;
    throw new CacheOptionalDependencyError(
      packageName,
      feature,
      instead === undefined ? { cause: error } : { cause: error, instead },
    );
  }
  const module = loaded as T & { default?: T };
  return hasExports(module) ? module : (module.default ?? module);
}
