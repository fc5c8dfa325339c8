/**
 * Reads the request and writes response headers the same way on Express (`Request`/`Response`)
 * and Fastify (`FastifyRequest`/`FastifyReply`): both expose `method`, `headers` and `url`, and
 * both responses have `getHeader()`; Fastify sets headers with `header()`, Express with
 * `setHeader()`. Internal.
 */

/** The request fields the interceptor reads. */
export interface HttpRequestLike {
  readonly method?: string;
  /** Express: the URL before any mount-path rewrite. Fastify 4.x and later have it too. */
  readonly originalUrl?: string;
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

interface HttpResponseLike {
  readonly statusCode?: number;
  getHeader?(name: string): unknown;
  header?(name: string, value: string): unknown;
  setHeader?(name: string, value: string): unknown;
}

/** The request's URL as the client sent it (path and query). */
export function requestUrl(request: HttpRequestLike): string {
  return request.originalUrl ?? request.url ?? '/';
}

/** The request's headers (lower-case names); `{}` when the platform gives none. */
export function requestHeaders(
  request: HttpRequestLike,
): Readonly<Record<string, string | string[] | undefined>> {
  return request.headers ?? {};
}

/** Sets a response header on Express or Fastify. */
export function setResponseHeader(response: unknown, name: string, value: string): void {
  const res = response as HttpResponseLike;
  if (typeof res.header === 'function') res.header(name, value);
  else if (typeof res.setHeader === 'function') res.setHeader(name, value);
}

/** A response header as a string (`''` when absent; arrays joined with `, `). */
export function getResponseHeader(response: unknown, name: string): string {
  const res = response as HttpResponseLike;
  const value = typeof res.getHeader === 'function' ? res.getHeader(name) : undefined;
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(String).join(', ');
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** The response status code, when the platform tells it. */
export function responseStatus(response: unknown): number | undefined {
  const status = (response as HttpResponseLike).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Adds header names to the response's `Vary`, keeping the ones already there. */
export function appendVary(response: unknown, names: readonly string[]): void {
  if (names.length === 0) return;
  const current = getResponseHeader(response, 'vary');
  const listed = current
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (listed.includes('*')) return;
  const lower = new Set(listed.map((name) => name.toLowerCase()));
  const added = names.filter((name) => !lower.has(name.toLowerCase()));
  if (added.length === 0) return;
  setResponseHeader(response, 'Vary', [...listed, ...added].join(', '));
}
