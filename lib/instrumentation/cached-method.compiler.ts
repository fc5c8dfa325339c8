import { Observable } from 'rxjs';
import { cacheMessages } from '../cache.messages.js';
import type { CachedMethodHandle } from '../decorators/cached-method.handle.js';
import { CacheDecoratorError } from '../errors/cache.errors.js';
import type {
  CacheCapabilities,
  CompiledEvict,
  CompiledStore,
  MethodPlan,
  ReturnKind,
} from './cached-method.plan.js';
import { OperationCompiler } from './operation.compiler.js';
import { declaredParameterCount } from './parameter-list.js';

/** Input of {@link compileCachedMethod}. */
export interface CompileInput {
  readonly handle: CachedMethodHandle;
  /** `design:returntype` of the method, when TypeScript emitted it. */
  readonly returnType: unknown;
  /**
   * What the bound caches can do: one answer for every cache, or per cache name (`undefined`:
   * the default cache) when the method's decorators use several caches.
   */
  readonly capabilities: CacheCapabilities | ((cacheName: string | undefined) => CacheCapabilities);
}

/**
 * Validates every cache decorator of one method and compiles it into a {@link MethodPlan}: key
 * templates parsed and checked against the declared parameters, durations parsed, the return
 * type checked, features the `CacheService` lacks refused.
 *
 * @throws CacheDecoratorError naming the class, the method and the option to change
 */
export function compileCachedMethod({
  handle,
  returnType,
  capabilities,
}: CompileInput): MethodPlan {
  const { className, methodName } = handle;
  const kind = returnKindOf(returnType);
  if (typeof kind !== 'string') {
    throw new CacheDecoratorError(
      { className, methodName },
      cacheMessages.returnType(cacheMessages.declaredReturnType(kind.invalid)),
    );
  }
  const arity = declaredParameterCount(handle.original);
  const capabilitiesOf = typeof capabilities === 'function' ? capabilities : () => capabilities;
  const compiler = new OperationCompiler(handle, arity, capabilitiesOf);
  let cacheable: CompiledStore | undefined;
  const puts: CompiledStore[] = [];
  const evictsBefore: CompiledEvict[] = [];
  const evictsAfter: CompiledEvict[] = [];
  for (const operation of handle.operations) {
    switch (operation.decorator) {
      case 'Cacheable':
        if (cacheable) {
          throw new CacheDecoratorError(
            { className, methodName, decorator: 'Cacheable' },
            cacheMessages.duplicateDecorator('Cacheable'),
          );
        }
        cacheable = compiler.store(operation);
        break;
      case 'CachePut':
        if (puts.length > 0) {
          throw new CacheDecoratorError(
            { className, methodName, decorator: 'CachePut' },
            cacheMessages.duplicateDecorator('CachePut'),
          );
        }
        puts.push(compiler.store(operation));
        break;
      case 'CacheEvict': {
        const evict = compiler.evict(operation);
        (evict.beforeInvocation ? evictsBefore : evictsAfter).push(evict);
        break;
      }
    }
  }
  if (cacheable && puts.length > 0) {
    throw new CacheDecoratorError({ className, methodName }, cacheMessages.cacheableWithPut());
  }
  return {
    className,
    methodName,
    original: handle.original,
    kind,
    cacheable,
    puts,
    evictsBefore,
    evictsAfter,
  };
}

/**
 * The kind a `design:returntype` announces. `Object` (an interface, a type alias, a type-only
 * import of Observable) and `undefined` (no annotation, or no metadata emitted) are unknown.
 */
export function returnKindOf(returnType: unknown): ReturnKind | { invalid: string } {
  if (returnType === undefined || returnType === null || returnType === Object) return 'unknown';
  if (typeof returnType !== 'function') return 'unknown';
  const prototype: unknown = returnType.prototype;
  if (returnType === Promise || prototype instanceof Promise) return 'promise';
  if (returnType === Observable || prototype instanceof Observable) return 'observable';
  // Another copy of rxjs (a second node_modules) has its own Observable class.
  if (
    returnType.name === 'Observable' &&
    typeof (prototype as { subscribe?: unknown } | undefined)?.subscribe === 'function'
  ) {
    return 'observable';
  }
  return { invalid: returnType.name || 'an anonymous class' };
}
