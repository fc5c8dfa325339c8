/**
 * A small seeded PRNG (mulberry32) so a randomized test can print its seed and be replayed
 * exactly: `SEED=1234 npm test -- <file>`.
 */
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

/** The seed from `SEED`, or a fresh one. */
export function testSeed(): number {
  const fromEnv = Number(process.env['SEED']);
  return Number.isInteger(fromEnv) ? fromEnv : Math.floor(Math.random() * 2 ** 31);
}
