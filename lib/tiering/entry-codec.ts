import { CacheCorruptEntryError } from '../errors/cache.errors.js';
import { CacheOptionsError } from '../errors/cache.errors.js';
import { CacheSerializationError } from '../errors/cache.errors.js';
import { CacheValueTooLargeError } from '../errors/cache.errors.js';
import { assertKey } from '../keys/key-rules.js';
import { MAX_ENTRY_TTL_MS } from '../keys/version-keys.js';
import { parseDuration, type Duration } from '../options/duration.js';
import type { ResolvedCacheOptions } from '../options/resolved-options.js';
import {
  encodeEnvelope,
  encodeTextEnvelope,
  readEnvelope,
} from '../serialization/entry-envelope.js';
import { JsonSerializer } from '../serialization/json.serializer.js';
import { assertArray, assertTag } from './argument-checks.js';
import type { VersionStamp } from '../keys/version-keys.js';
import { storePayload } from '../write-behind/flusher-ports.js';
import type { PendingSet } from '../write-behind/pending-write.js';

/** A value checked and stamped, ready to store; its payload is made by {@link EntryCodec.encoded}. */
export interface Prepared {
  readonly key: string;
  readonly fullKey: string;
  readonly value: unknown;
  /** When it was prepared, epoch ms (its TTL counts from here). */
  readonly at: number;
  /** Physical expiry: the TTL plus any stale window. */
  readonly expiresAt: number;
  /** End of the TTL proper; before `expiresAt` when a stale window is kept. */
  readonly freshUntil: number;
  readonly stamp: VersionStamp;
  readonly tags: readonly string[] | undefined;
  /** The serialized value, once {@link EntryCodec.encoded} made it. */
  payload?: string | Buffer;
}

/** An L2 entry decoded. */
export interface Decoded {
  readonly value: unknown;
  readonly expiresAt: number;
  readonly freshUntil: number;
  readonly stamp: VersionStamp | undefined;
}

/** What the codec needs of the version registry: the stamp of a write made now. */
export interface Stamper {
  stamp(tags: readonly string[] | undefined): VersionStamp;
}

export type CodecOptions = Pick<
  ResolvedCacheOptions,
  'maxKeyLength' | 'ttlMs' | 'serializer' | 'maxValueBytes'
>;

/**
 * Turns a caller's value into what L2 stores (checked, stamped, serialized, framed) and an L2
 * entry back into a value with its expiry and stamp. No I/O and no reporting: the caller decides
 * what a bad entry costs.
 */
export class EntryCodec {
  constructor(
    private readonly options: CodecOptions,
    /** Namespace prefix of every data key in L2. */
    private readonly prefix: string,
    private readonly versions: Stamper,
  ) {}

  /** Checks the arguments of a write and stamps it; serializes nothing. */
  prepare(
    key: string,
    value: unknown,
    ttl: Duration | undefined,
    tags: readonly string[] | undefined,
    keepStaleMs = 0,
  ): Prepared {
    assertKey(key, this.options.maxKeyLength);
    if (tags !== undefined) {
      assertArray(tags, `tags of "${key}" must be an array of strings`);
      tags.forEach((tag) => assertTag(tag));
    }
    if (value === undefined) {
      throw new CacheSerializationError(
        key,
        `Cannot cache undefined under "${key}" (undefined means a miss)`,
      );
    }
    const ttlMs = ttl === undefined ? this.options.ttlMs : parseDuration(ttl, 'ttl');
    if (ttlMs < 1 || ttlMs > MAX_ENTRY_TTL_MS) {
      throw new CacheOptionsError(
        'ttl',
        `ttl of "${key}" must be between 1 ms and 365 days, got ${String(ttl)}`,
      );
    }
    const at = Date.now();
    const freshUntil = at + ttlMs;
    const expiresAt = freshUntil + Math.min(keepStaleMs, MAX_ENTRY_TTL_MS);
    return {
      key,
      fullKey: this.prefix + key,
      value,
      at,
      expiresAt,
      freshUntil,
      stamp: this.versions.stamp(tags),
      tags,
      payload: undefined,
    };
  }

  /** `entry` with its payload made now (throws for a value that cannot be encoded). */
  encoded(entry: Prepared): Prepared {
    entry.payload ??= this.serialize(entry.key, entry.value);
    return entry;
  }

