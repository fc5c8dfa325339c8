import { isUtf8 } from 'node:buffer';

import type { CacheSerializer } from './serializer.interface.js';

/*
 * Payload format (version 1)
 *
 *   "j1:" <JSON text> "\n"   plain: the value is JSON-compatible as it is; decode is JSON.parse
 *   "j1t" <JSON text> "\n"   tagged: special values are written as `{"$t": <tag>, "v": ...}`
 *
 * The 3-byte prefix names the format, its version and the mode, so a payload written by another
 * serializer (or a future version) is refused with a clear error instead of being misread.
 *
 * NOTE: the trailing "\n" is a terminator. JSON.stringify (without indentation) never emits a
 * raw newline, so a payload cut anywhere ends in some other byte and is detected as truncated,
 * even when the cut leaves valid JSON (a top-level `12345` cut to `123`).
 */
const PLAIN_PREFIX = 'j1:';
const TAGGED_PREFIX = 'j1t';
const PREFIX_BYTES = 3;
const TERMINATOR = '\n';
const BYTE_J = 0x6a; // 'j'
const BYTE_1 = 0x31; // '1'
const BYTE_COLON = 0x3a; // ':'
const BYTE_T = 0x74; // 't'
const BYTE_NEWLINE = 0x0a;

/** Own key that marks a tagged node in the tagged mode. */
const TAG = '$t';

/** Tags of the tagged mode. Full names: a tagged payload stays readable in `redis-cli`. */
const Tag = {
  Undefined: 'undefined',
  Hole: 'hole',
  Number: 'number',
  BigInt: 'bigint',
  Date: 'Date',
  Map: 'Map',
  Set: 'Set',
  Buffer: 'Buffer',
  Uint8Array: 'Uint8Array',
  /** A plain object that has an own `$t` key: its keys are data, not a tag. */
  Object: 'Object',
  /** A plain object created with `Object.create(null)`. */
  NullProto: 'NullProto',
} as const;
type Tag = (typeof Tag)[keyof typeof Tag];

/** One step of the path to a rejected value, innermost first while the error unwinds. */
type PathSegment = string | number | { readonly label: string };

/**
 * Internal: carries why a value was rejected and where, while the walk unwinds. Each container
 * adds its segment in a `catch`, so the happy path pays nothing for path tracking.
 * `serialize()` turns it into a `TypeError` with the full message.
 */
class RejectedValueError extends Error {
  readonly segments: PathSegment[] = [];

  constructor(
    readonly reason: string,
    /** For a circular reference: depth of the ancestor it points back to. */
    readonly ancestorDepth?: number,
  ) {
    super(reason);
  }

