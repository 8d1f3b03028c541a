/**
 * Exponentially decayed counts: a count `c` as of time `t` is worth `c · 2^(−(T − t)/halfLife)` at
 * a later time T. An event older than `t` adds its own decayed weight, so the count does not
 * depend on how far out of order the records came (up to float rounding).
 */

/** A decayed count vector (one or more counts decayed together) as of time `t`. */
export interface Decayed {
  readonly c: number[];
  t: number;
}

/** `c` counted at `t`, worth at `to` (no growth when `to` ≤ `t`). */
export function decayTo(c: number, t: number, to: number, halfLifeMs: number): number {
  return to <= t ? c : c * 2 ** (-(to - t) / halfLifeMs);
}

/** A new vector of `n` zero counts. */
export function emptyDecayed(n: number): Decayed {
  return { c: new Array<number>(n).fill(0), t: Number.NEGATIVE_INFINITY };
}

/** Adds 1 to count `i` at time `ts` (in place). */
export function addDecayed(d: Decayed, i: number, ts: number, halfLifeMs: number): void {
  if (ts >= d.t) {
    if (d.t !== Number.NEGATIVE_INFINITY && ts > d.t) {
      const f = 2 ** (-(ts - d.t) / halfLifeMs);
      for (let j = 0; j < d.c.length; j++) d.c[j]! *= f;
    }
    d.t = ts;
    d.c[i]! += 1;
  } else {
    d.c[i]! += 2 ** (-(d.t - ts) / halfLifeMs);
  }
}
