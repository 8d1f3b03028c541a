import { describe, expect, it } from 'vitest';
import { assessDrift, compareDrift, driftHistogram } from './assess.js';
import {
  chiSquared,
  chiSquaredSurvival,
  histogramShares,
  jensenShannon,
  kolmogorovQ,
  ksExactPValue,
  ksTwoSample,
  meanShiftZ,
  normalisedWasserstein,
  PSI_EPSILON,
  psi,
  quantileSorted,
  wasserstein,
} from './stats.js';

const counts = (o: Record<string, number>) => new Map(Object.entries(o));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('Kolmogorov–Smirnov', () => {
  it('separated samples: D = 1, exact p = 2 / C(6,3) = 0.1', () => {
    const r = ksTwoSample([1, 2, 3], [4, 5, 6])!;
    expect([r.statistic, r.method]).toEqual([1, 'exact']);
    expect(r.p_value).toBeCloseTo(0.1, 15);
    expect(ksTwoSample([3, 1, 2], [6, 4, 5])!.p_value).toBeCloseTo(0.1, 15);
  });

  it('exact p-values by counting lattice paths by hand', () => {
    // n = m = 2, D = 1: 2 of the C(4,2) = 6 paths reach |i − j| = 2.
    expect(ksExactPValue(2, 2, 1)).toBeCloseTo(1 / 3, 15);
    // n = m = 3, D = 2/3: the 2³ = 8 paths with |i − j| ≤ 1 throughout stay inside, 12 of 20 leave.
    expect(ksExactPValue(3, 3, 2 / 3)).toBeCloseTo(12 / 20, 15);
    // D = 1/3 is reached by every path (the first step already differs by 1/3).
    expect(ksExactPValue(3, 3, 1 / 3)).toBeCloseTo(1, 15);
    // n = 1, m = 2, D = 1: only the paths x,y,y and y,y,x (2 of 3) reach a full gap.
    expect(ksExactPValue(1, 2, 1)).toBeCloseTo(2 / 3, 15);
  });

  it('ties move both CDFs together', () => {
    // F_ref: 1→0.5, 2→0.75, 3→1; F_cur: 1→0.25, 2→0.75, 4→1 — gaps 0.25, 0, 0.25, 0.
    expect(ksTwoSample([1, 1, 2, 3], [1, 2, 2, 4])!.statistic).toBeCloseTo(0.25, 15);
    // Identical tied samples: D = 0, p = 1.
    expect(ksTwoSample([5, 5, 5, 7], [7, 5, 5, 5])).toEqual({ statistic: 0, p_value: 1, method: 'exact' });
  });

  it("asymptotic p from Kolmogorov's distribution (textbook critical values)", () => {
    expect(kolmogorovQ(1.358)).toBeCloseTo(0.05, 3);
    expect(kolmogorovQ(1.628)).toBeCloseTo(0.01, 3);
    expect(kolmogorovQ(0.1)).toBe(1);
    // Large samples use it: e = 600·600/1200 = 300.
    const a = range(1, 600);
    const b = range(1, 600).map((x) => x + 60);
    const r = ksTwoSample(a, b)!;
    expect(r.method).toBe('asymptotic');
    expect(r.statistic).toBeCloseTo(0.1, 12);
    const en = Math.sqrt(300);
    expect(r.p_value).toBeCloseTo(kolmogorovQ((en + 0.12 + 0.11 / en) * 0.1), 15);
  });

  it('empty samples: null, never NaN', () => {
    expect(ksTwoSample([], [1])).toBeNull();
    expect(ksTwoSample([Number.NaN], [1])).toBeNull();
  });
});

