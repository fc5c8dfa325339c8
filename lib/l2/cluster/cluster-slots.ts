/** Number of hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

/**
 * The hash slot of `key` (CRC16/XMODEM of the key, or of its first non-empty `{hash tag}`,
 * modulo 16384), computed on the same bytes as ioredis' own routing (`cluster-key-slot`), so that
 * the store's per-node pipelines are the ones ioredis accepts. NOTE: those bytes are the key's
 * UTF-8 except for a lone UTF-16 surrogate, which ioredis encodes differently from the wire; such
 * a key costs one MOVED redirect, which the store follows. The tag rule is Redis' own (first `{`,
 * first `}` after it, non-empty between, else the whole key).
 *
 * NOTE: why not `cluster-key-slot` itself: its tag rule is not Redis' (for `{}{user}` it hashes
 * `user`, Redis the whole key), and the store must group keys by the slot Redis computes.
 *
 * @example
 * clusterKeySlot('{user:1}:name') === clusterKeySlot('{user:1}:email'); // true
 */
export function clusterKeySlot(key: string): number {
  const bytes = utf8Like(key);
  let tagStart = -1;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x7b /* { */) {
      tagStart = i + 1;
      break;
    }
  }
  if (tagStart !== -1) {
    for (let i = tagStart; i < bytes.length; i++) {
      if (bytes[i] === 0x7d /* } */) {
        if (i > tagStart) return crc16(bytes, tagStart, i) & 0x3fff;
        break;
      }
    }
  }
  return crc16(bytes, 0, bytes.length) & 0x3fff;
}

/** The bytes cluster-key-slot hashes for a string (UTF-8, lone surrogates as 3 bytes). */
function utf8Like(text: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      bytes.push(code);
    } else if (code < 0x800) {
      bytes.push((code >> 6) | 0xc0, (code & 0x3f) | 0x80);
    } else if (
      (code & 0xfc00) === 0xd800 &&
      i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      code = 0x10000 + ((code & 0x3ff) << 10) + (text.charCodeAt(++i) & 0x3ff);
      bytes.push(
        (code >> 18) | 0xf0,
        ((code >> 12) & 0x3f) | 0x80,
        ((code >> 6) & 0x3f) | 0x80,
        (code & 0x3f) | 0x80,
      );
    } else {
      bytes.push((code >> 12) | 0xe0, ((code >> 6) & 0x3f) | 0x80, (code & 0x3f) | 0x80);
    }
  }
  return bytes;
}

/** CRC16/XMODEM table (polynomial 0x1021), as Redis Cluster uses. */
const CRC16_TABLE: readonly number[] = (() => {
  const table: number[] = [];
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table.push(crc);
  }
  return table;
})();

function crc16(bytes: readonly number[], start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ (bytes[i] ?? 0)) & 0xff] ?? 0);
  }
  return crc;
}
