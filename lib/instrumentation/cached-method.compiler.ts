import { Observable } from 'rxjs';
import { cacheMessages } from '../cache.messages.js';
import type { CacheableOptions } from '../decorators/cache-decorator-options.interface.js';
import type {
  CacheDecoratorName,
  CachedMethodHandle,
  CacheOperation,
} from '../decorators/cached-method.handle.js';
import { CacheDecoratorError } from '../errors/cache-decorator.error.js';
import { CacheKeyError } from '../errors/cache-key.error.js';
import { hashArguments, UnhashableValueError } from '../keys/argument-hash.js';
import { KeyTemplateSyntaxError, parseKeyTemplate } from '../keys/key-template.js';
import { parseDuration } from '../options/duration.js';
import { declaredParameterCount } from './parameter-list.js';

/** What a decorated method returns; `'unknown'` until the first call tells. Internal. */
export type ReturnKind = 'promise' | 'observable' | 'unknown';

/** What the bound `CacheService` can do beyond get/set/del. Internal. */
export interface CacheCapabilities {
  /** `invalidateTags()` exists: `tags` and namespaced `allEntries` can work. */
  readonly tags: boolean;
  /** `clear()` exists: `allEntries` without a namespace can work. */
  readonly clear: boolean;
}

/** Builds a key from the call's arguments and (after the method ran) its result. */
export type KeyBuilder = (args: readonly unknown[], result: unknown) => string;
/** Builds tags from the call's arguments and (after the method ran) its result. */
export type TagsBuilder = (args: readonly unknown[], result: unknown) => readonly string[];
type Predicate = (...args: unknown[]) => boolean;
type ResultPredicate = (result: unknown, ...args: unknown[]) => boolean;

/** A validated `@Cacheable` or `@CachePut`. Internal. */
export interface CompiledStore {
  readonly decorator: 'Cacheable' | 'CachePut';
  /** The `cache` option: a named cache, or `undefined` for the default one. */
  readonly cacheName: string | undefined;
  readonly key: KeyBuilder;
  /** Milliseconds; undefined means the module's `ttl`. */
  readonly ttlMs: number | undefined;
  /** Tags known at start-up, including the decorator namespace's own tag. */
  readonly staticTags: readonly string[] | undefined;
  /** Tags that depend on the call. */
  readonly tags: TagsBuilder | undefined;
  readonly condition: Predicate | undefined;
  readonly unless: ResultPredicate | undefined;
  /** `@Cacheable` only: stale-serving windows, in milliseconds, passed to `getOrSet`. */
  readonly staleWhileRevalidate?: number;
  readonly grace?: number;
  readonly timeout?: number;
}

/** A validated `@CacheEvict`. Internal. */
export interface CompiledEvict {
  readonly decorator: 'CacheEvict';
  /** The `cache` option: a named cache, or `undefined` for the default one. */
  readonly cacheName: string | undefined;
  readonly key: KeyBuilder | undefined;
  readonly tags: TagsBuilder | undefined;
  /** `'clear'`: the whole cache namespace; a string: the tag of a decorator namespace. */
  readonly allEntries: 'clear' | { readonly tag: string } | undefined;
  readonly beforeInvocation: boolean;
  readonly condition: Predicate | undefined;
}

/** Everything a binding needs to run one decorated method, checked once at start-up. Internal. */
export interface MethodPlan {
  readonly className: string;
  readonly methodName: string;
  readonly original: (...args: unknown[]) => unknown;
  /** Mutable: an `'unknown'` kind is learned from the first call's return value. */
  kind: ReturnKind;
  readonly cacheable: CompiledStore | undefined;
  readonly puts: readonly CompiledStore[];
  readonly evictsBefore: readonly CompiledEvict[];
  readonly evictsAfter: readonly CompiledEvict[];
}

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
 * Tag under which the decorators store entries of a decorator `namespace`, so that
 * `@CacheEvict({ namespace, allEntries: true })` can evict them without scanning keys.
 */
export function namespaceTag(namespace: string): string {
  return `distributed-cache:namespace:${namespace}`;
}

const ALLOWED_OPTIONS: Readonly<Record<CacheDecoratorName, ReadonlySet<string>>> = {
  Cacheable: new Set([
    'cache',
    'key',
    'namespace',
    'ttl',
    'tags',
    'condition',
    'unless',
    'staleWhileRevalidate',
    'grace',
    'timeout',
  ]),
  CachePut: new Set(['cache', 'key', 'namespace', 'ttl', 'tags', 'condition', 'unless']),
  CacheEvict: new Set([
    'cache',
    'key',
    'namespace',
    'tags',
    'allEntries',
    'beforeInvocation',
    'condition',
  ]),
};

