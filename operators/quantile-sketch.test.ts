import { describe, expect, it } from 'vitest';
import { nearestRankIndex } from './aggregation.js';
import { QuantileSketch } from './quantile-sketch.js';

/** A deterministic pseudo-random sequence (LCG), so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function exact(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[nearestRankIndex(sorted.length, q)]!;
}

const QS = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

describe('QuantileSketch', () => {
  it('answers nearest-rank quantiles within 1 % of the exact value (log-normal, negatives, zeros)', () => {
    const r = lcg(7);
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const u = r();
      // log-normal-ish latencies, a few zeros and negative values
      values.push(i % 50 === 0 ? 0 : i % 31 === 0 ? -Math.exp(r() * 5) : Math.exp(2 + 3 * u * u));
    }
    const s = new QuantileSketch(0.01);
    s.addAll(values);
    expect(s.count).toBe(values.length);
    for (const q of QS) {
      const want = exact(values, q);
      const got = s.quantile(q)!;
      expect(Math.abs(got - want)).toBeLessThanOrEqual(0.01 * Math.abs(want) + 1e-12);
    }
    expect(s.quantile(1)).toBe(Math.max(...values));
  });

  it('is a function of the multiset: merging in any split and order gives the same encoding', () => {
    const r = lcg(3);
    const values = Array.from({ length: 5_000 }, () => (r() - 0.2) * 1000);
    const whole = new QuantileSketch(0.01);
    whole.addAll(values);
    const parts = [0, 1, 2, 3].map(() => new QuantileSketch(0.01));
    for (const [i, v] of values.entries()) parts[(i * 7) % 4]!.add(v);
    const merged = new QuantileSketch(0.01);
    for (const p of [parts[2]!, parts[0]!, parts[3]!, parts[1]!]) merged.merge(p);
    expect(merged.toJSON()).toEqual(whole.toJSON());
    for (const q of QS) expect(merged.quantile(q)).toBe(whole.quantile(q));
  });

  it('merges negative values (the library merge skips the negative store)', () => {
    const a = new QuantileSketch(0.01);
    const b = new QuantileSketch(0.01);
    a.addAll([1, 2, 3]);
    b.addAll([-10, -20, -30]);
    a.merge(b);
    expect(a.count).toBe(6);
    expect(Math.abs(a.quantile(1 / 6)! - -30)).toBeLessThanOrEqual(0.3);
  });

  it('restores exactly from its JSON form, outliers included', () => {
    const s = new QuantileSketch(0.005);
    s.addAll([0, -0.5, 3, 1e6, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 42, 42, 7e-3]);
    const back = QuantileSketch.fromJSON(JSON.parse(JSON.stringify(s)));
    expect(back.toJSON()).toEqual(s.toJSON());
    for (const q of QS) expect(back.quantile(q)).toBe(s.quantile(q));
    expect(back.quantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(back.quantile(0.05)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('refuses to merge sketches of different accuracy', () => {
    expect(() => new QuantileSketch(0.01).merge(new QuantileSketch(0.02))).toThrow(/relative accuracy/);
  });

  it('is null when empty', () => {
    expect(new QuantileSketch(0.01).quantile(0.5)).toBeNull();
  });
});
