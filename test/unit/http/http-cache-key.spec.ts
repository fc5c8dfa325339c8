import {
  httpCacheKey,
  normaliseHeaderNames,
  normaliseUrl,
} from '../../../lib/http/http-cache-key.js';

describe('normaliseUrl()', () => {
  it.each([
    ['/products?b=2&a=1', '/products', 'a=1&b=2'],
    ['/products/?a=1&b=2', '/products', 'a=1&b=2'],
    ['//products//1', '/products/1', ''],
    ['/', '/', ''],
    ['', '/', ''],
    ['/p?', '/p', ''],
    ['/p#frag', '/p', ''],
    ['/a%7Eb/%E2%82%AC', '/a~b/%E2%82%AC', ''],
    ['/a~b/€', '/a~b/%E2%82%AC', ''],
    ['/p?q=a%20b', '/p', 'q=a+b'],
    ['/p?q=a+b', '/p', 'q=a+b'],
    ['/p?flag', '/p', 'flag='],
  ])('%s → path %s, query %s', (raw, path, query) => {
    expect(normaliseUrl(raw)).toEqual({ path, query });
  });

  it('sorts parameters by name and keeps the order of repeated ones', () => {
    expect(normaliseUrl('/p?z=1&id=2&a=0&id=1').query).toBe('a=0&id=2&id=1&z=1');
  });

  it('keeps an encoded slash inside a segment apart from a path separator', () => {
    expect(normaliseUrl('/files/a%2Fb').path).toBe('/files/a%2Fb');
    expect(normaliseUrl('/files/a/b').path).toBe('/files/a/b');
  });

  it('keeps a malformed escape as sent', () => {
    expect(normaliseUrl('/p/%zz').path).toBe('/p/%25zz');
  });
});

describe('httpCacheKey()', () => {
  const url = normaliseUrl('/products?sort=asc&page=2');

  it('is the prefix, GET and the normalised URL when no vary header is present', () => {
    expect(httpCacheKey('http:', url, {}, [])).toBe('http:GET:/products?page=2&sort=asc');
    expect(httpCacheKey('http:', url, {}, ['accept-language'])).toBe(
      'http:GET:/products?page=2&sort=asc',
    );
    expect(httpCacheKey('http:', normaliseUrl('/a'), {}, [])).toBe('http:GET:/a');
  });

  it('adds a hash of the vary headers, different per value, without the value in clear', () => {
    const en = httpCacheKey('http:', url, { 'accept-language': 'en' }, ['accept-language']);
    const fr = httpCacheKey('http:', url, { 'accept-language': 'fr' }, ['accept-language']);
    const token = httpCacheKey('http:', url, { authorization: 'Bearer s3cret' }, ['authorization']);
    expect(en).toMatch(/^http:GET:\/products\?page=2&sort=asc\|v:[\w-]{27}$/);
    expect(fr).not.toBe(en);
    expect(token).not.toContain('s3cret');
    expect(httpCacheKey('http:', url, { 'accept-language': ' en ' }, ['accept-language'])).toBe(en);
  });

  it('joins repeated header values', () => {
    expect(httpCacheKey('p:', url, { accept: ['a', 'b'] }, ['accept'])).toBe(
      httpCacheKey('p:', url, { accept: 'a,b' }, ['accept']),
    );
  });

  it('hashes a URL longer than 512 characters', () => {
    const long = normaliseUrl(`/search?q=${'x'.repeat(600)}`);
    const key = httpCacheKey('http:', long, {}, []);
    expect(key).toMatch(/^http:GET:#[\w-]{27}$/);
    expect(httpCacheKey('http:', normaliseUrl(`/search?q=${'x'.repeat(601)}`), {}, [])).not.toBe(
      key,
    );
  });
});

describe('normaliseHeaderNames()', () => {
  it('lower-cases, trims, de-duplicates and sorts', () => {
    expect(normaliseHeaderNames(['Accept-Language', ' accept ', 'ACCEPT', ''])).toEqual([
      'accept',
      'accept-language',
    ]);
  });
});