/**
 * The cache an operation uses: its `cache` option, `undefined` for the default cache. The
 * explorer asks before compiling, to find the caches the method needs.
 *
 * @throws CacheDecoratorError when `cache` is not a non-empty string
 */
export function operationCacheName(
  handle: Pick<CachedMethodHandle, 'className' | 'methodName'>,
  operation: CacheOperation,
): string | undefined {
  const options = operation.options as { cache?: unknown } | undefined;
  const value = typeof options === 'object' && options !== null ? options.cache : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    const { className, methodName } = handle;
    throw new CacheDecoratorError(
      className,
      methodName,
      cacheMessages.badOption(
        className,
        methodName,
        operation.decorator,
        'cache',
        'the name of a registered cache (a non-empty string)',
        value,
      ),
    );
  }
  return value;
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
      className,
      methodName,
      cacheMessages.returnType(
        className,
        methodName,
        cacheMessages.declaredReturnType(kind.invalid),
      ),
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
            className,
            methodName,
            cacheMessages.duplicateDecorator(className, methodName, 'Cacheable'),
          );
        }
        cacheable = compiler.store(operation);
        break;
      case 'CachePut':
        if (puts.length > 0) {
          throw new CacheDecoratorError(
            className,
            methodName,
            cacheMessages.duplicateDecorator(className, methodName, 'CachePut'),
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
    throw new CacheDecoratorError(
      className,
      methodName,
      cacheMessages.cacheableWithPut(className, methodName),
    );
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

/**
 * Arguments then the result, the result at the position right after the declared parameters
 * (or after the actual arguments when a rest parameter makes that unknown).
 */
export function withResult(
  args: readonly unknown[],
  arity: number | undefined,
  result: unknown,
): unknown[] {
  const out = arity === undefined ? args.slice() : args.slice(0, arity);
  while (arity !== undefined && out.length < arity) out.push(undefined);
  out.push(result);
  return out;
}

/** Compiles the operations of one method; holds what every message needs. */
class OperationCompiler {
  private readonly className: string;
  private readonly methodName: string;

  constructor(
    private readonly handle: Pick<CachedMethodHandle, 'className' | 'methodName'>,
    private readonly arity: number | undefined,
    private readonly capabilitiesOf: (cacheName: string | undefined) => CacheCapabilities,
  ) {
    this.className = handle.className;
    this.methodName = handle.methodName;
  }

  store(
    operation: Extract<CacheOperation, { decorator: 'Cacheable' | 'CachePut' }>,
  ): CompiledStore {
    const { decorator } = operation;
    const options = this.checkOptionNames(decorator, operation.options);
    const cacheName = operationCacheName(this.handle, operation);
    const capabilities = this.capabilitiesOf(cacheName);
    const namespace = this.namespace(decorator, options.namespace);
    const resultAvailable =
      decorator === 'CachePut'
        ? undefined
        : 'is not known before a @Cacheable method runs (use it in @CachePut or @CacheEvict)';
    const key = this.key(decorator, options.key, namespace, resultAvailable);
    const tags = this.tags(decorator, options.tags, capabilities);
    if (namespace !== undefined && capabilities.tags) {
      tags.static = [...(tags.static ?? []), namespaceTag(namespace)];
    }
    return {
      decorator,
      cacheName,
      key,
      ttlMs: this.ttl(decorator, options.ttl),
      staticTags: tags.static,
      tags: tags.dynamic,
      condition: this.fn(decorator, 'condition', options.condition) as Predicate | undefined,
      unless: this.fn(decorator, 'unless', options.unless) as ResultPredicate | undefined,
      // CachePut refuses these names in checkOptionNames, so they are undefined there.
      ...this.window(
        decorator,
        'staleWhileRevalidate',
        (options as CacheableOptions).staleWhileRevalidate,
      ),
      ...this.window(decorator, 'grace', (options as CacheableOptions).grace),
      ...this.window(decorator, 'timeout', (options as CacheableOptions).timeout),
    };
  }

  /** A stale-serving option as milliseconds, or nothing when absent. */
  private window(
    decorator: CacheDecoratorName,
    name: 'staleWhileRevalidate' | 'grace' | 'timeout',
    value: unknown,
  ): Partial<Record<typeof name, number>> {
    if (value === undefined) return {};
    return {
      [name]: this.duration(decorator, name, value, "milliseconds or a duration like '30s'"),
    };
  }

  /** `value` parsed as a duration; a decorator error naming the option when it is not one. */
  private duration(
    decorator: CacheDecoratorName,
    name: string,
    value: unknown,
    expected: string,
  ): number {
    try {
      return parseDuration(value, name);
    } catch (error: unknown) {
      throw new CacheDecoratorError(
        this.className,
        this.methodName,
        cacheMessages.badOption(this.className, this.methodName, decorator, name, expected, value),
        { cause: error },
      );
    }
  }

  evict(operation: Extract<CacheOperation, { decorator: 'CacheEvict' }>): CompiledEvict {
    const decorator = 'CacheEvict';
    const options = this.checkOptionNames(decorator, operation.options);
    const cacheName = operationCacheName(this.handle, operation);
    const capabilities = this.capabilitiesOf(cacheName);
    const beforeInvocation = this.flag(decorator, 'beforeInvocation', options.beforeInvocation);
    const allEntries = this.flag(decorator, 'allEntries', options.allEntries);
    const namespace = this.namespace(decorator, options.namespace);
    const { className, methodName } = this;
    if (options.key === undefined && options.tags === undefined && !allEntries) {
      throw new CacheDecoratorError(
        className,
        methodName,
        cacheMessages.evictWithoutTarget(className, methodName),
      );
    }
    if (allEntries && options.key !== undefined) {
      throw new CacheDecoratorError(
        className,
        methodName,
        cacheMessages.evictAllEntriesWithKey(className, methodName),
      );
    }
    const key =
      options.key === undefined
        ? undefined
        : this.key(
            decorator,
            options.key,
            namespace,
            beforeInvocation
              ? 'is not known before the method runs (beforeInvocation: true)'
              : undefined,
          );
    const tags = this.tags(decorator, options.tags, capabilities);
    let all: CompiledEvict['allEntries'];
    if (allEntries && namespace !== undefined) {
      if (!capabilities.tags) {
        throw new CacheDecoratorError(
          className,
          methodName,
          cacheMessages.tagsUnsupported(className, methodName, decorator, 'allEntries'),
        );
      }
      all = { tag: namespaceTag(namespace) };
    } else if (allEntries) {
      if (!capabilities.clear) {
        throw new CacheDecoratorError(
          className,
          methodName,
          cacheMessages.clearUnsupported(className, methodName),
        );
      }
      all = 'clear';
    }
    const staticTags = tags.static;
    return {
      decorator,
      cacheName,
      key,
      tags: staticTags ? () => staticTags : tags.dynamic,
      allEntries: all,
      beforeInvocation,
      condition: this.fn(decorator, 'condition', options.condition) as Predicate | undefined,
    };
  }

  private checkOptionNames<T extends object>(
    decorator: CacheDecoratorName,
    options: T | undefined,
  ): Partial<T> {
    if (options === undefined || options === null) return {};
    if (typeof options !== 'object' || Array.isArray(options)) {
      throw this.error(
        cacheMessages.badOption(
          this.className,
          this.methodName,
          decorator,
          '(options)',
          'an object',
          options,
        ),
      );
    }
    for (const name of Object.keys(options)) {
      if (!ALLOWED_OPTIONS[decorator].has(name)) {
        throw this.error(
          cacheMessages.unknownOption(this.className, this.methodName, decorator, name),
        );
      }
    }
    return options;
  }

  private namespace(decorator: CacheDecoratorName, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0) {
      throw this.error(
        cacheMessages.badOption(
          this.className,
          this.methodName,
          decorator,
          'namespace',
          'a non-empty string',
          value,
        ),
      );
    }
    return value;
  }

  private ttl(decorator: CacheDecoratorName, value: unknown): number | undefined {
    if (value === undefined) return undefined;
    const ms = this.duration(decorator, 'ttl', value, "milliseconds >= 1 or a duration like '30s'");
    if (ms < 1) {
      throw this.error(
        cacheMessages.badOption(
          this.className,
          this.methodName,
          decorator,
          'ttl',
          'at least 1 ms',
          value,
        ),
      );
    }
    return ms;
  }

  private flag(decorator: CacheDecoratorName, option: string, value: unknown): boolean {
    if (value === undefined) return false;
    if (typeof value !== 'boolean') {
      throw this.error(
        cacheMessages.badOption(
          this.className,
          this.methodName,
          decorator,
          option,
          'a boolean',
          value,
        ),
      );
    }
    return value;
  }

  private fn(
    decorator: CacheDecoratorName,
    option: string,
    value: unknown,
  ): ((...args: never[]) => unknown) | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'function') {
      throw this.error(
        cacheMessages.badOption(
          this.className,
          this.methodName,
          decorator,
          option,
          'a function',
          value,
        ),
      );
    }
    return value as (...args: never[]) => unknown;
  }

  /**
   * @param resultUnavailable why `{result}` cannot be used here, or undefined where it can
   */
  private key(
    decorator: CacheDecoratorName,
    value: unknown,
    namespace: string | undefined,
    resultUnavailable: string | undefined,
  ): KeyBuilder {
    const { className, methodName, arity } = this;
    const prefix = namespace === undefined ? '' : `${namespace}:`;
    const unhashable = (error: unknown): never => {
      if (error instanceof UnhashableValueError) {
        throw new CacheDecoratorError(
          className,
          methodName,
          cacheMessages.unhashableArgument(className, methodName, decorator, error.message),
          { cause: error },
        );
      }
      throw error;
    };
    if (value === undefined) {
      const base = `${prefix}${className}.${methodName}:`;
      return (args) => {
        try {
          return base + hashArguments(args);
        } catch (error: unknown) {
          return unhashable(error);
        }
      };
    }
    if (typeof value === 'string') {
      let template;
      try {
        template = parseKeyTemplate(value);
      } catch (error: unknown) {
        if (error instanceof KeyTemplateSyntaxError) {
          throw new CacheDecoratorError(
            className,
            methodName,
            cacheMessages.badTemplate(className, methodName, decorator, error.message),
            {
              cause: error,
            },
          );
        }
        throw error;
      }
      if (arity !== undefined && template.maxArgumentIndex >= arity) {
        throw this.error(
          cacheMessages.missingArgument(
            className,
            methodName,
            decorator,
            value,
            template.maxArgumentIndex,
            arity,
          ),
        );
      }
      if (template.usesResult && resultUnavailable !== undefined) {
        throw this.error(
          cacheMessages.resultUnavailable(
            className,
            methodName,
            decorator,
            value,
            resultUnavailable,
          ),
        );
      }
      return (args, result) => {
        try {
          return prefix + template.render(args, result);
        } catch (error: unknown) {
          return unhashable(error);
        }
      };
    }
    if (typeof value === 'function') {
      const keyFn = value as (...args: unknown[]) => unknown;
      const takesResult = resultUnavailable === undefined;
      return (args, result) => {
        const key = takesResult ? keyFn(...withResult(args, arity, result)) : keyFn(...args);
        if (typeof key !== 'string' || key.length === 0) {
          throw new CacheKeyError(
            key,
            cacheMessages.keyNotString(className, methodName, decorator, key),
          );
        }
        return prefix + key;
      };
    }
    throw this.error(
      cacheMessages.badOption(
        className,
        methodName,
        decorator,
        'key',
        'a template string or a function',
        value,
      ),
    );
  }

  private tags(
    decorator: CacheDecoratorName,
    value: unknown,
    capabilities: CacheCapabilities,
  ): { static?: readonly string[]; dynamic?: TagsBuilder } {
    if (value === undefined) return {};
    const { className, methodName, arity } = this;
    if (!capabilities.tags) {
      throw this.error(cacheMessages.tagsUnsupported(className, methodName, decorator, 'tags'));
    }
    if (Array.isArray(value)) {
      return { static: checkTags(value, className, methodName, decorator, true) };
    }
    if (typeof value === 'function') {
      const tagsFn = value as (...args: unknown[]) => unknown;
      return {
        dynamic: (args, result) =>
          checkTags(
            tagsFn(...withResult(args, arity, result)),
            className,
            methodName,
            decorator,
            false,
          ),
      };
    }
    throw this.error(
      cacheMessages.badOption(
        className,
        methodName,
        decorator,
        'tags',
        'an array of strings or a function',
        value,
      ),
    );
  }

  private error(message: string): CacheDecoratorError {
    return new CacheDecoratorError(this.className, this.methodName, message);
  }
}

function checkTags(
  tags: unknown,
  className: string,
  methodName: string,
  decorator: CacheDecoratorName,
  atStartup: boolean,
): readonly string[] {
  if (Array.isArray(tags) && tags.every((tag) => typeof tag === 'string' && tag.length > 0)) {
    return tags as string[];
  }
  const message = cacheMessages.tagsNotStrings(className, methodName, decorator, tags);
  throw atStartup
    ? new CacheDecoratorError(className, methodName, message)
    : new CacheKeyError(tags, message);
}
