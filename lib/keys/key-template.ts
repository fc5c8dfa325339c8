import { hashValue } from './argument-hash.js';

/**
 * A parsed key template such as `'user:{0.id}:orders:{1}'`. Parsing happens once, at start-up;
 * rendering on every call is a loop over pre-split parts.
 */
export interface KeyTemplate {
  /** The template as written. */
  readonly source: string;
  /** Highest argument index a placeholder names, or -1 when none does. */
  readonly maxArgumentIndex: number;
  /** Whether a placeholder names `{result}` (only meaningful once the method ran). */
  readonly usesResult: boolean;
  /** The key for these arguments (and result). */
  render(args: readonly unknown[], result?: unknown): string;
}

/** A template is not well formed. Callers add the class and method. Internal. */
export class KeyTemplateSyntaxError extends Error {
  constructor(
    readonly template: string,
    readonly reason: string,
  ) {
    super(`key template '${template}' ${reason}`);
    this.name = 'KeyTemplateSyntaxError';
  }
}

type Part =
  | { readonly literal: string }
  | { readonly source: 'argument'; readonly index: number; readonly path: readonly string[] }
  | { readonly source: 'result'; readonly path: readonly string[] };

/** `{0}`, `{12.id}`, `{result}`, `{result.owner.id}`; path segments are identifiers or indexes. */
const PLACEHOLDER = /^(\d+|result)((?:\.[\w$-]+)*)$/;

/**
 * Parses a key template: literal text with placeholders `{N}` (argument N), `{N.a.b}` (a property
 * path into it), `{result}` and `{result.a}` (the method's result, where the decorator has one).
 * Braces cannot be escaped: a key containing `{` or `}` needs a key function.
 *
 * @throws KeyTemplateSyntaxError for an empty template, an unbalanced brace or a bad placeholder
 * @example parseKeyTemplate('user:{0.id}:orders:{1}').render([{ id: 7 }, 2]) === 'user:7:orders:2'
 */
export function parseKeyTemplate(source: string): KeyTemplate {
  if (source.length === 0) throw new KeyTemplateSyntaxError(source, 'is empty');
  const parts: Part[] = [];
  let maxArgumentIndex = -1;
  let usesResult = false;
  let position = 0;
  while (position < source.length) {
    const open = source.indexOf('{', position);
    const close = source.indexOf('}', position);
    if (close !== -1 && (open === -1 || close < open)) {
      throw new KeyTemplateSyntaxError(source, `has a '}' without '{' at position ${close}`);
    }
    if (open === -1) {
      parts.push({ literal: source.slice(position) });
      break;
    }
    if (open > position) parts.push({ literal: source.slice(position, open) });
    const end = source.indexOf('}', open);
    if (end === -1)
      throw new KeyTemplateSyntaxError(source, `has a '{' without '}' at position ${open}`);
    const body = source.slice(open + 1, end);
    const match = PLACEHOLDER.exec(body);
    if (!match?.[1]) {
      throw new KeyTemplateSyntaxError(
        source,
        `has a bad placeholder '{${body}}': use {0}, {0.id} or {result.id}`,
      );
    }
    const path = match[2] ? match[2].slice(1).split('.') : [];
    if (match[1] === 'result') {
      usesResult = true;
      parts.push({ source: 'result', path });
    } else {
      const index = Number(match[1]);
      maxArgumentIndex = Math.max(maxArgumentIndex, index);
      parts.push({ source: 'argument', index, path });
    }
    position = end + 1;
  }
  return {
    source,
    maxArgumentIndex,
    usesResult,
    render: (args, result) => {
      let key = '';
      for (const part of parts) {
        if ('literal' in part) key += part.literal;
        else if (part.source === 'argument')
          key += formatKeyValue(walk(args[part.index], part.path));
        else key += formatKeyValue(walk(result, part.path));
      }
      return key;
    },
  };
}

/**
 * How a value appears in a key: strings as they are; numbers, booleans and bigints as
 * `String(value)`; a Date as its ISO string; `null` and `undefined` by name; anything else
 * (objects, arrays, Maps...) as the stable 16-hex-character hash of its content.
 * @throws UnhashableValueError for a function, a symbol or a circular structure
 */
export function formatKeyValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    default:
      if (value === null) return 'null';
      if (value instanceof Date)
        return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
      return hashValue(value);
  }
}

function walk(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || current === undefined) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
