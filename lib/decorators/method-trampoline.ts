import { Logger } from '@nestjs/common';
import { LOGGER_CONTEXT } from '../cache.constants.js';
import { cacheMessages } from '../cache.messages.js';
import { CacheDecoratorError } from '../errors/cache.errors.js';
import {
  CACHED_METHOD_METADATA,
  type CachedMethodBinding,
  type CachedMethodHandle,
  type CacheOperation,
} from './cached-method.handle.js';

/** Own properties every function has; never copied from the original to the trampoline. */
const FUNCTION_OWN_KEYS = new Set<PropertyKey>([
  'length',
  'name',
  'prototype',
  'arguments',
  'caller',
]);

/**
 * Records `operation` on the method and, for the first cache decorator of that method, replaces
 * it on the prototype with a trampoline. Called by the three decorators at class-definition time.
 *
 * Why a trampoline (the toss/nestjs-aop pattern): Nest's router captures controller methods from
 * the prototype before any `onModuleInit`, so patching instances at init would miss routes. The
 * trampoline is what the router captures; at call time it looks up the per-instance binding the
 * explorer made, and runs the original method when there is none.
 *
 * The trampoline keeps the original's `name`, `length`, own properties and every Reflect metadata
 * entry (`@Get` path and method, guards, pipes, interceptors...), so other decorators work whether
 * they were applied before it (their metadata is copied) or after it (they write on it).
 *
 * @throws CacheDecoratorError on a static method, an accessor or a non-function property
 * @internal
 */
export function addCacheOperation<T>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<T>,
  operation: CacheOperation,
): TypedPropertyDescriptor<T> {
  const className =
    typeof target === 'function' ? target.name : (target.constructor as { name?: string }).name;
  const methodName = String(propertyKey);
  const label = className ?? '(anonymous class)';
  if (typeof target === 'function') {
    throw new CacheDecoratorError(
      { className: label, methodName, decorator: operation.decorator },
      cacheMessages.staticMethod(),
    );
  }
  const method: unknown = descriptor.value;
  if (typeof method !== 'function' || typeof propertyKey === 'symbol') {
    throw new CacheDecoratorError(
      { className: label, methodName, decorator: operation.decorator },
      cacheMessages.notAMethod(),
    );
  }
  const existing = Reflect.getOwnMetadata(CACHED_METHOD_METADATA, method) as
    CachedMethodHandle | undefined;
  if (existing?.trampoline === method) {
    // A second cache decorator on the same method: one trampoline runs them all.
    existing.operations.push(operation);
    return descriptor;
  }
  const handle = createTrampoline(
    target,
    label,
    methodName,
    method as (...args: unknown[]) => unknown,
  );
  handle.operations.push(operation);
  descriptor.value = handle.trampoline as T;
  return descriptor;
}

function createTrampoline(
  prototype: object,
  className: string,
  methodName: string,
  original: (...args: unknown[]) => unknown,
): CachedMethodHandle {
  const trampoline = function (this: unknown, ...args: unknown[]): unknown {
    if (typeof this === 'object' && this !== null) {
      const bound = handle.bindings.get(this);
      // An inactive binding belongs to a closed application; a running one may bind it anew.
      const binding = bound?.owner.active ? bound : lateBind(handle, this);
      if (binding) return binding.run(args);
    }
    reportUnbound(handle);
    return original.apply(this, args);
  };
  const handle: CachedMethodHandle = {
    original,
    trampoline,
    prototype,
    className,
    methodName,
    operations: [],
    bindings: new WeakMap(),
    lateBinders: new Map(),
    unboundReported: false,
  };
  copyIdentity(original, trampoline);
  Reflect.defineMetadata(CACHED_METHOD_METADATA, handle, trampoline);
  return handle;
}

/** Makes the trampoline look like the original to reflection: name, length, props, metadata. */
function copyIdentity(original: object, trampoline: object): void {
  for (const key of ['name', 'length'] as const) {
    const property = Object.getOwnPropertyDescriptor(original, key);
    if (property) Object.defineProperty(trampoline, key, property);
  }
  for (const key of Reflect.ownKeys(original)) {
    if (FUNCTION_OWN_KEYS.has(key)) continue;
    const property = Object.getOwnPropertyDescriptor(original, key);
    if (property) Object.defineProperty(trampoline, key, property);
  }
  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), trampoline);
  }
}

/**
 * A request-scoped or transient instance: bound on its first call, by the binder its class was
 * registered with at start-up.
 */
function lateBind(handle: CachedMethodHandle, instance: object): CachedMethodBinding | undefined {
  if (handle.lateBinders.size === 0) return undefined;
  const constructor = (instance as { constructor?: unknown }).constructor;
  const binder =
    typeof constructor === 'function' ? handle.lateBinders.get(constructor) : undefined;
  if (!binder?.owner.active) return undefined;
  const binding = binder.bind(instance);
  handle.bindings.set(instance, binding);
  return binding;
}

function reportUnbound(handle: CachedMethodHandle): void {
  if (handle.unboundReported) return;
  handle.unboundReported = true;
  new Logger(LOGGER_CONTEXT).debug(cacheMessages.unboundCall(handle));
}
