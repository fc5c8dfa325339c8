import { TAG, Tag } from './json-tags.js';

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

export function corrupt(detail: string): Error {
  return new Error(`JsonSerializer payload is corrupt: ${detail}`);
}

export function revive(node: unknown): unknown {
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
