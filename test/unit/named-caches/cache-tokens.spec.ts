import 'reflect-metadata';
import { CacheOptionsError, CacheService } from '../../../lib/index.js';
import { CacheInspector } from '../../../lib/testing/index.js';
import { cacheNameOfServiceToken, cacheTokens, getCacheToken } from '../../../lib/cache.tokens.js';
import { getCacheInspectorToken } from '../../../lib/testing/inspector-token.js';
import { assertCacheName } from '../../../lib/options/cache-name.js';
import { resolveCacheOptions } from '../../../lib/options/options.validator.js';

describe('getCacheToken()', () => {
  it('returns the CacheService class for the default cache', () => {
    expect(getCacheToken()).toBe(CacheService);
    expect(getCacheToken(undefined)).toBe(CacheService);
  });

  it('returns a string token per name', () => {
    expect(getCacheToken('sessions')).toBe('distributed-cache:sessions:CacheService');
    expect(getCacheToken('sessions')).not.toBe(getCacheToken('rates'));
  });

  it('refuses an invalid name, naming the option', () => {
    expect(() => getCacheToken('')).toThrow(expect.objectContaining({ option: 'name' }) as Error);
  });
});

describe('getCacheInspectorToken()', () => {
  it('returns the CacheInspector class for the default cache and a string per name', () => {
    expect(getCacheInspectorToken()).toBe(CacheInspector);
    expect(getCacheInspectorToken('sessions')).toBe('distributed-cache:sessions:CacheInspector');
  });
});

describe('cacheTokens()', () => {
  it('gives a named cache a distinct token for every provider', () => {
    const tokens = Object.values(cacheTokens('sessions')).filter((t) => t !== 'sessions');
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) expect(token).toMatch(/^distributed-cache:sessions:/);
  });

  it('shares no token between the default cache and a named one', () => {
    const named = new Set<unknown>(Object.values(cacheTokens('sessions')));
    for (const token of Object.values(cacheTokens(undefined))) {
      if (token !== undefined) expect(named.has(token)).toBe(false);
    }
  });
});

describe('cacheNameOfServiceToken()', () => {
  it('reads the name back from a service token', () => {
    expect(cacheNameOfServiceToken(CacheService)).toBeNull();
    expect(cacheNameOfServiceToken(getCacheToken('sessions'))).toBe('sessions');
    expect(cacheNameOfServiceToken('distributed-cache:sessions:l2-store')).toBeUndefined();
    expect(cacheNameOfServiceToken(Symbol('x'))).toBeUndefined();
  });
});

describe('assertCacheName()', () => {
  it.each([['sessions'], ['rates-v2'], ['a.b_c'], [undefined]])('accepts %j', (name) => {
    expect(() => assertCacheName(name)).not.toThrow();
  });

  it.each([[''], [' '], ['two words'], ['a:b'], [42], [null]])('refuses %j', (name) => {
    expect(() => assertCacheName(name)).toThrow(CacheOptionsError);
  });

  it("reserves 'default', saying how to register the default cache", () => {
    expect(() => assertCacheName('default')).toThrow(
      "name 'default' is reserved for the unnamed cache: omit name to register the default cache (CacheService), or choose another name",
    );
  });
});

describe('resolveCacheOptions()', () => {
  it('accepts a name beside the cache options and checks it', () => {
    expect(resolveCacheOptions({ name: 'sessions', namespace: 's' }).namespace).toBe('s');
    expect(() => resolveCacheOptions({ name: 'a b' })).toThrow(
      expect.objectContaining({ option: 'name' }) as Error,
    );
  });
});
