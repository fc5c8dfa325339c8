/**
 * User-facing text of errors and log lines, in one place so wording stays consistent and tests
 * can match it. Every message about a decorated method starts with `@Decorator on Class.method:`.
 */

function where(className: string, methodName: string, decorator?: string): string {
  return `${decorator ? `@${decorator} on ` : ''}${className}.${methodName}`;
}

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
export function cacheLabel(name: string | undefined): string {
  return name === undefined ? 'the default cache' : `cache '${name}'`;
}

/** Message factories. */
export const cacheMessages = {
  staticMethod: (className: string, methodName: string, decorator: string): string =>
    `${where(className, methodName, decorator)}: cache decorators work on instance methods only; ` +
    `a static method has no instance for the application to bind to its CacheService`,

  notAMethod: (className: string, methodName: string, decorator: string): string =>
    `${where(className, methodName, decorator)}: cache decorators apply to methods with a string ` +
    `name, not to accessors, fields or symbol-named methods`,

  unboundCall: (className: string, methodName: string): string =>
    `${where(className, methodName)} was called on an instance that no application bound to a ` +
    `CacheService (created with new, or its application is closed): it runs uncached. ` +
    `This is logged once per method.`,

  returnType: (className: string, methodName: string, found: string): string =>
    `${where(className, methodName)} is cache-decorated but returns ${found}; a cached method ` +
    `must return a Promise or an Observable (make it async, or return an Observable)`,

  declaredReturnType: (name: string): string => `${name} (its declared return type)`,

  plainValue: (value: unknown): string => `${describeValue(value)} (not a Promise or Observable)`,

  unknownOption: (
    className: string,
    methodName: string,
    decorator: string,
    option: string,
  ): string => `${where(className, methodName, decorator)}: unknown option '${option}'`,

  badOption: (
    className: string,
    methodName: string,
    decorator: string,
    option: string,
    expected: string,
    got: unknown,
  ): string =>
    `${where(className, methodName, decorator)}: option '${option}' must be ${expected}, got ${describeValue(got)}`,

  badTemplate: (className: string, methodName: string, decorator: string, reason: string): string =>
    `${where(className, methodName, decorator)}: ${reason}`,

  missingArgument: (
    className: string,
    methodName: string,
    decorator: string,
    template: string,
    index: number,
    declared: number,
  ): string =>
    `${where(className, methodName, decorator)}: key template '${template}' names argument {${index}} ` +
    `but the method declares ${declared} parameter${declared === 1 ? '' : 's'} ` +
    `(placeholders count from {0})`,

  resultUnavailable: (
    className: string,
    methodName: string,
    decorator: string,
    template: string,
    why: string,
  ): string =>
    `${where(className, methodName, decorator)}: key template '${template}' names {result}, ` +
    `which ${why}`,

  evictWithoutTarget: (className: string, methodName: string): string =>
    `${where(className, methodName, 'CacheEvict')}: give key, tags or allEntries: true`,

  evictAllEntriesWithKey: (className: string, methodName: string): string =>
    `${where(className, methodName, 'CacheEvict')}: allEntries: true evicts every entry; ` +
    `remove key (or drop allEntries)`,

  duplicateDecorator: (className: string, methodName: string, decorator: string): string =>
    `${where(className, methodName, decorator)}: applied twice; one method takes one @${decorator}`,

  cacheableWithPut: (className: string, methodName: string): string =>
    `${where(className, methodName)}: @Cacheable and @CachePut cannot decorate the same method ` +
    `(one skips the method on a hit, the other always runs it); use two methods`,

  tagsUnsupported: (
    className: string,
    methodName: string,
    decorator: string,
    option: string,
  ): string =>
    `${where(className, methodName, decorator)}: '${option}' needs tag support, which this ` +
    `CacheService does not have (no invalidateTags()); remove '${option}' or upgrade`,

  clearUnsupported: (className: string, methodName: string): string =>
    `${where(className, methodName, 'CacheEvict')}: allEntries: true without a namespace needs ` +
    `CacheService.clear(), which this CacheService does not have; remove allEntries or upgrade`,

  keyNotString: (className: string, methodName: string, decorator: string, got: unknown): string =>
    `${where(className, methodName, decorator)}: the key function returned ${describeValue(got)}; ` +
    `a key must be a non-empty string`,

  tagsNotStrings: (
    className: string,
    methodName: string,
    decorator: string,
    got: unknown,
  ): string =>
    `${where(className, methodName, decorator)}: tags must be an array of non-empty strings, ` +
    `got ${describeValue(got)}`,

  unhashableArgument: (
    className: string,
    methodName: string,
    decorator: string,
    reason: string,
  ): string =>
    `${where(className, methodName, decorator)}: cannot build a key: ${reason}. ` +
    `Give the decorator a key template or key function`,

  noCacheService: (className: string, moduleName: string): string =>
    `${className} has cache-decorated methods but its module ${moduleName} cannot inject ` +
    `CacheService: import DistributedCacheModule.forRoot(...) into ${moduleName}, or register it ` +
    `with isGlobal: true`,

  instanceClaimedTwice: (className: string): string =>
    `An instance of ${className} is provided to two running applications, each with its own ` +
    `CacheService; a cached method can only use one. Give each application its own instance ` +
    `(not one object in useValue)`,

  scopedClassClaimedTwice: (className: string, scope: string): string =>
    `${className} is ${scope} and has cache-decorated methods, and two running applications ` +
    `(each with its own CacheService) provide it. Its per-request instances are bound by class, ` +
    `so only one application at a time can: close the other application first, or make ` +
    `${className} a singleton`,

  cacheCallFailed: (
    className: string,
    methodName: string,
    decorator: string,
    operation: string,
    error: unknown,
  ): string =>
    `${where(className, methodName, decorator)}: ${operation} failed and was skipped ` +
    `(the method's result is returned anyway): ${error instanceof Error ? error.message : String(error)}`,

  nameFromFactory: (registered: string | undefined, got: unknown): string =>
    `The options of ${cacheLabel(registered)} name ${typeof got === 'string' ? `'${got}'` : describeValue(got)}: ` +
    `give name beside useFactory/useClass/useExisting (forRootAsync({ name, useFactory })), ` +
    `not in the options the factory returns; the factory runs after the cache's tokens are chosen`,

  duplicateName: (name: string, registrations: number): string =>
    `DistributedCacheModule.forRoot({ name: '${name}' }) is registered ${registrations} times in ` +
    `this application; a cache name may be registered once. Register it once (with isGlobal: true, ` +
    `or in a module that exports it) and import that module wherever the cache is needed`,

  unknownCache: (
    className: string,
    methodName: string,
    decorator: string,
    name: string,
    registered: readonly string[],
  ): string =>
    `${where(className, methodName, decorator)}: option 'cache' names '${name}', but no ` +
    `DistributedCacheModule.forRoot({ name: '${name}' }) is registered in this application ` +
    `(registered: ${registered.length > 0 ? registered.join(', ') : 'none'})`,

  cacheNotVisible: (
    className: string,
    methodName: string,
    decorator: string,
    name: string,
    moduleName: string,
  ): string =>
    `${where(className, methodName, decorator)}: cache '${name}' is registered, but module ` +
    `${moduleName} cannot inject it: import the module that registers ` +
    `DistributedCacheModule.forRoot({ name: '${name}' }) into ${moduleName}, or register it with ` +
    `isGlobal: true`,

  bound: (methods: number, instances: number, lateBound: number): string =>
    `Bound ${methods} cache-decorated method(s) on ${instances} instance(s)` +
    (lateBound > 0
      ? `; ${lateBound} request-scoped/transient class(es) bind per instance on first call`
      : ''),
} as const;