  /**
   * The serialized value: JSON text for the default serializer (its bytes are made only when it
   * is sent), the serializer's bytes otherwise.
   * @throws CacheSerializationError when the serializer cannot encode the value
   * @throws CacheValueTooLargeError when it is larger than `maxValueBytes`
   */
  private serialize(key: string, value: unknown): string | Buffer {
    const serializer = this.options.serializer;
    let payload: Buffer | string;
    try {
      payload =
        serializer instanceof JsonSerializer
          ? serializer.serializeText(value)
          : serializer.serialize(value);
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new CacheSerializationError(key, `Cannot serialize the value of "${key}": ${reason}`, {
        cause: error,
      });
    }
    const max = this.options.maxValueBytes;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most text needs no byte count here.
    const bytes =
      typeof payload !== 'string'
        ? payload.length
        : payload.length * 3 <= max
          ? 0
          : Buffer.byteLength(payload, 'utf8');
    if (bytes > max) throw new CacheValueTooLargeError(key, bytes, max);
    // V8 returns JSON.stringify's text plus our prefix as a tree of string parts that takes ~1.8x
    // the text's size; reading a character flattens it into one string, which the queue and L1
    // then keep (measured: 457 -> 256 bytes for a 220-character value).
    if (typeof payload === 'string') payload.charCodeAt(0);
    return payload;
  }

  /**
   * The envelope L2 stores for a queued set: its payload framed with its absolute expiry and
   * version stamp (and the end of its TTL when it keeps a stale window). A write without a stamp
   * (a version key) is stored as is.
   */
  frame(write: PendingSet): Buffer {
    const { payload, expiresAt, freshUntil, stamp } = write;
    if (stamp === undefined) return storePayload(write);
    const meta = freshUntil !== undefined ? { ...stamp, f: freshUntil } : stamp;
    return typeof payload === 'string'
      ? encodeTextEnvelope(expiresAt, payload, meta)
      : encodeEnvelope({ expiresAt, payload, meta });
  }

  /** The queued write of an encoded `entry`, the `seq`-th write of this instance. */
  pendingSet(entry: Prepared, seq: number): PendingSet {
    const { fullKey: key, payload, expiresAt, freshUntil, stamp } = entry;
    const write: PendingSet = { kind: 'set', key, payload: payload!, expiresAt, seq, stamp };
    // Only an entry that keeps a stale window past its TTL carries when freshness ends: a field
    // on every queued write would cost ~9 bytes each (bench g, 100k writes pending).
    return freshUntil < expiresAt ? { ...write, freshUntil } : write;
  }

  /** Bytes of the envelope `entry` is stored as (tracing: it is framed here once more). */
  framedLength(entry: Prepared): number {
    return this.frame(this.pendingSet(entry, 0)).length;
  }

  /**
   * A payload this codec made (a value written here, not yet read back).
   * @throws CacheCorruptEntryError when the serializer cannot read it
   */
  deserialize(key: string, payload: string | Buffer): unknown {
    const serializer = this.options.serializer;
    try {
      return typeof payload === 'string' && serializer instanceof JsonSerializer
        ? serializer.deserializeText(payload)
        : serializer.deserialize(typeof payload === 'string' ? Buffer.from(payload) : payload);
    } catch (error: unknown) {
      const message = `The value written under "${key}" could not be decoded`;
      throw new CacheCorruptEntryError(key, message, { cause: error });
    }
  }

  /**
   * The entry in `raw`, or `undefined` when it has expired.
   * @throws CacheCorruptEntryError when `raw` is not an entry this codec can read
   */
  decode(key: string, raw: Buffer): Decoded | undefined {
    try {
      const { expiresAt, payloadStart, meta } = readEnvelope(key, raw);
      if (expiresAt <= Date.now()) return undefined;
      const freshUntil = meta?.['f'];
      const serializer = this.options.serializer;
      return {
        // The default serializer reads the payload in place; another gets its bytes as a view.
        value:
          serializer instanceof JsonSerializer
            ? serializer.deserializeAt(raw, payloadStart)
            : serializer.deserialize(raw.subarray(payloadStart)),
        expiresAt,
        freshUntil:
          typeof freshUntil === 'number' && freshUntil < expiresAt ? freshUntil : expiresAt,
        stamp: readStamp(key, meta),
      };
    } catch (error: unknown) {
      if (error instanceof CacheCorruptEntryError) throw error;
      throw new CacheCorruptEntryError(key, `L2 entry "${key}" could not be decoded`, {
        cause: error,
      });
    }
  }
}

/** The version stamp in an entry's meta; a malformed one makes the entry corrupt. */
function readStamp(
  key: string,
  meta: Readonly<Record<string, unknown>> | undefined,
): VersionStamp | undefined {
  if (meta === undefined) return undefined;
  const { g, t } = meta;
  const tagsOk =
    t === undefined ||
    (typeof t === 'object' &&
      t !== null &&
      !Array.isArray(t) &&
      Object.values(t).every((v) => typeof v === 'string'));
  if (typeof g !== 'string' || !tagsOk) {
    throw new CacheCorruptEntryError(key, `L2 entry "${key}" has a malformed version stamp`);
  }
  return meta as unknown as VersionStamp;
}
