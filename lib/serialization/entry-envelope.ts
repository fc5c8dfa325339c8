import { CacheCorruptEntryError } from '../errors/cache.errors.js';

/**
 * What the cache stores in L2 for one entry: the serializer's bytes plus the entry's absolute
 * expiry and optional metadata.
 */
export interface EntryEnvelope {
  /** Absolute expiry, epoch milliseconds. `Infinity` means no expiry. */
  expiresAt: number;
  /** The serialized value, as produced by the configured serializer. Opaque here. */
  payload: Buffer;
  /**
   * Small JSON-compatible metadata (tags and their versions). Omitted when empty: an empty
   * object is not written and does not come back.
   */
  meta?: Readonly<Record<string, unknown>>;
}

/*
 * Binary layout, version 1 (all integers big-endian):
 *
 *   offset  size  field
 *   0       1     magic 0xDC
 *   1       1     version (1)
 *   2       1     flags: bit 0 = meta present; every other bit must be 0
 *   3       8     expiresAt, float64 (epoch ms)
 *   11      4     payload length, uint32
 *   15      4     meta length, uint32            } only when flag bit 0 is set
 *   19      n     meta, UTF-8 JSON of an object  }
 *   ...     p     payload
 *
 * NOTE: the payload length is stored although the payload runs to the end, so a truncated
 * value (or bytes appended to it) is detected here, whatever serializer wrote the payload.
 */
const MAGIC = 0xdc;
const VERSION = 1;
const FLAG_META = 0b0000_0001;
const KNOWN_FLAGS = FLAG_META;
const HEADER_BYTES = 15;
const META_LENGTH_BYTES = 4;
const MAX_UINT32 = 0xffff_ffff;

function hasOwnKeys(record: Readonly<Record<string, unknown>>): boolean {
  for (const key in record) {
    if (Object.hasOwn(record, key)) return true;
  }
  return false;
}

/**
 * Frames one entry for L2 in a single allocation.
 *
 * @throws RangeError when `expiresAt` is NaN or the payload or meta exceed 4 GiB (a caller bug:
 *   Redis values are at most 512 MB).
 * @example
 * const raw = encodeEnvelope({ expiresAt: Date.now() + 60_000, payload: serializer.serialize(v) });
 */
/**
 * JSON of frozen meta objects. The cache stamps every untagged entry with one frozen object per
 * namespace version, so its JSON is built once rather than on every `set()`.
 */
const frozenMetaJson = new WeakMap<object, string | undefined>();

function metaJsonOf(meta: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (meta === undefined) return undefined;
  if (!Object.isFrozen(meta)) return hasOwnKeys(meta) ? JSON.stringify(meta) : undefined;
  if (frozenMetaJson.has(meta)) return frozenMetaJson.get(meta);
  const json = hasOwnKeys(meta) ? JSON.stringify(meta) : undefined;
  frozenMetaJson.set(meta, json);
  return json;
}

export function encodeEnvelope(entry: EntryEnvelope): Buffer {
  return encodeEnvelopeOf(entry.expiresAt, entry.payload, entry.meta);
}

/**
 * `encodeEnvelope` for a payload given as text (written as UTF-8 straight into the envelope: no
 * intermediate Buffer and copy, which is most of the framing cost of a small value).
 */
export function encodeTextEnvelope(
  expiresAt: number,
  payload: string,
  meta?: Readonly<Record<string, unknown>>,
): Buffer {
  return encodeEnvelopeOf(expiresAt, payload, meta);
}

function encodeEnvelopeOf(
  expiresAt: number,
  payload: Buffer | string,
  meta: Readonly<Record<string, unknown>> | undefined,
): Buffer {
  if (typeof expiresAt !== 'number' || Number.isNaN(expiresAt)) {
    throw new RangeError(`EntryEnvelope.expiresAt must be a number of epoch ms, got ${expiresAt}`);
  }
  const payloadBytes =
    typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  if (payloadBytes > MAX_UINT32) {
    throw new RangeError(`EntryEnvelope.payload is too large (${payloadBytes} bytes)`);
  }
  const metaJson = metaJsonOf(meta);
  const metaBytes = metaJson === undefined ? 0 : Buffer.byteLength(metaJson, 'utf8');
  if (metaBytes > MAX_UINT32) {
    throw new RangeError(`EntryEnvelope.meta is too large (${metaBytes} bytes)`);
  }
  const metaSection = metaJson === undefined ? 0 : META_LENGTH_BYTES + metaBytes;

  const out = Buffer.allocUnsafe(HEADER_BYTES + metaSection + payloadBytes);
  out[0] = MAGIC;
  out[1] = VERSION;
  out[2] = metaJson === undefined ? 0 : FLAG_META;
  out.writeDoubleBE(expiresAt, 3);
  out.writeUInt32BE(payloadBytes, 11);
  let offset = HEADER_BYTES;
  if (metaJson !== undefined) {
    out.writeUInt32BE(metaBytes, offset);
    offset += META_LENGTH_BYTES;
    offset += out.write(metaJson, offset, 'utf8');
  }
  if (typeof payload === 'string') out.write(payload, offset, 'utf8');
  else payload.copy(out, offset);
  return out;
}