  toTypeError(): TypeError {
    const segments = this.segments.slice().reverse();
    let text = `value${formatPath(segments)} ${this.reason}`;
    if (this.ancestorDepth !== undefined) {
      text += ` (back to value${formatPath(segments.slice(0, this.ancestorDepth))})`;
    }
    return new TypeError(`JsonSerializer cannot encode the value: ${text}`);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'object') out += segment.label;
    else if (IDENTIFIER.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function atSegment(error: unknown, segment: PathSegment): unknown {
  if (error instanceof RejectedValueError) error.segments.push(segment);
  return error;
}

function mapKeyLabel(key: unknown, index: number, part: 'key' | 'value'): { label: string } {
  if (part === 'value' && (typeof key === 'string' || typeof key === 'number')) {
    return { label: `.get(${JSON.stringify(key)})` };
  }
  return { label: `[Map entry #${index} ${part}]` };
}

function className(proto: object): string {
  const ctor = (proto as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'an anonymous class';
}

function rejectInstance(proto: object): RejectedValueError {
  if (proto === Promise.prototype) {
    return new RejectedValueError('is a Promise (await it and cache the result)');
  }
  return new RejectedValueError(
    `is an instance of ${className(proto)}, which cannot be restored as the same class ` +
      '(supported: plain objects, arrays, Date, Map, Set, Buffer, Uint8Array, BigInt); ' +
      'convert it to a plain object before caching',
  );
}

function rejectCircular(value: object, ancestors: readonly object[]): void {
  const depth = ancestors.indexOf(value);
  if (depth !== -1) throw new RejectedValueError('is a circular reference', depth);
}

function isSpecialNumber(n: number): boolean {
  // NaN, ±Infinity and -0 do not survive JSON (they become null, null, null and 0).
  // `n - n` is NaN exactly for NaN and ±Infinity.
  return n - n !== 0 || (n === 0 && 1 / n < 0);
}

/* ------------------------------------------------------------------------------------------
 * Fast path: is the value JSON-compatible exactly as it is? This walk only answers yes or no;
 * everything else (special types, and values that must be rejected) goes to the tagged encoder,
 * which validates fully and names the path of what it rejects.
 *
 * NOTE: no cycle tracking here (it cost more than the rest of the walk): a cycle drives the
 * depth past MAX_FAST_DEPTH, and the tagged encoder then finds it exactly. Genuinely deeper
 * plain data just takes the tagged path, which is still correct.
 *
 * NOTE: for-in rather than Object.keys: no array allocation per object, about 40% faster here.
 * It also visits inherited enumerable keys, which only a polluted Object.prototype has; then
 * the walk is merely more conservative.
 * ---------------------------------------------------------------------------------------- */

const MAX_FAST_DEPTH = 64;

function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return !isSpecialNumber(value);
    case 'object': {
      if (value === null) return true;
      if (depth > MAX_FAST_DEPTH) return false;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Object.prototype) {
        const record = value as Record<string, unknown>;
        for (const key in record) {
          if (!isPlainJson(record[key], depth + 1)) return false;
        }
        return true;
      }
      if (proto === Array.prototype && Array.isArray(value)) {
        const array = value as unknown[];
        // A hole reads as undefined, which is not plain: holes never reach the plain mode.
        for (let i = 0; i < array.length; i++) {
          if (!isPlainJson(array[i], depth + 1)) return false;
        }
        return true;
      }
      return false;
    }
    default:
      return false;
  }
}

/* ------------------------------------------------------------------------------------------
 * Tagged encoding: builds a JSON-compatible tree. Containers of the tree are null-prototype
 * objects, so a `__proto__` key is an ordinary own key there (no setter in the chain).
 * ---------------------------------------------------------------------------------------- */

function tagged(tag: Tag, v?: unknown): Record<string, unknown> {
  return v === undefined ? { [TAG]: tag } : { [TAG]: tag, v };
}

function encode(value: unknown, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!isSpecialNumber(value)) return value;
      return tagged(Tag.Number, Object.is(value, -0) ? '-0' : String(value));
    case 'undefined':
      return tagged(Tag.Undefined);
    case 'bigint':
      return tagged(Tag.BigInt, value.toString());
    case 'object':
      return value === null ? null : encodeObject(value, ancestors);
    case 'function':
      throw new RejectedValueError('is a function');
    case 'symbol':
      throw new RejectedValueError('is a symbol');
  }
}

function encodeObject(value: object, ancestors: object[]): unknown {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const out = encodeRecord(value as Record<string, unknown>, ancestors);
    if (proto === null) return tagged(Tag.NullProto, out);
    // A user object that looks like a tag is wrapped, so its keys stay data.
    return Object.hasOwn(value, TAG) ? tagged(Tag.Object, out) : out;
  }
  if (proto === Array.prototype && Array.isArray(value)) {
    return encodeArray(value as unknown[], ancestors);
  }
  if (proto === Date.prototype) {
    const time = (value as Date).getTime();
    // An invalid Date has NaN time, which JSON cannot hold: null stands for it.
    return tagged(Tag.Date, time === time ? time : null);
  }
  if (proto === Map.prototype) return encodeMap(value as Map<unknown, unknown>, ancestors);
  if (proto === Set.prototype) return encodeSet(value as Set<unknown>, ancestors);
  if (proto === Buffer.prototype) return tagged(Tag.Buffer, (value as Buffer).toString('base64'));
  if (proto === Uint8Array.prototype) {
    const bytes = value as Uint8Array;
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return tagged(Tag.Uint8Array, view.toString('base64'));
  }
  throw rejectInstance(proto as object);
}

