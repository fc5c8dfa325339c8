import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { LOGGER_CONTEXT } from '../cache.constants.js';
import { cacheMessages } from '../cache.messages.js';
import { CacheService } from '../cache.service.js';
import type { CacheBindingOwner, CachedMethodHandle } from '../decorators/cached-method.handle.js';
import { CacheBindingError } from '../errors/cache-binding.error.js';
import {
  type CacheCapabilities,
  compileCachedMethod,
  type MethodPlan,
} from './cached-method.compiler.js';
import { createCachedMethodBinding } from './cached-method.factory.js';
import { CacheMetadataAccessor } from './cache-metadata.accessor.js';
import { type NestInstanceWrapper, resolveModuleCacheService } from './cache-service.resolver.js';

/**
 * Binds every cache-decorated method of every provider and controller to the `CacheService` its
 * module injects, when the application starts (`onModuleInit`). One explorer per
 * `DistributedCacheModule`; it binds only instances whose module resolves to its own
 * `CacheService`, so two applications (or two cache modules in one application) never share a
 * binding, and there is no global cache.
 *
 * - Singletons (and the static instances of transient providers) are bound one by one.
 * - Request-scoped classes (and classes made request-scoped by a dependency) have no instance
 *   yet: the class is registered, and each per-request instance is bound on its first call.
 *   Only one running application at a time may provide such a class with cached methods.
 * - Every decorated method is validated here: a bad option fails start-up, naming the class and
 *   the method.
 *
 * At shutdown its bindings go inactive: later calls run uncached.
 */
