import { describeSite, type DecoratorSite } from './errors/cache.errors.js';

/**
 * User-facing text of errors and log lines, in one place so wording stays consistent and tests
 * can match it. The problems of a decorated method are worded without saying where:
 * `CacheDecoratorError` puts `@Decorator on Class.method:` in front from its fields.
 */

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  if (typeof value === 'string') return `the string '${value}'`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'undefined') return 'undefined';
  return `${typeof value} ${(value as number | boolean | bigint).toString()}`;
}

/** `cache 'sessions'`, or `the default cache` for the unnamed one. */
function cacheLabel(name: string | undefined): string {
  return name === undefined ? 'the default cache' : `cache '${name}'`;
}

/** Message factories. */
export const cacheMessages = {
  staticMethod: (): string =>
    `cache decorators work on instance methods only; ` +
    `a static method has no instance for the application to bind to its CacheService`,

  notAMethod: (): string =>
    `cache decorators apply to methods with a string ` +
    `name, not to accessors, fields or symbol-named methods`,

  unboundCall: (site: DecoratorSite): string =>
    `${describeSite(site)} was called on an instance that no application bound to a ` +
    `CacheService (created with new, or its application is closed): it runs uncached. ` +
    `This is logged once per method.`,

  returnType: (found: string): string =>
    `cache-decorated but returns ${found}; a cached method ` +
    `must return a Promise or an Observable (make it async, or return an Observable)`,

  declaredReturnType: (name: string): string => `${name} (its declared return type)`,

  plainValue: (value: unknown): string => `${describeValue(value)} (not a Promise or Observable)`,

  unknownOption: (option: string): string => `unknown option '${option}'`,

  badOption: (option: string, expected: string, got: unknown): string =>
    `option '${option}' must be ${expected}, got ${describeValue(got)}`,

  badTemplate: (reason: string): string => reason,

  missingArgument: (template: string, index: number, declared: number): string =>
    `key template '${template}' names argument {${index}} ` +
    `but the method declares ${declared} parameter${declared === 1 ? '' : 's'} ` +
    `(placeholders count from {0})`,

  resultUnavailable: (template: string, why: string): string =>
    `key template '${template}' names {result}, ` + `which ${why}`,

  evictWithoutTarget: (): string => `give key, tags or allEntries: true`,

  evictAllEntriesWithKey: (): string =>
    `allEntries: true evicts every entry; ` + `remove key (or drop allEntries)`,

  duplicateDecorator: (decorator: string): string =>
    `applied twice; one method takes one @${decorator}`,

  cacheableWithPut: (): string =>
    `@Cacheable and @CachePut cannot decorate the same method ` +
    `(one skips the method on a hit, the other always runs it); use two methods`,

  tagsUnsupported: (option: string): string =>
    `'${option}' needs tag support, which this ` +
    `CacheService does not have (no invalidateTags()); remove '${option}' or upgrade`,

  clearUnsupported: (): string =>
    `allEntries: true without a namespace needs ` +
    `CacheService.clear(), which this CacheService does not have; remove allEntries or upgrade`,

  keyNotString: (site: DecoratorSite, got: unknown): string =>
    `${describeSite(site)}: the key function returned ${describeValue(got)}; ` +
    `a key must be a non-empty string`,

  tagsNotStrings: (got: unknown): string =>
    `tags must be an array of non-empty strings, ` + `got ${describeValue(got)}`,

  unhashableArgument: (reason: string): string =>
    `cannot build a key: ${reason}. ` + `Give the decorator a key template or key function`,

  noCacheService: (moduleName: string): string =>
    `its module ${moduleName} cannot inject CacheService, which its cache-decorated methods ` +
    `need: import DistributedCacheModule.forRoot(...) into ${moduleName}, or register it ` +
    `with isGlobal: true`,

  instanceClaimedTwice: (): string =>
    `an instance of it is provided to two running applications, each with its own ` +
    `CacheService; a cached method can only use one. Give each application its own instance ` +
    `(not one object in useValue)`,

  scopedClassClaimedTwice: (className: string, scope: string): string =>
    `it is ${scope} and has cache-decorated methods, and two running applications ` +
    `(each with its own CacheService) provide it. Its per-request instances are bound by class, ` +
    `so only one application at a time can: close the other application first, or make ` +
    `${className} a singleton`,

  cacheCallFailed: (site: DecoratorSite, operation: string, error: unknown): string =>
    `${describeSite(site)}: ${operation} failed and was skipped ` +
    `(the method's result is returned anyway): ${error instanceof Error ? error.message : String(error)}`,

  nameFromFactory: (registered: string | undefined, got: unknown): string =>
    `The options of ${cacheLabel(registered)} name ${typeof got === 'string' ? `'${got}'` : describeValue(got)}: ` +
    `give name beside useFactory/useClass/useExisting (forRootAsync({ name, useFactory })), ` +
    `not in the options the factory returns; the factory runs after the cache's tokens are chosen`,

  duplicateName: (name: string, registrations: number): string =>
    `DistributedCacheModule.forRoot({ name: '${name}' }) is registered ${registrations} times in ` +
    `this application; a cache name may be registered once. Register it once (with isGlobal: true, ` +
    `or in a module that exports it) and import that module wherever the cache is needed`,

  unknownCache: (name: string, registered: readonly string[]): string =>
    `option 'cache' names '${name}', but no ` +
    `DistributedCacheModule.forRoot({ name: '${name}' }) is registered in this application ` +
    `(registered: ${registered.length > 0 ? registered.join(', ') : 'none'})`,

  cacheNotVisible: (name: string, moduleName: string): string =>
    `cache '${name}' is registered, but module ` +
    `${moduleName} cannot inject it: import the module that registers ` +
    `DistributedCacheModule.forRoot({ name: '${name}' }) into ${moduleName}, or register it with ` +
    `isGlobal: true`,

  bound: (methods: number, instances: number, lateBound: number): string =>
    `Bound ${methods} cache-decorated method(s) on ${instances} instance(s)` +
    (lateBound > 0
      ? `; ${lateBound} request-scoped/transient class(es) bind per instance on first call`
      : ''),
} as const;