/**
 * The meta last decoded, parsed and frozen. Entries written under one namespace version without
 * tags carry the same meta bytes, so most decodes compare ~30 bytes instead of parsing JSON.
 */
let lastMeta:
  { readonly bytes: Buffer; readonly value: Readonly<Record<string, unknown>> } | undefined;

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (typeof inner === 'object' && inner !== null) deepFreeze(inner as object);
  }
  return Object.freeze(value);
}

/**
 * Whether `raw` holds `bytes` from `offset` on. A loop rather than `Buffer#compare`: for the ~30
 * bytes of a meta, the native call's argument checks cost more than the comparison (measured:
 * 140 ns per compare, about half of the envelope's whole decode).
 */
function holdsAt(raw: Buffer, offset: number, bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (raw[offset + i] !== bytes[i]) return false;
  }
  return true;
}

function corruptEntry(key: string, detail: string, cause?: unknown): CacheCorruptEntryError {
  return new CacheCorruptEntryError(
    key,
    `L2 entry "${key}" is corrupt: ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}

/** An entry's envelope read in place: its payload is `raw` from `payloadStart` to the end. */
export interface EnvelopeView {
  readonly expiresAt: number;
  readonly payloadStart: number;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/**
 * Reads an entry written by `encodeEnvelope`. The returned `payload` is a view into `raw`
 * (no copy): keep `raw` unmodified while the payload is in use. The returned `meta` is frozen,
 * and shared by entries whose meta bytes are the same.
 *
 * @param key the cache key the value was read from; named in the error.
 * @throws CacheCorruptEntryError when `raw` has the wrong magic byte or version, unknown flags,
 *   is truncated or longer than its lengths say, or has meta that is not a JSON object.
 */
export function decodeEnvelope(key: string, raw: Buffer): EntryEnvelope {
  const { expiresAt, payloadStart, meta } = readEnvelope(key, raw);
  const payload = raw.subarray(payloadStart);
  return meta === undefined ? { expiresAt, payload } : { expiresAt, payload, meta };
}

/**
 * {@link decodeEnvelope} without making the payload's view: where the payload starts in `raw`
 * (the read path hands `raw` and the offset to the serializer).
 * @throws CacheCorruptEntryError as `decodeEnvelope`.
 */
export function readEnvelope(key: string, raw: Buffer): EnvelopeView {
  if (raw.length === 0) throw corruptEntry(key, 'empty value');
  if (raw[0] !== MAGIC) {
    throw corruptEntry(
      key,
      `bad magic byte 0x${raw[0]!.toString(16).padStart(2, '0')} (expected 0xdc; ` +
        'the value was not written by this library)',
    );
  }
  if (raw.length < HEADER_BYTES) {
    throw corruptEntry(key, `truncated header (${raw.length} of ${HEADER_BYTES} bytes)`);
  }
  if (raw[1] !== VERSION) {
    throw corruptEntry(
      key,
      `unsupported envelope version ${raw[1]} (this version reads ${VERSION})`,
    );
  }
  const flags = raw[2]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw corruptEntry(key, `unknown flags 0x${flags.toString(16).padStart(2, '0')}`);
  }
  const expiresAt = raw.readDoubleBE(3);
  if (Number.isNaN(expiresAt)) throw corruptEntry(key, 'expiresAt is NaN');
  const payloadBytes = raw.readUInt32BE(11);

  let offset = HEADER_BYTES;
  let meta: Readonly<Record<string, unknown>> | undefined;
  if ((flags & FLAG_META) !== 0) {
    if (raw.length < offset + META_LENGTH_BYTES) throw corruptEntry(key, 'truncated meta length');
    const metaBytes = raw.readUInt32BE(offset);
    offset += META_LENGTH_BYTES;
    if (metaBytes === 0) throw corruptEntry(key, 'meta flag set with empty meta');
    if (raw.length < offset + metaBytes) {
      throw corruptEntry(
        key,
        `meta length ${metaBytes} runs past the end of the value (${raw.length} bytes)`,
      );
    }
    const metaEnd = offset + metaBytes;
    if (
      lastMeta !== undefined &&
      lastMeta.bytes.length === metaBytes &&
      holdsAt(raw, offset, lastMeta.bytes)
    ) {
      meta = lastMeta.value;
    } else {
      let parsed: unknown;
      try {
        // NOTE: JSON.parse makes `__proto__` an ordinary own key; the result is returned as is
        // and never merged into another object, so meta cannot pollute a prototype.
        parsed = JSON.parse(raw.toString('utf8', offset, metaEnd));
      } catch (error) {
        throw corruptEntry(key, 'meta is not valid JSON', error);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw corruptEntry(key, 'meta is not a JSON object');
      }
      meta = deepFreeze(parsed as Record<string, unknown>);
      lastMeta = { bytes: Buffer.from(raw.subarray(offset, metaEnd)), value: meta };
    }
    offset = metaEnd;
  }

  if (raw.length !== offset + payloadBytes) {
    throw corruptEntry(
      key,
      `payload length is ${raw.length - offset} bytes, the header says ${payloadBytes} ` +
        '(truncated or extended)',
    );
  }
  return meta === undefined
    ? { expiresAt, payloadStart: offset }
    : { expiresAt, payloadStart: offset, meta };
}
