import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { LOGGER_CONTEXT } from '../cache.constants.js';
import { cacheMessages } from '../cache.messages.js';
import { type CacheService } from '../cache.service.js';
import { cacheNameOfServiceToken, getCacheToken } from '../cache.tokens.js';
import type { CacheBindingOwner, CachedMethodHandle } from '../decorators/cached-method.handle.js';
import { CacheBindingError } from '../errors/cache.errors.js';
import { CacheDecoratorError } from '../errors/cache.errors.js';
import { CacheOptionsError } from '../errors/cache.errors.js';
import { compileCachedMethod } from './cached-method.compiler.js';
import { operationCacheName } from './operation.compiler.js';
import type { CacheCapabilities, MethodPlan } from './cached-method.plan.js';
import { createCachedMethodBinding } from './cached-method.factory.js';
import type { BoundCaches } from './cached-method.steps.js';
import { type CacheMetadataAccessor } from './cache-metadata.accessor.js';
import {
  type NestInstanceWrapper,
  type NestModuleRef,
  resolveModuleCacheService,
} from './cache-service.resolver.js';

/** A decorated method this explorer binds, with its plan and the caches its decorators use. */
type OwnedMethod = readonly [CachedMethodHandle, MethodPlan, BoundCaches];

/**
 * Binds every cache-decorated method of every provider and controller to the `CacheService` its
 * module injects, when the application starts (`onModuleInit`). One explorer per
 * `DistributedCacheModule` registration; it binds only methods whose cache resolves, from the
 * method's module, to its own `CacheService`, so two applications (or two cache modules in one
 * application) never share a binding, and there is no global cache.
 *
 * - Named caches: a decorator's `cache: 'sessions'` is resolved like `@InjectCache('sessions')`
 *   in the class's module. A method whose decorators use several caches is bound by the explorer
 *   of the cache its first decorator uses, with every cache it names. Every explorer checks every
 *   name, so an unknown one fails start-up whichever registration looks first.
 * - A named registration also checks that its name is registered once in the application.
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
    /** The registration's name; `undefined` for the default cache. */
    private readonly name: string | undefined,
  ) {}

  /** Whether this explorer's bindings are in force (between init and shutdown). */
  get active(): boolean {
    return this.running;
  }

  onModuleInit(): void {
    this.running = true;
    const providers = this.discovery.getProviders();
    if (this.name !== undefined) assertRegisteredOnce(this.name, providers);
    let methods = 0;
    let instances = 0;
    let lateClasses = 0;
    const wrappers = [...providers, ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      if (wrapper.isAlias) continue; // the aliased provider's own wrapper binds the instance
      const prototype = prototypeOf(wrapper);
      if (!prototype) continue;
      const handles = this.findHandles(prototype);
      if (handles.length === 0) continue;
      const className = nameOf(prototype);
      const plans = this.ownedMethods(wrapper.host, className, handles, providers);
      // Methods of another DistributedCacheModule registration are bound by its explorer.
      if (plans.length === 0) continue;
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

  /**
   * The methods of one class that this explorer binds: those whose first decorator's cache
   * resolves, from the class's module, to this explorer's `CacheService`. Resolves every cache
   * every method names, bound here or not, so a name the module cannot inject fails start-up.
   *
   * @throws CacheBindingError when the module cannot inject a cache a method names
   * @throws CacheDecoratorError when a method names a cache no registration has
   */
  private ownedMethods(
    host: NestModuleRef | undefined,
    className: string,
    handles: readonly CachedMethodHandle[],
    providers: readonly NestInstanceWrapper[],
  ): OwnedMethod[] {
    const owned: OwnedMethod[] = [];
    const resolved = new Map<string | undefined, CacheService>();
    for (const handle of handles) {
      const caches = new Map<string | undefined, CacheService>();
      for (const operation of handle.operations) {
        const name = operationCacheName(handle, operation);
        if (caches.has(name)) continue;
        let cache = resolved.get(name);
        if (cache === undefined) {
          cache = host ? resolveModuleCacheService(host, getCacheToken(name)) : undefined;
          if (cache === undefined) {
            throw unresolvedCache(className, handle, operation.decorator, name, host, providers);
          }
          resolved.set(name, cache);
        }
        caches.set(name, cache);
      }
      const first = handle.operations[0];
      const primary = first && caches.get(operationCacheName(handle, first));
      if (primary !== this.cache) continue;
      owned.push([handle, this.planFor(handle, caches), caches]);
    }
    return owned;
  }

  /** Validates a method once per application. @throws CacheDecoratorError */
  private planFor(handle: CachedMethodHandle, caches: BoundCaches): MethodPlan {
    let plan = this.plans.get(handle);
    if (!plan) {
      plan = compileCachedMethod({
        handle,
        returnType: this.accessor.getReturnType(handle),
        capabilities: (name) => capabilitiesOf(caches.get(name) ?? this.cache),
      });
      this.plans.set(handle, plan);
    }
    return plan;
  }

  /** @returns false when this explorer had already bound the instance (an alias, a re-export) */
  private bindInstance(
    instance: object,
    className: string,
    plans: readonly OwnedMethod[],
  ): boolean {
    let bound = false;
    for (const [handle, plan, caches] of plans) {
      const existing = handle.bindings.get(instance);
      if (existing?.owner === this) continue;
      if (existing?.owner.active) {
        throw new CacheBindingError({ className }, cacheMessages.instanceClaimedTwice());
      }
      handle.bindings.set(
        instance,
        createCachedMethodBinding(plan, instance, caches, this, this.logger),
      );
      bound = true;
    }
    return bound;
  }

  private registerLateBinding(
    wrapper: NestInstanceWrapper,
    prototype: object,
    className: string,
    plans: readonly OwnedMethod[],
  ): void {
    const constructor = (prototype as { constructor: object }).constructor;
    const scope = wrapper.isTransient
      ? 'transient (with a request-scoped dependency)'
      : 'request-scoped';
    for (const [handle, plan, caches] of plans) {
      const existing = handle.lateBinders.get(constructor);
      if (existing?.owner === this) continue;
      if (existing?.owner.active) {
        throw new CacheBindingError(
          { className },
          cacheMessages.scopedClassClaimedTwice(className, scope),
        );
      }
      handle.lateBinders.set(constructor, {
        owner: this,
        bind: (instance) => createCachedMethodBinding(plan, instance, caches, this, this.logger),
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

/**
 * A cache name registered twice would make `@InjectCache(name)`, `cache: name` and the metrics and
 * health integrations ambiguous: refused at start-up.
 *
 * @throws CacheOptionsError naming `name`
 */
function assertRegisteredOnce(name: string, providers: readonly NestInstanceWrapper[]): void {
  const token = getCacheToken(name);
  const hosts = new Set(
    providers.filter((wrapper) => wrapper.token === token).map((wrapper) => wrapper.host),
  );
  if (hosts.size > 1) {
    throw new CacheOptionsError('name', cacheMessages.duplicateName(name, hosts.size));
  }
}

/** Why a cache a decorator names cannot be bound: not registered, or not visible from the module. */
function unresolvedCache(
  className: string,
  handle: CachedMethodHandle,
  decorator: string,
  name: string | undefined,
  host: NestModuleRef | undefined,
  providers: readonly NestInstanceWrapper[],
): Error {
  const moduleName = host?.name ?? '(unknown module)';
  const site = { className, methodName: handle.methodName, decorator };
  if (name === undefined) {
    return new CacheBindingError({ className }, cacheMessages.noCacheService(moduleName));
  }
  const registered = new Set<string>();
  for (const wrapper of providers) {
    const found = cacheNameOfServiceToken(wrapper.token);
    if (found !== undefined) registered.add(found === null ? 'the default cache' : `'${found}'`);
  }
  if (!registered.has(`'${name}'`)) {
    return new CacheDecoratorError(site, cacheMessages.unknownCache(name, [...registered]));
  }
  return new CacheBindingError(site, cacheMessages.cacheNotVisible(name, moduleName));
}

function capabilitiesOf(cache: CacheService): CacheCapabilities {
  const methods = cache as unknown as Record<string, unknown>;
  return {
    tags: typeof methods['invalidateTags'] === 'function',
    clear: typeof methods['clear'] === 'function',
  };
}
