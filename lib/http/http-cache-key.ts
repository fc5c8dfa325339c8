import { createHash } from 'node:crypto';

/** URLs longer than this (after normalisation) are hashed in the key, to stay under `maxKeyLength`. */
const MAX_READABLE_URL = 512;

/** A request URL split and normalised for use in a cache key. */
export interface NormalisedUrl {
  /** Path with `//` collapsed, no trailing `/` (except the root), each segment percent-encoded one way. */
  readonly path: string;
  /** Query parameters sorted by name (values of one name keep their order), without `?`. */
  readonly query: string;
}

/**
 * Normalises a request URL so that equivalent URLs give one key: `/a//b/?y=2&x=1` and `/a/b?x=1&y=2`
 * are the same; `%7E` and `~` are the same. A fragment, if a client sent one, is dropped.
 *
 * @example normaliseUrl('/products/?sort=asc&page=2') // { path: '/products', query: 'page=2&sort=asc' }
 */
export function normaliseUrl(rawUrl: string): NormalisedUrl {
  const withoutFragment = rawUrl.split('#', 1)[0] ?? '';
  const q = withoutFragment.indexOf('?');
  const rawPath = q < 0 ? withoutFragment : withoutFragment.slice(0, q);
  const rawQuery = q < 0 ? '' : withoutFragment.slice(q + 1);

  const segments = rawPath
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => encodeURIComponent(safeDecode(segment)));
  const path = `/${segments.join('/')}`;

  const params = new URLSearchParams(rawQuery);
  // NOTE: a stable sort by name: repeated parameters (`?id=2&id=1`) keep their order, which
  // some handlers read as meaningful.
  params.sort();
  return { path, query: params.toString() };
}

/**
 * The cache key of a GET response: `${prefix}GET:${path}?${query}`, plus `|v:${hash}` when one of
 * the `vary` headers is present (values are hashed: they may be credentials). A URL longer than
 * 512 characters is replaced by its hash.
 *
 * @example httpCacheKey('http:', normaliseUrl('/p?b=2&a=1'), {}, []) // 'http:GET:/p?a=1&b=2'
 */
export function httpCacheKey(
  prefix: string,
  url: NormalisedUrl,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  vary: readonly string[],
): string {
  let readable = url.query === '' ? url.path : `${url.path}?${url.query}`;
  if (readable.length > MAX_READABLE_URL) readable = `#${digest(readable)}`;
  const present: Array<[string, string]> = [];
  for (const name of vary) {
    const value = headers[name];
    if (value === undefined) continue;
    present.push([name, (Array.isArray(value) ? value.join(',') : value).trim()]);
  }
  const variant = present.length === 0 ? '' : `|v:${digest(JSON.stringify(present))}`;
  return `${prefix}GET:${readable}${variant}`;
}

/** Lower-cased, de-duplicated, sorted header names, so the key does not depend on how they were listed. */
export function normaliseHeaderNames(names: readonly string[]): string[] {
  return [...new Set(names.map((name) => name.trim().toLowerCase()))]
    .filter((name) => name !== '')
    .sort();
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape (`%zz`) is kept as sent; the router has usually refused it already.
    return segment;
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 27);
}
