import type { Logger } from '@nestjs/common';
import {
  concat,
  concatMap,
  defer,
  EMPTY,
  from,
  ignoreElements,
  isObservable,
  type Observable,
  tap,
} from 'rxjs';
import { cacheMessages } from '../cache.messages.js';
import type { CacheService } from '../cache.service.js';
import type { CacheBindingOwner, CachedMethodBinding } from '../decorators/cached-method.handle.js';
import { CacheDecoratorError } from '../errors/cache.errors.js';
import type { CompiledStore, MethodPlan } from './cached-method.plan.js';
import {
  type BindableCache,
  type BoundCaches,
  CachedMethodSteps,
  type MethodInvoker,
} from './cached-method.steps.js';

function noop(): void {}

/** A rejected promise of exactly what the caller's code threw (which may not be an Error). */
function rejected(error: unknown): Promise<never> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed through unchanged
  return Promise.reject(error);
}

/**
 * Binds one decorated method to one instance and its caches: the function the trampoline calls
 * for that instance.
 *
 * @param plan the validated decorators of the method (shared by every instance of the class)
 * @param instance the `this` of the original method
 * @param caches the caches the decorators use: one `CacheService`, or one per cache name
 * @param owner the explorer that made the binding
 */
export function createCachedMethodBinding(
  plan: MethodPlan,
  instance: object,
  caches: CacheService | BoundCaches,
  owner: CacheBindingOwner,
  logger: Logger,
): CachedMethodBinding {
  const runner = new CachedMethodRunner(plan, instance, caches, logger);
  return { owner, run: (args) => runner.run(args) };
}

/**
 * Runs a decorated method with its decorators' behaviour, for a Promise or an Observable method.
 *
 * Order of a call: evictions with `beforeInvocation`; then `@Cacheable` (a hit skips the method)
 * or the method itself; then `@CachePut`; then the other evictions, only if the call succeeded.
 * An Observable method does the same when subscribed: a `@Cacheable` miss collects the emissions
 * until completion (to store and share them), other decorators let emissions through as they come.
 */
class CachedMethodRunner implements MethodInvoker {
  /** Only `@Cacheable`, nothing else: the hot path, without the general machinery. */
  private readonly cacheableOnly: boolean;
  private readonly steps: CachedMethodSteps;

  constructor(
    private readonly plan: MethodPlan,
    private readonly instance: object,
    caches: BindableCache | BoundCaches,
    logger: Logger,
  ) {
    this.steps = new CachedMethodSteps(plan, this, caches, logger);
    this.cacheableOnly =
      plan.cacheable !== undefined &&
      plan.puts.length === 0 &&
      plan.evictsBefore.length === 0 &&
      plan.evictsAfter.length === 0;
  }

  run(args: unknown[]): unknown {
    switch (this.plan.kind) {
      case 'promise':
        return this.cacheableOnly ? this.cacheablePromise(args) : this.runPromise(args);
      case 'observable':
        return this.runObservable(args);
      default:
        return this.learnKind(args);
    }
  }

  // --- Promise methods -------------------------------------------------------------------------

  /** `@Cacheable` alone on a Promise method. Returns a Promise, never throws synchronously. */
  private cacheablePromise(args: unknown[]): Promise<unknown> {
    const c = this.plan.cacheable as CompiledStore;
    try {
      if (c.condition && !c.condition(...args)) return Promise.resolve(this.invoke(args));
      return this.steps.readThrough(c, args, false);
    } catch (error: unknown) {
      return rejected(error);
    }
  }

  private async runPromise(
    args: unknown[],
    first?: { readonly before: Promise<void> | undefined; readonly invoked: Promise<unknown> },
  ): Promise<unknown> {
    const { plan } = this;
    if (first) await first.before;
    else if (plan.evictsBefore.length > 0)
      await this.steps.evict(plan.evictsBefore, args, undefined);
    const c = plan.cacheable;
    let value: unknown;
    if (c && (!c.condition || c.condition(...args))) {
      // The first call of a method of unknown kind already ran it: store what it returned.
      if (first) {
        const invoked = await first.invoked;
        value = await this.steps.store(c, args, invoked, invoked);
      } else {
        value = await this.steps.readThrough(c, args, false);
      }
    } else {
      value = await (first ? first.invoked : this.invoke(args));
    }
    await this.steps.afterSuccess(args, value, value);
    return value;
  }

  // --- Observable methods ----------------------------------------------------------------------

  private runObservable(
    args: unknown[],
    first?: { readonly before: Promise<void> | undefined; readonly invoked: Observable<unknown> },
  ): Observable<unknown> {
    return defer(() => {
      const { plan } = this;
      const c = plan.cacheable;
      let main$: Observable<unknown>;
      if (c && (!c.condition || c.condition(...args))) {
        main$ = first
          ? this.collectThenStore(c, args, first.invoked)
          : from(this.steps.readThrough(c, args, true) as Promise<unknown[]>).pipe(
              concatMap((emissions) => from(emissions)),
            );
      } else {
        main$ = first ? first.invoked : defer(() => this.invokeObservable(args));
      }
      if (this.cacheableOnly && !first) return main$;
      const emissions: unknown[] = [];
      let before$: Observable<never> = EMPTY;
      if (first?.before) before$ = from(first.before).pipe(ignoreElements());
      else if (plan.evictsBefore.length > 0) {
        before$ = defer(() => from(this.steps.evict(plan.evictsBefore, args, undefined))).pipe(
          ignoreElements(),
        );
      }
      return concat(
        before$,
        main$.pipe(tap((value) => emissions.push(value))),
        defer(() => from(this.steps.afterSuccess(args, emissions, emissions.at(-1)))).pipe(
          ignoreElements(),
        ),
      );
    });
  }

  /** Streams an already invoked Observable and stores its emissions once it completes. */
  private collectThenStore(
    c: CompiledStore,
    args: unknown[],
    invoked: Observable<unknown>,
  ): Observable<unknown> {
    const emissions: unknown[] = [];
    return concat(
      invoked.pipe(tap((value) => emissions.push(value))),
      defer(() => from(this.steps.store(c, args, emissions, emissions.at(-1)))).pipe(
        ignoreElements(),
      ),
    );
  }

  invokeObservable(args: unknown[]): Observable<unknown> {
    const out = this.invoke(args);
    if (isObservable(out)) return out;
    throw this.returnTypeError(out);
  }

  /**
   * A method whose return type is not declared: the first call runs it to find out. Evictions
   * before invocation are started first; a plain value fails like a wrong declared type does.
   */
  private learnKind(args: unknown[]): unknown {
    const { plan } = this;
    const before =
      plan.evictsBefore.length > 0
        ? this.steps.evict(plan.evictsBefore, args, undefined)
        : undefined;
    // The Promise or Observable path below awaits it; mark it handled meanwhile.
    before?.catch(noop);
    const out = this.invoke(args);
    if (isObservable(out)) {
      plan.kind = 'observable';
      return this.runObservable(args, { before, invoked: out });
    }
    if (isPromiseLike(out)) {
      plan.kind = 'promise';
      const invoked = Promise.resolve(out);
      invoked.catch(noop);
      return this.runPromise(args, { before, invoked });
    }
    throw this.returnTypeError(out);
  }

  invoke(args: unknown[]): unknown {
    return this.plan.original.apply(this.instance, args);
  }

  private returnTypeError(value: unknown): CacheDecoratorError {
    const { className, methodName } = this.plan;
    return new CacheDecoratorError(
      { className, methodName },
      cacheMessages.returnType(cacheMessages.plainValue(value)),
    );
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
