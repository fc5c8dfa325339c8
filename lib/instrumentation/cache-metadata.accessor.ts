import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  CACHED_METHOD_METADATA,
  type CachedMethodHandle,
} from '../decorators/cached-method.handle.js';

/**
 * The only reader of the cache decorators' metadata (and of the TypeScript design metadata of
 * decorated methods), as in nestjs/bullmq and nestjs/schedule: the explorer asks here, so the
 * storage format can change in one place.
 */
@Injectable()
export class CacheMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The handle of a cache-decorated method's trampoline, or undefined for any other value. */
  getCachedMethod(method: unknown): CachedMethodHandle | undefined {
    if (typeof method !== 'function') return undefined;
    return this.reflector.get<CachedMethodHandle | undefined>(
      CACHED_METHOD_METADATA,
      method as (...args: unknown[]) => unknown,
    );
  }

  /** `design:returntype` of the method, as TypeScript emitted it (undefined when it did not). */
  getReturnType(handle: CachedMethodHandle): unknown {
    return Reflect.getMetadata('design:returntype', handle.prototype, handle.methodName);
  }
}
