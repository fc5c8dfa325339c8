/**
 * The errors users act on. Each has a stable `code` (match on it rather than on the message), keeps
 * the original error as `cause`, and never carries a password. L2 failures are in l2.errors.ts.
 */

/** Base class of every error this library throws. Catch `CacheError` to handle all of them. */
export class CacheError extends Error {
  /** Stable identifier of the kind of error, e.g. `CACHE_OPTIONS`. */
  readonly code: string = 'CACHE_ERROR';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A module option is missing, of the wrong type or out of range. Thrown at start-up (when the
 * module's providers are created), never at request time.
 */
export class CacheOptionsError extends CacheError {
  override readonly code: string = 'CACHE_OPTIONS';

  constructor(
    /** Dotted path of the option, e.g. `writeBehind.maxBatchSize`. */
    readonly option: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An integration (metrics, health) was registered in an application that has no
 * `DistributedCacheModule` (or none registered under the `cache` name it was given). Thrown at
 * start-up. `option` is `cache`.
 */
export class CacheModuleMissingError extends CacheOptionsError {
  override readonly code = 'CACHE_MODULE_MISSING';
  /** The `cache` option of the integration; `undefined` for the default cache. */
  readonly cacheName: string | undefined;

  constructor(
    /** The integration that needs the cache, e.g. `DistributedCacheHealthModule`. */
    readonly feature: string,
    options?: { cause?: unknown; cacheName?: string },
  ) {
    const cacheName = options?.cacheName;
    super(
      'cache',
      cacheName === undefined
        ? `${feature} found no DistributedCacheModule in this application: import ` +
            `DistributedCacheModule.forRoot(...) (or forRootAsync) in the same application`
        : `${feature} found no cache named '${cacheName}' in this application: import ` +
            `DistributedCacheModule.forRoot({ name: '${cacheName}', ... }) in the same application, ` +
            `or fix the 'cache' option`,
      options,
    );
    this.cacheName = cacheName;
  }
}

/**
 * An optional integration was used but the package it needs is not installed (prom-client for
 * the Prometheus exporter). The core module never needs it. Thrown at start-up, when the
 * integration's module initialises.
 */
export class CacheOptionalDependencyError extends CacheOptionsError {
  override readonly code = 'CACHE_OPTIONAL_DEPENDENCY';

  constructor(
    /** The missing package, e.g. `prom-client`. */
    readonly packageName: string,
    /** What needs it, e.g. `DistributedCacheMetricsModule`. */
    readonly feature: string,
    /** `instead`: the other way out, e.g. `or set tracing: false`. */
    options?: { cause?: unknown; instead?: string },
  ) {
    super(
      feature,
      `${feature} needs the optional peer dependency '${packageName}', which could not be loaded: ` +
        `install it with 'npm install ${packageName}' ` +
        `(${options?.instead ?? `or remove ${feature} from your imports`})`,
      options,
    );
  }
}

/** A cache key is not a non-empty string (or breaks a key rule). */
export class CacheKeyError extends CacheError {
  override readonly code = 'CACHE_KEY';

  constructor(
    readonly key: unknown,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A value could not be encoded for L2 (a circular reference, a function, a symbol, a class
 * instance): `set()` rejected and nothing was stored.
 */
export class CacheSerializationError extends CacheError {
  override readonly code = 'CACHE_SERIALIZATION';

  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A value is larger than `maxValueBytes` once encoded: `set()` rejected and nothing was stored. */
export class CacheValueTooLargeError extends CacheError {
  override readonly code = 'CACHE_VALUE_TOO_LARGE';

  constructor(
    readonly key: string,
    readonly bytes: number,
    readonly maxValueBytes: number,
  ) {
    super(
      `Value of "${key}" is ${bytes} bytes serialized; maxValueBytes is ${maxValueBytes}: not stored`,
    );
  }
}

/**
 * The write-behind queue holds `writeBehind.maxPending` writes and `overflow` is `'reject'`: the
 * write was refused and neither L1 nor L2 changed.
 */
export class CacheOverflowError extends CacheError {
  override readonly code = 'CACHE_OVERFLOW';

  constructor(
    readonly key: string,
    readonly maxPending: number,
  ) {
    super(
      `Write-behind queue is full (${maxPending} pending writes, writeBehind.overflow = 'reject'): ` +
        `set of key "${key}" was rejected. L2 is probably down or too slow; raise ` +
        `writeBehind.maxPending or use overflow: 'drop-oldest'.`,
    );
  }
}

/** `flush()` gave up: writes were still pending in the write-behind queue after its timeout. */
export class CacheFlushTimeoutError extends CacheError {
  override readonly code = 'CACHE_FLUSH_TIMEOUT';

  constructor(
    readonly pending: number,
    readonly timeoutMs: number,
  ) {
    super(
      `flush() timed out after ${timeoutMs} ms with ${pending} write(s) still pending ` +
        `(L2 unreachable or slow; they stay queued and are retried)`,
    );
  }
}

/** Where a decorator problem is: the class, and the method and decorator when there is one. */
export interface DecoratorSite {
  readonly className: string;
  readonly methodName?: string;
  readonly decorator?: string;
}

/** `@Cacheable on Products.find`, `Products.find`, or `Products`. */
export function describeSite(site: DecoratorSite): string {
  const target =
    site.methodName === undefined ? site.className : `${site.className}.${site.methodName}`;
  return site.decorator === undefined ? target : `@${site.decorator} on ${target}`;
}

/**
 * A `@Cacheable`, `@CacheEvict` or `@CachePut` cannot work as written: a bad option, a key
 * template naming a missing argument, a method that returns neither a Promise nor an Observable.
 * Thrown at application start-up (or, where only a call can tell, by that call), never silently
 * ignored. The message starts with where: `@Decorator on Class.method: ...`.
 */
export class CacheDecoratorError extends CacheError {
  override readonly code: string = 'CACHE_DECORATOR';
  /** Name of the class that owns the decorated method. */
  readonly className: string;
  /** Name of the decorated method (none for a problem with the whole class). */
  readonly methodName: string | undefined;

  constructor(site: DecoratorSite, problem: string, options?: { cause?: unknown }) {
    super(`${describeSite(site)}: ${problem}`, options);
    this.className = site.className;
    this.methodName = site.methodName;
  }
}

/**
 * A class with cache-decorated methods cannot be bound to a `CacheService` through DI: its module
 * cannot inject one, or one instance (or one request-scoped class) is claimed by two running
 * applications. Thrown at application start-up; the message names the class and what to change.
 */
export class CacheBindingError extends CacheDecoratorError {
  override readonly code = 'CACHE_BINDING';

  constructor(site: DecoratorSite, problem: string) {
    super(site, problem);
  }
}

/**
 * An L2 payload could not be decoded (corrupt, truncated, or written by another serializer): it
 * reads as a miss and is reported as an `error` event, never thrown to a caller.
 */
export class CacheCorruptEntryError extends CacheError {
  override readonly code = 'CACHE_CORRUPT_ENTRY';

  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