@Injectable()
export class CacheExplorer implements OnModuleInit, OnApplicationShutdown, CacheBindingOwner {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private readonly plans = new Map<CachedMethodHandle, MethodPlan>();
  private readonly lateBound: Array<{ handle: CachedMethodHandle; constructor: object }> = [];
  private running = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: CacheMetadataAccessor,
    private readonly cache: CacheService,
  ) {}

  /** Whether this explorer's bindings are in force (between init and shutdown). */
  get active(): boolean {
    return this.running;
  }

  onModuleInit(): void {
    this.running = true;
    const capabilities = capabilitiesOf(this.cache);
    let methods = 0;
    let instances = 0;
    let lateClasses = 0;
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      if (wrapper.isAlias) continue; // the aliased provider's own wrapper binds the instance
      const prototype = prototypeOf(wrapper);
      if (!prototype) continue;
      const handles = this.findHandles(prototype);
      if (handles.length === 0) continue;
      const className = nameOf(prototype);
      const host = wrapper.host;
      const owner = host ? resolveModuleCacheService(host) : undefined;
      if (!owner) {
        throw new CacheBindingError(
          className,
          cacheMessages.noCacheService(className, host?.name ?? '(unknown module)'),
        );
      }
      if (owner !== this.cache) continue; // another DistributedCacheModule's explorer binds it
      const plans = handles.map((handle) => [handle, this.planFor(handle, capabilities)] as const);
      methods += plans.length;

      if (!wrapper.isDependencyTreeStatic()) {
        this.registerLateBinding(wrapper, prototype, className, plans);
        lateClasses++;
        continue;
      }
      const targets = wrapper.isTransient
        ? wrapper.getStaticTransientInstances().map((perContext): unknown => perContext?.instance)
        : [wrapper.instance as unknown];
      for (const instance of targets) {
        if (typeof instance !== 'object' || instance === null) continue;
        if (this.bindInstance(instance, className, plans)) instances++;
      }
    }
    this.logger.debug(cacheMessages.bound(methods, instances, lateClasses));
  }

  onApplicationShutdown(): void {
    this.running = false;
    for (const { handle, constructor } of this.lateBound) {
      if (handle.lateBinders.get(constructor)?.owner === this)
        handle.lateBinders.delete(constructor);
    }
    this.lateBound.length = 0;
  }

  /** Every distinct decorated method reachable from `prototype`, overridden ones included. */
  private findHandles(prototype: object): CachedMethodHandle[] {
    const handles: CachedMethodHandle[] = [];
    for (const name of this.scanner.getAllMethodNames(prototype)) {
      // A subclass may override a decorated method and call it with super: walk the whole chain.
      for (
        let level: object | null = prototype;
        level && level !== Object.prototype;
        level = Object.getPrototypeOf(level) as object | null
      ) {
        const value: unknown = Object.getOwnPropertyDescriptor(level, name)?.value;
        const handle = this.accessor.getCachedMethod(value);
        if (handle && !handles.includes(handle)) handles.push(handle);
      }
    }
    return handles;
  }

  /** Validates a method once per application. @throws CacheDecoratorError */
  private planFor(handle: CachedMethodHandle, capabilities: CacheCapabilities): MethodPlan {
    let plan = this.plans.get(handle);
    if (!plan) {
      plan = compileCachedMethod({
        handle,
        returnType: this.accessor.getReturnType(handle),
        capabilities,
      });
      this.plans.set(handle, plan);
    }
    return plan;
  }

  /** @returns false when this explorer had already bound the instance (an alias, a re-export) */
  private bindInstance(
    instance: object,
    className: string,
    plans: ReadonlyArray<readonly [CachedMethodHandle, MethodPlan]>,
  ): boolean {
    let bound = false;
    for (const [handle, plan] of plans) {
      const existing = handle.bindings.get(instance);
      if (existing?.owner === this) continue;
      if (existing?.owner.active) {
        throw new CacheBindingError(className, cacheMessages.instanceClaimedTwice(className));
      }
      handle.bindings.set(
        instance,
        createCachedMethodBinding(plan, instance, this.cache, this, this.logger),
      );
      bound = true;
    }
    return bound;
  }

  private registerLateBinding(
    wrapper: NestInstanceWrapper,
    prototype: object,
    className: string,
    plans: ReadonlyArray<readonly [CachedMethodHandle, MethodPlan]>,
  ): void {
    const constructor = (prototype as { constructor: object }).constructor;
    const scope = wrapper.isTransient
      ? 'transient (with a request-scoped dependency)'
      : 'request-scoped';
    for (const [handle, plan] of plans) {
      const existing = handle.lateBinders.get(constructor);
      if (existing?.owner === this) continue;
      if (existing?.owner.active) {
        throw new CacheBindingError(
          className,
          cacheMessages.scopedClassClaimedTwice(className, scope),
        );
      }
      handle.lateBinders.set(constructor, {
        owner: this,
        bind: (instance) =>
          createCachedMethodBinding(plan, instance, this.cache, this, this.logger),
      });
      this.lateBound.push({ handle, constructor });
    }
  }
}

/**
 * The prototype whose methods the wrapper's instances have: the instance's for a singleton
 * (which also covers `useValue` and `useFactory` providers), the class's for request-scoped and
 * transient ones. Undefined for a non-object value or a factory whose product is unknown.
 */
function prototypeOf(wrapper: NestInstanceWrapper): object | undefined {
  if (wrapper.isDependencyTreeStatic() && !wrapper.isTransient) {
    const instance: unknown = wrapper.instance;
    if (typeof instance !== 'object' || instance === null) return undefined;
    return Object.getPrototypeOf(instance) as object;
  }
  if (wrapper.inject || typeof wrapper.metatype !== 'function') return undefined; // a factory
  return wrapper.metatype.prototype as object;
}

function nameOf(prototype: object): string {
  const constructor = (prototype as { constructor?: { name?: string } }).constructor;
  return constructor?.name || '(anonymous class)';
}

function capabilitiesOf(cache: CacheService): CacheCapabilities {
  const methods = cache as unknown as Record<string, unknown>;
  return {
    tags: typeof methods['invalidateTags'] === 'function',
    clear: typeof methods['clear'] === 'function',
  };
}
