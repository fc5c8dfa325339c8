import { cacheMessages } from '../cache.messages.js';
import type { CacheDecoratorName } from '../decorators/cached-method.handle.js';
import { CacheDecoratorError, describeSite } from '../errors/cache.errors.js';
import { CacheKeyError } from '../errors/cache.errors.js';
import { hashArguments, UnhashableValueError } from '../keys/argument-hash.js';
import { KeyTemplateSyntaxError, parseKeyTemplate } from '../keys/key-template.js';
import type { CacheCapabilities, KeyBuilder, TagsBuilder } from './cached-method.plan.js';

/** Tags known at start-up, or a builder of the call's tags. */
export interface CompiledTags {
  readonly static?: readonly string[];
  readonly dynamic?: TagsBuilder;
}

/** The decorator being compiled, for messages, and the method's declared parameter count. */
export interface DecoratorSite {
  readonly className: string;
  readonly methodName: string;
  readonly decorator: CacheDecoratorName;
  readonly arity: number | undefined;
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

/**
 * The key of a call: the decorator namespace, then the template rendered, the key function's
 * string, or (no `key`) the class, the method and a hash of the arguments.
 *
 * @param resultUnavailable why `{result}` cannot be used here, or undefined where it can
 * @throws CacheDecoratorError at start-up for a bad template or option; the builder throws
 *   CacheKeyError (a key function's bad answer) or CacheDecoratorError (an unhashable argument)
 */
export function compileKey(
  site: DecoratorSite,
  value: unknown,
  namespace: string | undefined,
  resultUnavailable: string | undefined,
): KeyBuilder {
  const { className, methodName, arity } = site;
  const prefix = namespace === undefined ? '' : `${namespace}:`;
  const unhashable = (error: unknown): never => {
    if (error instanceof UnhashableValueError) {
      throw new CacheDecoratorError(site, cacheMessages.unhashableArgument(error.message), {
        cause: error,
      });
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
        throw new CacheDecoratorError(site, cacheMessages.badTemplate(error.message), {
          cause: error,
        });
      }
      throw error;
    }
    if (arity !== undefined && template.maxArgumentIndex >= arity) {
      throw new CacheDecoratorError(
        site,
        cacheMessages.missingArgument(value, template.maxArgumentIndex, arity),
      );
    }
    if (template.usesResult && resultUnavailable !== undefined) {
      throw new CacheDecoratorError(
        site,
        cacheMessages.resultUnavailable(value, resultUnavailable),
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
        throw new CacheKeyError(key, cacheMessages.keyNotString(site, key));
      }
      return prefix + key;
    };
  }
  throw badOption(site, 'key', 'a template string or a function', value);
}

/**
 * The `tags` option: a static list checked now, or a function whose answer is checked per call.
 * @throws CacheDecoratorError when the cache cannot invalidate tags or the option is malformed
 */
export function compileTags(
  site: DecoratorSite,
  value: unknown,
  capabilities: Pick<CacheCapabilities, 'tags'>,
): CompiledTags {
  if (value === undefined) return {};
  if (!capabilities.tags) {
    throw new CacheDecoratorError(site, cacheMessages.tagsUnsupported('tags'));
  }
  if (Array.isArray(value)) return { static: checkTags(value, site, true) };
  if (typeof value === 'function') {
    const tagsFn = value as (...args: unknown[]) => unknown;
    return {
      dynamic: (args, result) =>
        checkTags(tagsFn(...withResult(args, site.arity, result)), site, false),
    };
  }
  throw badOption(site, 'tags', 'an array of strings or a function', value);
}

/** An option of the wrong type: names the option, what it must be and what it was. */
function badOption(
  site: DecoratorSite,
  option: string,
  expected: string,
  value: unknown,
): CacheDecoratorError {
  return new CacheDecoratorError(site, cacheMessages.badOption(option, expected, value));
}

function checkTags(tags: unknown, site: DecoratorSite, atStartup: boolean): readonly string[] {
  if (Array.isArray(tags) && tags.every((tag) => typeof tag === 'string' && tag.length > 0)) {
    return tags as string[];
  }
  const problem = cacheMessages.tagsNotStrings(tags);
  throw atStartup
    ? new CacheDecoratorError(site, problem)
    : new CacheKeyError(tags, `${describeSite(site)}: ${problem}`);
}
