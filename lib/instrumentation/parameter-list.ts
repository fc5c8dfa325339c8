/**
 * How many parameters a method declares, read from its source text, or `undefined` when that
 * cannot be known (a rest parameter, native or bound code, a source too unusual to read).
 *
 * Why not `Function.length`: it stops counting at the first parameter with a default value, so
 * `findAll(page = 1)` has length 0 and a key template `{0}` would be rejected wrongly. Why not
 * `design:paramtypes`: it is missing without `emitDecoratorMetadata` (esbuild, swc) and counts a
 * rest parameter as one.
 *
 * The scan skips strings, template literals, comments and nested brackets, so default values
 * such as `(a = ')', b = (x) => x)` are counted right.
 *
 * @example declaredParameterCount(function (a, b = 2) {}) === 2
 * @example declaredParameterCount(function (a, ...rest) {}) === undefined
 * @internal
 */
export function declaredParameterCount(fn: (...args: never[]) => unknown): number | undefined {
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
  if (source.includes('[native code]')) return undefined;
  const open = source.indexOf('(');
  if (open === -1) return undefined;
  // Anything before '(' other than a plain name (a computed or quoted method name) could hide a
  // parenthesis of its own: give up rather than guess.
  if (/[[\]'"`]/.test(source.slice(0, open))) return undefined;

  let depth = 0;
  let segments = 0;
  let segmentHasContent = false;
  let rest = false;
  for (let i = open + 1; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      if (end === -1) return undefined;
      i = end;
      continue;
    }
    if (ch === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      if (end === -1) return undefined;
      i = end + 1;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = skipString(source, i);
      if (end === undefined) return undefined;
      i = end;
      segmentHasContent = true;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') {
      depth++;
      segmentHasContent = true;
      continue;
    }
    if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) {
        if (ch !== ')') return undefined;
        if (segmentHasContent) segments++;
        return rest ? undefined : segments;
      }
      depth--;
      continue;
    }
    if (depth === 0 && ch === ',') {
      if (segmentHasContent) segments++;
      segmentHasContent = false;
      continue;
    }
    if (depth === 0 && ch === '.' && source.startsWith('...', i) && !segmentHasContent) {
      rest = true;
    }
    if (!/\s/.test(ch)) segmentHasContent = true;
  }
  return undefined;
}

/** Index of the closing quote of the string starting at `start`, or undefined if unterminated. */
function skipString(source: string, start: number): number | undefined {
  const quote = source[start];
  for (let i = start + 1; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === quote) return i;
    // A template literal with `${...}` could nest anything: too unusual to read safely.
    if (quote === '`' && ch === '$' && source[i + 1] === '{') return undefined;
  }
  return undefined;
}
