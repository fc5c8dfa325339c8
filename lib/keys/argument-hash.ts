/**
 * Stable serialization and hashing of method arguments, for default cache keys and for objects
 * named in key templates. "Stable" means equal content gives equal text whatever the order in
 * which an object's keys were added, the order of a Map's or a Set's entries, or the process.
 */

/**
 * A value that cannot be part of a key (a function, a symbol, a circular structure).
 * Callers turn it into an error naming the decorated method. Internal.
 */
export class UnhashableValueError extends Error {
  constructor(
    /** Where in the value, e.g. `[1].callback`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${reason} at ${path || 'the top level'}`);
    this.name = 'UnhashableValueError';
  }
}

/**
 * Text that identifies `value` by content: strings are quoted (so `'1'` and `1` differ), object
 * keys sorted, properties holding `undefined` left out (as JSON does), Map and Set entries sorted,
 * Dates by their time, Buffers and typed arrays by their bytes, objects with `toJSON()` (Decimal,
 * ObjectId...) by what it returns. Class instances serialize like plain objects of their own
 * enumerable properties, so a DTO and an equal plain object give the same key.
 *
 * @throws UnhashableValueError for a function, a symbol, a WeakMap/WeakSet/Promise, or a cycle
 * @example stableSerialize({ b: 1, a: [1, 'x'] }) === stableSerialize({ a: [1, 'x'], b: 1 })
 */
export function stableSerialize(value: unknown): string {
  return serialize(value, '', new Set());
}

/**
 * A 64-bit hash, as 16 hex characters, of the arguments of a call. Trailing `undefined`
 * arguments are ignored, so `f(1)` and `f(1, undefined)` hash alike.
 *
 * NOTE: the hash is not cryptographic (cyrb53 widened to 64 bits): fast enough for every call on
 * the L1-hit path, and collisions within one method need around 2^32 distinct argument lists.
 * Give an explicit `key` where even that is unacceptable.
 *
 * @throws UnhashableValueError when an argument cannot be serialized
 */
export function hashArguments(args: readonly unknown[]): string {
  let length = args.length;
  while (length > 0 && args[length - 1] === undefined) length--;
  // Same text as stableSerialize(args.slice(0, length)), without its bookkeeping for the common
  // case of primitive arguments: this runs on every call of a method with a default key.
  let text = '[';
  for (let i = 0; i < length; i++) {
    if (i > 0) text += ',';
    const arg = args[i];
    text +=
      typeof arg === 'string'
        ? JSON.stringify(arg)
        : serialize(
            arg,
            `[${i}]`,
            typeof arg === 'object' && arg !== null ? new Set() : NO_OBJECTS,
          );
  }
  return hashString(text + ']');
}

/** The 64-bit hash, as 16 hex characters, of one value's {@link stableSerialize} text. */
export function hashValue(value: unknown): string {
  return hashString(stableSerialize(value));
}

/** cyrb53 (public domain, bryc) with both 32-bit lanes kept: 64 bits as 16 hex characters. */
export function hashString(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex32(h2) + hex32(h1);
}

/** Byte to two hex digits: several times faster than `toString(16).padStart(...)`. */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function hex32(n: number): string {
  return (
    (HEX[(n >>> 24) & 255] as string) +
    (HEX[(n >>> 16) & 255] as string) +
    (HEX[(n >>> 8) & 255] as string) +
    (HEX[n & 255] as string)
  );
}

/** The `seen` set of a primitive's serialization, which never adds to it. */
const NO_OBJECTS: Set<object> = new Set();

function serialize(value: unknown, path: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // -0 and 0 are one key; NaN and the infinities keep their names.
      return Object.is(value, -0) ? '0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'function':
      throw new UnhashableValueError(path, 'a function cannot be part of a cache key');
    case 'symbol':
      throw new UnhashableValueError(path, 'a symbol cannot be part of a cache key');
    case 'object':
      if (value === null) return 'null';
      return serializeObject(value, path, seen);
  }
  throw new UnhashableValueError(path, `a ${typeof value} cannot be part of a cache key`);
}

function serializeObject(value: object, path: string, seen: Set<object>): string {
  if (value instanceof Date) return `Date(${value.getTime()})`;
  if (value instanceof RegExp) return `RegExp(${String(value)})`;
  if (ArrayBuffer.isView(value)) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return `${value.constructor.name}(${bytes.toString('base64')})`;
  }
  if (value instanceof ArrayBuffer) return `ArrayBuffer(${Buffer.from(value).toString('base64')})`;
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof Promise) {
    throw new UnhashableValueError(
      path,
      `a ${value.constructor.name} cannot be part of a cache key`,
    );
  }
  if (seen.has(value))
    throw new UnhashableValueError(path, 'a circular reference cannot be part of a cache key');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const items: string[] = [];
      for (let i = 0; i < value.length; i++) items.push(serialize(value[i], `${path}[${i}]`, seen));
      return `[${items.join(',')}]`;
    }
    if (value instanceof Map) {
      const entries = [...value].map(
        ([k, v], i) =>
          `${serialize(k, `${path}.<key ${i}>`, seen)}=>${serialize(v, `${path}.<value ${i}>`, seen)}`,
      );
      return `Map{${entries.sort().join(',')}}`;
    }
    if (value instanceof Set) {
      const members = [...value].map((member, i) =>
        serialize(member, `${path}.<member ${i}>`, seen),
      );
      return `Set{${members.sort().join(',')}}`;
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      return serialize((toJSON as () => unknown).call(value), path, seen);
    }
    const record = value as Record<string, unknown>;
    const fields: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const field = record[key];
      if (field === undefined) continue;
      fields.push(`${JSON.stringify(key)}:${serialize(field, `${path}.${key}`, seen)}`);
    }
    return `{${fields.join(',')}}`;
  } finally {
    seen.delete(value);
  }
}