describe('PSI over reference-quantile bins', () => {
  it('edges are the type-7 deciles of the reference', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    const r = psi(range(1, 10), range(1, 10))!;
    // h = 9·k/10 → 1.9, 2.8, …, 9.1
    expect(r.edges.map((e) => Number(e.toFixed(10)))).toEqual([1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1]);
    expect(r.reference).toEqual(new Array(10).fill(0.1));
    expect(r.value).toBe(0);
  });

  it('empty current bins take ε (by the definition)', () => {
    // Current = 1..5 twice: the five lower bins hold 0.2 each, the five upper are empty.
    const r = psi(range(1, 10), [...range(1, 5), ...range(1, 5)])!;
    const expected = 5 * (0.2 - 0.1) * Math.log(2) + 5 * (PSI_EPSILON - 0.1) * Math.log(PSI_EPSILON / 0.1);
    expect(r.value).toBeCloseTo(expected, 12);
    expect(r.value).toBeCloseTo(3.797, 4); // 5·0.1·ln 2 + 5·0.0999·ln 1000
  });

  it('ties merge repeated edges; values on an edge fall in the bin below', () => {
    // Reference five 1s and five 2s: deciles 1,1,1,1,1.5,2,2,2,2 → edges 1, 1.5, 2 (4 bins).
    const r = psi([1, 1, 1, 1, 1, 2, 2, 2, 2, 2], [1, 2, 2, 2, 2, 2, 2, 2, 2, 2])!;
    expect(r.edges).toEqual([1, 1.5, 2]);
    expect(r.reference).toEqual([0.5, 0, 0.5, 0]);
    expect(r.current).toEqual([0.1, 0, 0.9, 0]);
    // Empty in both: (ε − ε)·ln 1 = 0, so only the two filled bins count.
    const expected = (0.1 - 0.5) * Math.log(0.1 / 0.5) + (0.9 - 0.5) * Math.log(0.9 / 0.5);
    expect(r.value).toBeCloseTo(expected, 12);
    expect(histogramShares([1, 1.5, 2, 3], [1, 1.5, 2])).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('a constant reference has two bins: its value and above', () => {
    const same = psi([4, 4, 4, 4], [4, 4])!;
    expect(same.edges).toEqual([4]);
    expect(same.value).toBe(0);
    const moved = psi([4, 4, 4, 4], [5, 5])!;
    const expected =
      (PSI_EPSILON - 1) * Math.log(PSI_EPSILON) + (1 - PSI_EPSILON) * Math.log(1 / PSI_EPSILON);
    expect(moved.value).toBeCloseTo(expected, 12);
  });
});

describe('Wasserstein, z-score', () => {
  it('W1 is the area between the CDFs', () => {
    expect(wasserstein([0, 1], [2, 3])).toBe(2);
    // F_ref = 2/3 and F_cur = 1/3 on [0, 1): area 1/3.
    expect(wasserstein([0, 0, 1], [0, 1, 1])).toBeCloseTo(1 / 3, 15);
    // Normalised by the reference's sample sd √(1/3).
    expect(normalisedWasserstein([0, 0, 1], [0, 1, 1])).toBeCloseTo(1 / 3 / Math.sqrt(1 / 3), 12);
  });

  it('z = mean shift in reference sds', () => {
    expect(meanShiftZ([1, 2, 3, 4, 5], [4, 5, 6, 7, 8])).toBeCloseTo(3 / Math.sqrt(2.5), 12);
    expect(meanShiftZ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])).toBe(0);
  });

  it('constant references and tiny samples: 0 or null, never NaN or ∞', () => {
    expect(meanShiftZ([3, 3, 3], [3, 3])).toBe(0);
    expect(meanShiftZ([3, 3, 3], [4])).toBeNull();
    expect(meanShiftZ([3], [4])).toBeNull(); // one value has no sd
    expect(normalisedWasserstein([3, 3], [3])).toBe(0);
    expect(normalisedWasserstein([3, 3], [4])).toBeNull();
    expect(wasserstein([], [1])).toBeNull();
  });
});

