import { isUtf8 } from 'node:buffer';

import type { CacheSerializer } from './serializer.interface.js';
import { encodeTagged, isPlainJson, RejectedValueError } from './tagged-json.encoder.js';
import { corrupt, revive } from './tagged-json.reviver.js';

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
const REPLACEMENT_CHARACTER = '\uFFFD';

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
      return TAGGED_PREFIX + JSON.stringify(encodeTagged(value)) + TERMINATOR;
    } catch (error) {
      if (error instanceof RejectedValueError) throw error.toTypeError();
      throw error;
    }
  }

  /**
   * Decodes text made by `serializeText` in this process (a value written here, read back before
   * it ever left as bytes): no UTF-8 or framing checks, which bytes from outside need.
   * @throws Error when it is not such text.
   */
  deserializeText(payload: string): unknown {
    const mode = payload.charCodeAt(2);
    if (payload.charCodeAt(0) !== BYTE_J || (mode !== BYTE_COLON && mode !== BYTE_T)) {
      throw new Error(`Not JsonSerializer text: ${JSON.stringify(payload.slice(0, 8))}`);
    }
    const parsed: unknown = JSON.parse(payload.slice(PREFIX_BYTES, -1));
    return mode === BYTE_T ? revive(parsed) : parsed;
  }

  /**
   * Decodes bytes written by `serialize`.
   * @throws Error when the payload was written by another serializer or format version, is
   *   truncated, or is otherwise corrupt.
   */
  deserialize(payload: Buffer): unknown {
    return this.deserializeAt(payload, 0);
  }

  /**
   * `deserialize` of the payload that fills `bytes` from `start` to the end: the cache reads an
   * entry's payload in place in its envelope, without a view of it.
   * @throws Error as `deserialize`.
   */
  deserializeAt(bytes: Buffer, start: number): unknown {
    const end = bytes.length;
    if (end - start < PREFIX_BYTES || bytes[start] !== BYTE_J) {
      throw new Error(
        `Not a JsonSerializer payload: ${describeStart(bytes.subarray(start))} (written by another serializer?)`,
      );
    }
    if (bytes[start + 1] !== BYTE_1) {
      throw new Error(
        `Unsupported JsonSerializer format version ${JSON.stringify(String.fromCharCode(bytes[start + 1]!))} ` +
          `(this version reads "1"; written by a newer version of the library?)`,
      );
    }
    const mode = bytes[start + 2];
    if (mode !== BYTE_COLON && mode !== BYTE_T) {
      throw new Error(
        `Not a JsonSerializer payload: ${describeStart(bytes.subarray(start))} (unknown mode byte)`,
      );
    }
    if (end - start < PREFIX_BYTES + 2 || bytes[end - 1] !== BYTE_NEWLINE) {
      throw corrupt(`truncated (${end - start} bytes, no terminator)`);
    }
    const textStart = start + PREFIX_BYTES;
    const text = bytes.toString('utf8', textStart, end - 1);
    // NOTE: Buffer#toString silently turns invalid UTF-8 into U+FFFD, which must be an error
    // instead. Text without U+FFFD came from valid UTF-8; only text with one (a real U+FFFD, or
    // corruption) pays for isUtf8 over its bytes (a scan that finds no U+FFFD in ASCII text at
    // once, where isUtf8 and the view it needs cost ~110 ns a value).
    if (text.includes(REPLACEMENT_CHARACTER) && !isUtf8(bytes.subarray(textStart, end - 1))) {
      throw corrupt('not valid UTF-8');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(
        `JsonSerializer payload is corrupt: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    return mode === BYTE_T ? revive(parsed) : parsed;
  }
}
