/**
 * mulberry32: a small, fast 32-bit PRNG, good enough for test data. Returns floats in [0, 1).
 *
 * @example
 * const rand = mulberry32(42);
 * rand(); // same number on every run
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
