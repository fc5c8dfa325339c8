import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import { CacheRoute } from '../../../lib/http/cache-route.decorator.js';
import { CACHE_ROUTE_METADATA } from '../../../lib/http/http-cache-options.interface.js';
import { resolveHttpCacheOptions } from '../../../lib/http/http-cache-options.resolver.js';
import {
  appendVary,
  getResponseHeader,
  setResponseHeader,
} from '../../../lib/http/http-exchange.js';

describe('CacheRoute()', () => {
  it('records its options on a method and on a class, and false to opt out', () => {
    @CacheRoute({ ttl: '1m' })
    class Controller {
      @CacheRoute({ ttl: 500, vary: ['Accept'] })
      cached(): void {}
      @CacheRoute(false)
      never(): void {}
    }
    const reflector = new Reflector();
    expect(reflector.get(CACHE_ROUTE_METADATA, Controller)).toEqual({ ttl: '1m' });
    expect(reflector.get(CACHE_ROUTE_METADATA, Controller.prototype.cached)).toEqual({
      ttl: 500,
      vary: ['Accept'],
    });
    expect(reflector.get(CACHE_ROUTE_METADATA, Controller.prototype.never)).toBe(false);
  });

  it.each([
    [{ ttl: '5 minutes' }, '@CacheRoute.ttl'],
    [{ vary: 'accept' }, '@CacheRoute.vary'],
    [{ allowAuthorized: 'yes' }, '@CacheRoute.allowAuthorized'],
    [{ tags: 'products' }, '@CacheRoute.tags'],
    [{ key: 'x' }, '@CacheRoute.key'],
  ])('refuses %j at class definition, naming the option', (options, option) => {
    expect(() => CacheRoute(options as never)).toThrow(CacheOptionsError);
    expect(() => CacheRoute(options as never)).toThrow(expect.objectContaining({ option }));
  });
});

describe('resolveHttpCacheOptions()', () => {
  it('applies the defaults', () => {
    expect(resolveHttpCacheOptions()).toEqual({
      ttl: undefined,
      vary: [],
      allowAuthorized: false,
      keyPrefix: 'http:',
    });
  });

  it('normalises vary header names', () => {
    expect(resolveHttpCacheOptions({ vary: ['Accept-Language', 'accept'] }).vary).toEqual([
      'accept',
      'accept-language',
    ]);
  });

  it.each([
    [{ ttl: -1 }, 'http.ttl'],
    [{ vary: [''] }, 'http.vary'],
    [{ keyPrefix: 1 }, 'http.keyPrefix'],
    [{ allowAuthorized: 1 }, 'http.allowAuthorized'],
  ])('refuses %j, naming the option', (options, option) => {
    expect(() => resolveHttpCacheOptions(options as never)).toThrow(
      expect.objectContaining({ option }),
    );
  });
});

describe('appendVary()', () => {
  /** A response with Fastify's header API. */
  function fastifyLikeReply(): {
    headers: Record<string, string>;
    header(n: string, v: string): void;
    getHeader(n: string): string | undefined;
  } {
    const headers: Record<string, string> = {};
    return {
      headers,
      header: (name, value) => {
        headers[name.toLowerCase()] = value;
      },
      getHeader: (name) => headers[name.toLowerCase()],
    };
  }

  it('adds the names missing from Vary, case-insensitively', () => {
    const reply = fastifyLikeReply();
    setResponseHeader(reply, 'Vary', 'Accept');
    appendVary(reply, ['accept', 'accept-language']);
    expect(getResponseHeader(reply, 'vary')).toBe('Accept, accept-language');
  });

  it('leaves Vary: * alone', () => {
    const reply = fastifyLikeReply();
    setResponseHeader(reply, 'Vary', '*');
    appendVary(reply, ['accept']);
    expect(getResponseHeader(reply, 'vary')).toBe('*');
  });
});