describe('χ² and Jensen–Shannon', () => {
  it('χ² of a 2×2 table (textbook: 6.667 on 1 df, p = 0.00982)', () => {
    const r = chiSquared(counts({ a: 10, b: 20 }), counts({ a: 20, b: 10 }))!;
    expect(r.statistic).toBeCloseTo(20 / 3, 12);
    expect(r.df).toBe(1);
    expect(r.p_value).toBeCloseTo(0.009823, 5);
  });

  it('χ² with a category only one side has, and with one category', () => {
    // Table [[5,5,0],[5,0,5]]: E = 5,2.5,2.5 per row → χ² = 0 + 2.5 + 2.5 + 0 + 2.5 + 2.5 = 10, df 2, p = e^{−5}.
    const r = chiSquared(counts({ x: 5, y: 5 }), counts({ x: 5, z: 5 }))!;
    expect(r.statistic).toBeCloseTo(10, 12);
    expect(r.df).toBe(2);
    expect(r.p_value).toBeCloseTo(Math.exp(-5), 9);
    expect(chiSquared(counts({ x: 3 }), counts({ x: 9 }))).toEqual({ statistic: 0, df: 0, p_value: 1 });
    expect(chiSquared(counts({}), counts({ x: 1 }))).toBeNull();
  });

  it('χ² survival function: closed forms and table values', () => {
    // df 2 is exponential: P(X ≥ x) = e^{−x/2}.
    for (const x of [0.5, 3, 10, 40]) expect(chiSquaredSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 12);
    // df 1: P(X ≥ x) = erfc(√(x/2)); 5 % and 1 % critical values from the table.
    expect(chiSquaredSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquaredSurvival(6.634897, 1)).toBeCloseTo(0.01, 6);
    expect(chiSquaredSurvival(11.0705, 5)).toBeCloseTo(0.05, 5);
    expect(chiSquaredSurvival(23.2093, 10)).toBeCloseTo(0.01, 5);
    // df 4: e^{−x/2}(1 + x/2).
    expect(chiSquaredSurvival(7, 4)).toBeCloseTo(Math.exp(-3.5) * 4.5, 12);
    expect(chiSquaredSurvival(0, 3)).toBe(1);
  });

  it('JS distance (base 2)', () => {
    expect(jensenShannon(counts({ a: 1 }), counts({ b: 7 }))).toBe(1);
    expect(jensenShannon(counts({ a: 2, b: 2 }), counts({ a: 1, b: 1 }))).toBe(0);
    // p = (½,½), q = (1,0), m = (¾,¼): JSD = ½(½log₂(⅔) + ½log₂2) + ½log₂(4/3).
    const jsd = 0.5 * (0.5 * Math.log2(0.5 / 0.75) + 0.5 * Math.log2(0.5 / 0.25)) + 0.5 * Math.log2(1 / 0.75);
    expect(jensenShannon(counts({ a: 1, b: 1 }), counts({ a: 4 }))).toBeCloseTo(Math.sqrt(jsd), 12);
    expect(Math.sqrt(jsd)).toBeCloseTo(0.55793, 4);
  });
});