function encodeRecord(record: Record<string, unknown>, ancestors: object[]): object {
  rejectCircular(record, ancestors);
  ancestors.push(record);
  const out = Object.create(null) as Record<string, unknown>;
  const keys = Object.keys(record);
  let i = 0;
  try {
    for (; i < keys.length; i++) {
      const key = keys[i]!;
      out[key] = encode(record[key], ancestors);
    }
  } catch (error) {
    throw atSegment(error, keys[i]!);
  }
  ancestors.pop();
  return out;
}

function encodeArray(array: unknown[], ancestors: object[]): unknown[] {
  rejectCircular(array, ancestors);
  ancestors.push(array);
  const out = new Array<unknown>(array.length);
  let i = 0;
  try {
    for (; i < array.length; i++) {
      const item = array[i];
      out[i] = item === undefined && !(i in array) ? tagged(Tag.Hole) : encode(item, ancestors);
    }
  } catch (error) {
    throw atSegment(error, i);
  }
  ancestors.pop();
  return out;
}

function encodeMap(map: Map<unknown, unknown>, ancestors: object[]): unknown {
  rejectCircular(map, ancestors);
  ancestors.push(map);
  const entries: unknown[] = [];
  let index = 0;
  for (const [key, item] of map) {
    let encodedKey: unknown;
    try {
      encodedKey = encode(key, ancestors);
    } catch (error) {
      throw atSegment(error, mapKeyLabel(key, index, 'key'));
    }
    try {
      entries.push([encodedKey, encode(item, ancestors)]);
    } catch (error) {
      throw atSegment(error, mapKeyLabel(key, index, 'value'));
    }
    index++;
  }
  ancestors.pop();
  return tagged(Tag.Map, entries);
}

function encodeSet(set: Set<unknown>, ancestors: object[]): unknown {
  rejectCircular(set, ancestors);
  ancestors.push(set);
  const items: unknown[] = [];
  let index = 0;
  try {
    for (const item of set) {
      items.push(encode(item, ancestors));
      index++;
    }
  } catch (error) {
    throw atSegment(error, { label: `[Set item #${index}]` });
  }
  ancestors.pop();
  return tagged(Tag.Set, items);
}

/* ------------------------------------------------------------------------------------------
 * Tagged decoding: top-down over the JSON.parse result, rewriting tagged nodes in place.
 *
 * NOTE: not a JSON.parse reviver. A reviver runs bottom-up, so the inside of an escaped user
 * object (`{"$t":"Object","v":{"$t":"Date","v":1}}`) would already have been turned into a Date
 * before the escape is seen. Top-down, the escape is seen first and its keys are kept as data.
 *
 * NOTE: prototype safety. JSON.parse creates `__proto__` as an own data property, and assigning
 * to an existing own data property never reaches the `Object.prototype.__proto__` setter, so the
 * in-place rewrites below are safe. New objects (NullProto) have no prototype at all.
 * ---------------------------------------------------------------------------------------- */

function corrupt(detail: string): Error {
  return new Error(`JsonSerializer payload is corrupt: ${detail}`);
}

function revive(node: unknown): unknown {
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node)) return reviveArray(node);
  const record = node as Record<string, unknown>;
  if (Object.hasOwn(record, TAG)) return reviveTagged(record);
  return reviveValues(record);
}

function reviveArray(array: unknown[]): unknown[] {
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (typeof item !== 'object' || item === null) continue;
    if (!Array.isArray(item) && (item as Record<string, unknown>)[TAG] === Tag.Hole) {
      // Deleting leaves a real hole, so `i in array` is false as it was before encoding.
      // eslint-disable-next-line @typescript-eslint/no-array-delete -- a hole is what was stored
      delete array[i];
    } else {
      array[i] = revive(item);
    }
  }
  return array;
}

