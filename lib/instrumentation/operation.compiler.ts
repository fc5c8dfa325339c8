import type { CacheableOptions } from '../decorators/cache-decorator-options.interface.js';
import type {
  CacheDecoratorName,
  CachedMethodHandle,
  CacheOperation,
} from '../decorators/cached-method.handle.js';
import { CacheDecoratorError } from '../errors/cache.errors.js';
import { cacheMessages } from '../cache.messages.js';
import { parseDuration } from '../options/duration.js';
import { compileKey, compileTags, type DecoratorSite } from './call-key.compiler.js';
import type {
  CacheCapabilities,
  CompiledEvict,
  CompiledStore,
  Predicate,
  ResultPredicate,
} from './cached-method.plan.js';

/*
 * One decorator's options, checked and compiled: names, durations, flags, functions, the key
 * template and tags. cached-method.compiler.ts puts a method's operations together.
 */

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
    'lock',
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
      { className, methodName, decorator: operation.decorator },
      cacheMessages.badOption(
        'cache',
        'the name of a registered cache (a non-empty string)',
        value,
      ),
    );
  }
  return value;
}

/** Compiles the operations of one method; holds what every message needs. Internal. */
export class OperationCompiler {
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
    const key = compileKey(this.site(decorator), options.key, namespace, resultAvailable);
    const tags = compileTags(this.site(decorator), options.tags, capabilities);
    const staticTags =
      namespace !== undefined && capabilities.tags
        ? [...(tags.static ?? []), namespaceTag(namespace)]
        : tags.static;
    return {
      decorator,
      cacheName,
      key,
      ttlMs: this.ttl(decorator, options.ttl),
      staticTags,
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
      ...this.lock(decorator, (options as CacheableOptions).lock),
    };
  }

  /** `lock`: nothing when absent or `false`; `true`, or `{ waitMs }` in milliseconds. */
  private lock(
    decorator: CacheDecoratorName,
    value: unknown,
  ): { lock?: true | { readonly waitMs: number } } {
    if (value === undefined || value === false) return {};
    if (value === true) return { lock: true };
    const expected = "true, false or { waitMs } (milliseconds or a duration like '2s')";
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.error(decorator, cacheMessages.badOption('lock', expected, value));
    }
    const names = Object.keys(value);
    const unknown = names.find((name) => name !== 'waitMs');
    if (unknown !== undefined)
      throw this.error(decorator, cacheMessages.unknownOption(`lock.${unknown}`));
    const { waitMs } = value as { waitMs?: unknown };
    if (waitMs === undefined) return { lock: true };
    return { lock: { waitMs: this.duration(decorator, 'lock.waitMs', waitMs, expected) } };
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
        this.site(decorator),
        cacheMessages.badOption(name, expected, value),
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
    if (options.key === undefined && options.tags === undefined && !allEntries) {
      throw new CacheDecoratorError(this.site(decorator), cacheMessages.evictWithoutTarget());
    }
    if (allEntries && options.key !== undefined) {
      throw new CacheDecoratorError(this.site(decorator), cacheMessages.evictAllEntriesWithKey());
    }
    const key =
      options.key === undefined
        ? undefined
        : compileKey(
            this.site(decorator),
            options.key,
            namespace,
            beforeInvocation
              ? 'is not known before the method runs (beforeInvocation: true)'
              : undefined,
          );
    const tags = compileTags(this.site(decorator), options.tags, capabilities);
    let all: CompiledEvict['allEntries'];
    if (allEntries && namespace !== undefined) {
      if (!capabilities.tags) {
        throw new CacheDecoratorError(
          this.site(decorator),
          cacheMessages.tagsUnsupported('allEntries'),
        );
      }
      all = { tag: namespaceTag(namespace) };
    } else if (allEntries) {
      if (!capabilities.clear) {
        throw new CacheDecoratorError(this.site(decorator), cacheMessages.clearUnsupported());
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
      throw this.error(decorator, cacheMessages.badOption('(options)', 'an object', options));
    }
    for (const name of Object.keys(options)) {
      if (!ALLOWED_OPTIONS[decorator].has(name)) {
        throw this.error(decorator, cacheMessages.unknownOption(name));
      }
    }
    return options;
  }

  private namespace(decorator: CacheDecoratorName, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0) {
      throw this.error(
        decorator,
        cacheMessages.badOption('namespace', 'a non-empty string', value),
      );
    }
    return value;
  }

  private ttl(decorator: CacheDecoratorName, value: unknown): number | undefined {
    if (value === undefined) return undefined;
    const ms = this.duration(decorator, 'ttl', value, "milliseconds >= 1 or a duration like '30s'");
    if (ms < 1) {
      throw this.error(decorator, cacheMessages.badOption('ttl', 'at least 1 ms', value));
    }
    return ms;
  }

  private flag(decorator: CacheDecoratorName, option: string, value: unknown): boolean {
    if (value === undefined) return false;
    if (typeof value !== 'boolean') {
      throw this.error(decorator, cacheMessages.badOption(option, 'a boolean', value));
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
      throw this.error(decorator, cacheMessages.badOption(option, 'a function', value));
    }
    return value as (...args: never[]) => unknown;
  }

  private site(decorator: CacheDecoratorName): DecoratorSite {
    return { className: this.className, methodName: this.methodName, decorator, arity: this.arity };
  }

  private error(decorator: CacheDecoratorName, problem: string): CacheDecoratorError {
    return new CacheDecoratorError(this.site(decorator), problem);
  }
}
