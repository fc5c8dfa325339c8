/** The values, keys and key distributions every subject gets alike. */

/** A catalogue-like entry whose JSON is about 200 bytes. */
export interface BenchValue {
  id: number;
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
  tags: string[];
  description: string;
}

/**
 * A distinct value of ~200 bytes (as JSON) for index `i`. Its strings are flat (built with
 * `join`): a template literal would make V8 cons-strings (ropes), which take more memory until
 * something flattens them, e.g. JSON.stringify in a cache that serializes; the heap scenario would
 * then credit a serializing cache with memory it did not save.
 */
export function makeValue(i: number): BenchValue {
  return {
    id: i,
    sku: flat('SKU-', (i * 2_654_435_761) % 1_000_000_007),
    name: flat('Product number ', i),
    priceCents: 100 + ((i * 7919) % 100_000),
    stock: (i * 31) % 500,
    tags: ['bench', flat('group-', i % 97)],
    description: flat(
      'Item ',
      i,
      ': a sturdy thing made for benchmarks, ',
      'x'.repeat(40 + (i % 7)),
    ),
  };
}

function flat(...parts: Array<string | number>): string {
  return parts.join('');
}

/** `count` values prepared up front, so building them is never timed. */
export function makeValues(count: number, offset = 0): BenchValue[] {
  return Array.from({ length: count }, (_, i) => makeValue(offset + i));
}

/** The same values as JSON strings (for raw clients). */
export function makeJsonValues(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify(makeValue(offset + i)));
}

/** Keys `${prefix}${i}` for i in [0, count). */
export function makeKeys(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** A small deterministic PRNG (mulberry32), so every subject sees the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * `count` draws from a Zipf distribution over ranks [0, n) with exponent `s` (0.99, as YCSB),
 * by inverse CDF over the precomputed harmonic sums. Rank 0 is the hottest key.
 */
export function zipfSample(n: number, s: number, count: number, seed: number): Uint32Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / Math.pow(k + 1, s);
    cdf[k] = sum;
  }
  for (let k = 0; k < n; k++) cdf[k] = cdf[k]! / sum;
  const random = seededRandom(seed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}