function reviveValues(record: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (typeof item === 'object' && item !== null) record[key] = revive(item);
  }
  return record;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SPECIAL_NUMBERS: Readonly<Record<string, number>> = {
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  '-0': -0,
};
const BIGINT_TEXT = /^-?\d+$/;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(v: unknown, tag: Tag): Buffer {
  if (typeof v !== 'string' || !BASE64_TEXT.test(v)) throw corrupt(`bad base64 in a ${tag} tag`);
  return Buffer.from(v, 'base64');
}

function reviveTagged(node: Record<string, unknown>): unknown {
  const tag = node[TAG];
  const v = node.v;
  switch (tag) {
    case Tag.Undefined:
      return undefined;
    case Tag.Number:
      if (typeof v === 'string' && Object.hasOwn(SPECIAL_NUMBERS, v)) return SPECIAL_NUMBERS[v];
      throw corrupt(`bad number tag value ${JSON.stringify(v)}`);
    case Tag.BigInt:
      // NOTE: BigInt('') is 0n, so the text is checked rather than trusted.
      if (typeof v === 'string' && BIGINT_TEXT.test(v)) return BigInt(v);
      throw corrupt(`bad bigint tag value ${JSON.stringify(v)}`);
    case Tag.Date:
      if (v === null) return new Date(NaN);
      if (typeof v === 'number') return new Date(v);
      throw corrupt(`bad Date tag value ${JSON.stringify(v)}`);
    case Tag.Map: {
      if (!Array.isArray(v)) throw corrupt('a Map tag does not hold an array of entries');
      const map = new Map<unknown, unknown>();
      for (const entry of v as unknown[]) {
        if (!Array.isArray(entry) || entry.length !== 2) throw corrupt('bad Map entry');
        map.set(revive(entry[0]), revive(entry[1]));
      }
      return map;
    }
    case Tag.Set: {
      if (!Array.isArray(v)) throw corrupt('a Set tag does not hold an array of items');
      const set = new Set<unknown>();
      for (const item of v as unknown[]) set.add(revive(item));
      return set;
    }
    case Tag.Buffer:
      return decodeBase64(v, Tag.Buffer);
    case Tag.Uint8Array:
      // Copied out of the Buffer: small Buffers share a pooled ArrayBuffer, which a plain
      // Uint8Array view would expose through `.buffer`.
      return new Uint8Array(decodeBase64(v, Tag.Uint8Array));
    case Tag.Object:
      if (!isRecord(v)) throw corrupt('an Object tag does not hold an object');
      return reviveValues(v);
    case Tag.NullProto: {
      if (!isRecord(v)) throw corrupt('a NullProto tag does not hold an object');
      const out = Object.create(null) as Record<string, unknown>;
      for (const key of Object.keys(v)) out[key] = revive(v[key]);
      return out;
    }
    case Tag.Hole:
      throw corrupt('an array hole tag outside of an array');
    default:
      throw corrupt(`unknown type tag ${JSON.stringify(tag)}`);
  }
}

function describeStart(payload: Buffer): string {
  const hex = payload.subarray(0, 8).toString('hex');
  return payload.length === 0 ? 'an empty payload' : `a payload starting with 0x${hex}`;
}