describe('status and severity', () => {
  // A deterministic "normal-ish" sample: quantiles of a symmetric triangle distribution.
  const sample = (n: number, shift = 0, scale = 1) =>
    Array.from({ length: n }, (_, i) => {
      const u = (i + 0.5) / n;
      const t = u < 0.5 ? Math.sqrt(2 * u) - 1 : 1 - Math.sqrt(2 * (1 - u));
      return 100 + shift + 10 * scale * t;
    });

  it('same distribution: no_drift, severity none, score 0…0.5', () => {
    const r = assessDrift('m', 'f', sample(200), sample(150));
    expect(r.status).toBe('no_drift');
    expect(r.severity).toBe('none');
    expect(r.kind).toBe('numeric');
    expect(r.score).toBeLessThan(0.5);
  });

  it('a shift of 3 reference sds is drift, high or critical', () => {
    // sd of the triangle on [−10, 10] is 10/√6 ≈ 4.08; shift 15 ≈ 3.7 sd.
    const r = assessDrift('m', 'f', sample(200), sample(200, 15));
    expect(r.status).toBe('drift');
    expect(['high', 'critical']).toContain(r.severity);
    expect(r.z).toBeGreaterThan(3);
    expect(r.reasons.some((s) => s.startsWith('|z|'))).toBe(true);
    expect(r.score).toBe(1);
  });

  it('a small shift is possible_drift, low', () => {
    const r = assessDrift('m', 'f', sample(400), sample(400, 1.2));
    expect(r.status).toBe('possible_drift');
    expect(r.severity).toBe('low');
  });

  it('above 1000 reference values the normalised Wasserstein replaces KS', () => {
    const r = assessDrift('m', 'f', sample(2000), sample(2000, 0.2));
    // KS would call a 0.05-sd shift significant at this size; W/sd ≈ 0.05 is below 0.1.
    expect(r.wasserstein).toBeLessThan(0.1);
    expect(r.status).toBe('no_drift');
  });

  it('tiny samples: insufficient_data with numbers where defined, never NaN', () => {
    const r = assessDrift('m', 'f', [1, 2, 3], [4, 5, 6]);
    expect(r.status).toBe('insufficient_data');
    expect(r.severity).toBe('none');
    expect(r.score).toBeNull();
    expect(r.kind).toBe('numeric');
    expect(r.ks!.statistic).toBe(1);
    expect(r.ks!.p_value).toBeCloseTo(0.1, 15);
    const empty = assessDrift('m', 'f', [], [Number.NaN]);
    expect(empty.status).toBe('insufficient_data');
    expect(JSON.stringify(empty)).not.toMatch(/NaN|Infinity/);
    expect(empty.ks).toBeNull();
    expect(empty.psi).toBeNull();
  });

  it('constant features: no drift when unchanged, drift when the constant moves', () => {
    const same = assessDrift('m', 'f', new Array(50).fill(7), new Array(30).fill(7), { kind: 'numeric' });
    expect(same.status).toBe('no_drift');
    expect(same.z).toBe(0);
    const moved = assessDrift('m', 'f', new Array(50).fill(7), new Array(30).fill(8), { kind: 'numeric' });
    expect(moved.status).toBe('drift');
    expect(moved.severity).toBe('critical');
    expect(moved.z).toBeNull();
    expect(JSON.stringify(moved)).not.toMatch(/NaN|Infinity/);
  });

  it('categorical: few distinct values compare by χ² and JS', () => {
    const ref = [...new Array(60).fill(0), ...new Array(40).fill(1)];
    const same = assessDrift('m', 'flag', ref, [...new Array(30).fill(0), ...new Array(20).fill(1)]);
    expect(same.kind).toBe('categorical');
    expect(same.status).toBe('no_drift');
    expect(same.chi2!.statistic).toBeCloseTo(0, 12);
    const flipped = assessDrift('m', 'flag', ref, [...new Array(20).fill(0), ...new Array(80).fill(1)]);
    expect(flipped.status).toBe('drift');
    expect(flipped.chi2!.p_value).toBeLessThan(0.001);
    expect(flipped.js).toBeGreaterThan(0.1);
    expect(flipped.ks).toBeNull();
  });

  it('drifted first', () => {
    const a = assessDrift('a', 'f', sample(100), sample(100));
    const b = assessDrift('b', 'f', sample(100), sample(100, 30));
    const c = assessDrift('c', 'f', [1], [2]);
    expect([c, a, b].sort(compareDrift).map((r) => r.entity_id)).toEqual(['b', 'a', 'c']);
  });

  it('histogram over the joint range', () => {
    const h = driftHistogram([0, 1, 2, 3], [2, 3, 4], 4);
    expect(h.edges).toEqual([0, 1, 2, 3, 4]);
    expect(h.reference).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(h.current.map((x) => Number(x.toFixed(6)))).toEqual([0, 0, 0.333333, 0.666667]);
    expect(driftHistogram([5, 5], [5]).edges).toEqual([5, 6]);
  });
});
