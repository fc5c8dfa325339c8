import type { InjectionToken } from '@nestjs/common';
import type { DiscoveryService } from '@nestjs/core';
import { CacheService } from '../cache.service.js';

/** Nest's `InstanceWrapper`, which `@nestjs/core` does not export by name. */
export type NestInstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];
/** Nest's `Module` (a module's place in the container), not exported by name either. */
export type NestModuleRef = NonNullable<NestInstanceWrapper['host']>;

/**
 * The `CacheService` that a provider or controller of `module` would get injected under `token`
 * (`CacheService` for the default cache, `getCacheToken(name)` for a named one), found the way
 * Nest's injector looks a dependency up: the module's own providers first, then, depth first, the
 * modules it imports (global modules included, Nest adds them to every module's imports), where
 * a token is visible when the imported module exports it, or re-exports a module that does.
 * Undefined when the module cannot inject one.
 */
export function resolveModuleCacheService(
  module: NestModuleRef,
  token: InjectionToken = CacheService,
): CacheService | undefined {
  const own = module.providers.get(token);
  if (own) return asCacheService(own.instance);
  return asCacheService(lookupInImports(module, token, new Set(), false)?.instance);
}

function lookupInImports(
  module: NestModuleRef,
  token: InjectionToken,
  visited: Set<string>,
  traversing: boolean,
): NestInstanceWrapper | undefined {
  for (const related of module.imports) {
    // NOTE: an entry can be undefined when an import is a circular forwardRef not yet resolved.
    if (!(related as NestModuleRef | undefined)) continue;
    if (traversing && !module.exports.has(related.metatype)) continue;
    if (visited.has(related.id)) continue;
    visited.add(related.id);
    if (related.exports.has(token) && related.providers.has(token)) {
      return related.providers.get(token);
    }
    const found = lookupInImports(related, token, visited, true);
    if (found) return found;
  }
  return undefined;
}

function asCacheService(instance: unknown): CacheService | undefined {
  return typeof instance === 'object' && instance !== null ? (instance as CacheService) : undefined;
}