/**
 * The default serializer (`serializer: 'json'`): JSON text that round-trips exactly, in type and
 * value, everything a cached value is made of:
 *
 * - string, boolean, null, number including `NaN`, `Infinity`, `-Infinity` and `-0`;
 * - `undefined` inside arrays and objects (an own key holding `undefined` stays an own key);
 * - arrays, including sparse ones (a hole comes back as a hole, not as `undefined`);
 * - plain objects (prototype `Object.prototype`, or `null`, which is kept), nested freely,
 *   including objects whose own keys look like the format's tags (`$t`) and objects with own
 *   `__proto__` / `constructor` / `prototype` keys (restored as own data properties; decoding
 *   never changes a prototype);
 * - `Date` (also an invalid Date), `BigInt`, `Map` (any keys, also objects), `Set`,
 *   `Buffer` (comes back as a Buffer) and `Uint8Array` (comes back as a plain Uint8Array).
 *
 * `serialize` throws a `TypeError` naming the path of the offending part
 * (e.g. `value.items[2].fn is a function`) for a function, a symbol, a circular reference, or an
 * instance of any other class (including WeakMap, Promise, RegExp, Error, other typed arrays,
 * Array/Map subclasses), which could not come back as the same class. A top-level `undefined`
 * is refused too: it could not be told apart from a miss.
 *
 * What is not kept: symbol-keyed and non-enumerable properties, extra non-index properties of
 * arrays, getters (their current value is stored), and shared references (an object reachable
 * twice comes back as two equal copies).
 *
 * Plain JSON-compatible values, the common case, cost one quick type-check walk plus
 * `JSON.stringify`, and `JSON.parse` to read back; only values that contain a special type pay
 * for tagging.
 *
 * @example
 * const serializer = new JsonSerializer();
 * const bytes = serializer.serialize({ at: new Date(0), ids: new Set([1n]) });
 * serializer.deserialize(bytes); // { at: Date(0), ids: Set { 1n } }
 */
export class JsonSerializer implements CacheSerializer {
  /**
   * Encodes `value` to bytes (`j1:` + JSON, or `j1t` + tagged JSON, then a newline).
   * @throws TypeError when the value (or a part of it, named by path) cannot be stored exactly.
   */
  serialize(value: unknown): Buffer {
    return Buffer.from(this.serializeText(value));
  }

  /**
   * The payload `serialize` makes, as text (its bytes are this string's UTF-8). The cache frames
   * it straight into the entry envelope, skipping one Buffer and copy per value.
   * @throws TypeError as `serialize`.
   */
  serializeText(value: unknown): string {
    if (value === undefined) {
      throw new TypeError(
        'JsonSerializer cannot encode the value: value is undefined, which would read back as ' +
          'a cache miss (store null instead)',
      );
    }
    try {
      if (isPlainJson(value, 0)) return PLAIN_PREFIX + JSON.stringify(value) + TERMINATOR;
      return TAGGED_PREFIX + JSON.stringify(encode(value, [])) + TERMINATOR;
    } catch (error) {
      if (error instanceof RejectedValueError) throw error.toTypeError();
      throw error;
    }
  }

  /**
   * Decodes bytes written by `serialize`.
   * @throws Error when the payload was written by another serializer or format version, is
   *   truncated, or is otherwise corrupt.
   */
  deserialize(payload: Buffer): unknown {
    const length = payload.length;
    if (length < PREFIX_BYTES || payload[0] !== BYTE_J) {
      throw new Error(
        `Not a JsonSerializer payload: ${describeStart(payload)} (written by another serializer?)`,
      );
    }
    if (payload[1] !== BYTE_1) {
      throw new Error(
        `Unsupported JsonSerializer format version ${JSON.stringify(String.fromCharCode(payload[1]!))} ` +
          `(this version reads "1"; written by a newer version of the library?)`,
      );
    }
    const mode = payload[2];
    if (mode !== BYTE_COLON && mode !== BYTE_T) {
      throw new Error(
        `Not a JsonSerializer payload: ${describeStart(payload)} (unknown mode byte)`,
      );
    }
    if (length < PREFIX_BYTES + 2 || payload[length - 1] !== BYTE_NEWLINE) {
      throw corrupt(`truncated (${length} bytes, no terminator)`);
    }
    // NOTE: Buffer#toString would silently turn invalid UTF-8 into U+FFFD; isUtf8 is a cheap
    // SIMD check that makes such corruption an error instead.
    if (!isUtf8(payload)) throw corrupt('not valid UTF-8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8', PREFIX_BYTES, length - 1));
    } catch (error) {
      throw new Error(
        `JsonSerializer payload is corrupt: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    return mode === BYTE_T ? revive(parsed) : parsed;
  }
}
