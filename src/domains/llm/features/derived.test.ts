import { describe, expect, it } from 'vitest';
import { InternalError } from '../../../shared/errors.js';
import {
  DEFAULT_FIT_WEIGHTS,
  modelTableNorm,
  cosine,
  costLatencyScore,
  loadAdjustedLatency,
  modelFitScore,
  modelFitVector,
  paretoDistance,
  qualityCostRatio,
  requestFitVector,
  timePressure,
} from './derived.js';

describe('modelTableNorm and costLatencyScore (DRV_002)', () => {
  it('min–max normalises over the catalog', () => {
    expect(modelTableNorm(0.02, [0.01, 0.02, 0.03])).toBeCloseTo((0.02 - 0.01) / (0.03 - 0.01), 15);
    expect(modelTableNorm(0.01, [0.01, null, 0.03])).toBe(0);
    expect(modelTableNorm(5, [5, 5])).toBe(0);
    expect(modelTableNorm(0.05, [0.01, 0.03])).toBe(1);
    expect(modelTableNorm(null, [1, 2])).toBeNull();
    expect(modelTableNorm(1, [null])).toBeNull();
  });
  it('averages the two norms', () => {
    expect(costLatencyScore(0.5, 0.25)).toBeCloseTo((0.5 + 0.25) / 2, 15);
    expect(costLatencyScore(1, 1)).toBe(1);
    expect(costLatencyScore(null, 0.25)).toBeNull();
    expect(costLatencyScore(0.5, null)).toBeNull();
  });
});

describe('qualityCostRatio (DRV_003)', () => {
  it('divides success rate by cost, null for no cost', () => {
    expect(qualityCostRatio(0.9, 0.01)).toBeCloseTo(0.9 / 0.01, 12);
    expect(qualityCostRatio(0, 0.5)).toBe(0);
    expect(qualityCostRatio(0.9, 0)).toBeNull();
    expect(qualityCostRatio(null, 0.01)).toBeNull();
    expect(qualityCostRatio(0.9, null)).toBeNull();
  });
});

describe('modelFitScore (DRV_005)', () => {
  it('is Σ w·r·m / Σ w over the present components', () => {
    expect(modelFitScore([1, 0.5], [0.8, 1], [0.5, 0.5])).toBeCloseTo(
      (0.5 * 1 * 0.8 + 0.5 * 0.5 * 1) / 1,
      15,
    );
    // the second component is missing: only the first counts, renormalised by its weight
    expect(modelFitScore([1, null], [0.8, 1], [0.25, 0.75])).toBeCloseTo((0.25 * 1 * 0.8) / 0.25, 15);
    expect(modelFitScore([null], [1], [1])).toBeNull();
    expect(() => modelFitScore([1], [1, 2], [1])).toThrow(InternalError);
  });
  it('builds the default vectors from feature values', () => {
    expect(DEFAULT_FIT_WEIGHTS.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
    const r = requestFitVector({
      prompt_length: 0.4,
      prompt_complexity: 0.6,
      prompt_domain: 0.2,
      expected_output_length: 1,
      request_priority: 0.7,
      user_tier: 0.5,
    });
    const m = modelFitVector({
      model_context_length: 0.9,
      model_capability_score: 0.88,
      model_cost_per_1k_output: 0.25,
      model_cost_per_1k_input: 0.5,
      model_size_class: 1,
    });
    expect(r).toEqual([0.4, 0.6, 0.2, 1, 1 - 0.7, 0.5]);
    expect(m).toEqual([0.9, 0.88, 0.88, 1 - 0.25, 1 - 0.5, 1]);
    const expected =
      0.2 * 0.4 * 0.9 +
      0.25 * 0.6 * 0.88 +
      0.15 * 0.2 * 0.88 +
      0.15 * 1 * 0.75 +
      0.15 * 0.3 * 0.5 +
      0.1 * 0.5 * 1;
    expect(modelFitScore(r, m)).toBeCloseTo(expected, 12);
    expect(requestFitVector({})).toEqual([null, null, null, null, null, null]);
  });
});

describe('timePressure (DRV_007) and loadAdjustedLatency (DRV_008)', () => {
  it('multiply their inputs', () => {
    expect(timePressure(0.7, 0.25)).toBeCloseTo(0.7 * (1 - 0.25), 15);
    expect(timePressure(1, 0)).toBe(1);
    expect(timePressure(0.7, null)).toBeNull();
    expect(loadAdjustedLatency(800, 0.5)).toBeCloseTo(800 * (1 + 0.5), 12);
    expect(loadAdjustedLatency(null, 0.5)).toBeNull();
    expect(loadAdjustedLatency(800, null)).toBeNull();
  });
});

describe('cosine', () => {
  it('is the cosine of the angle, null for a zero vector', () => {
    expect(cosine([1, 0], [1, 1])).toBeCloseTo(1 / Math.SQRT2, 15);
    expect(cosine([1, 2], [-1, -2])).toBeCloseTo(-1, 15);
    expect(cosine([3, 4], [6, 8])).toBeCloseTo(1, 15);
    expect(cosine([1e200, 1e200], [1e200, 1e200])).toBeCloseTo(1, 15); // squares would overflow
    expect(cosine([1e-200, 0], [1e-200, 1e-200])).toBeCloseTo(1 / Math.SQRT2, 15); // or underflow
    expect(cosine([Number.NaN, 1], [1, 1])).toBeNull();
    expect(cosine([0, 0], [1, 1])).toBeNull();
    expect(() => cosine([1], [1, 2])).toThrow(InternalError);
  });
});

describe('paretoDistance (DRV_010)', () => {
  const pts = [
    { cost: 1, latency: 100, quality: 0.9 }, // A: frontier (cheap)
    { cost: 3, latency: 50, quality: 0.95 }, // B: frontier (fast, best)
    { cost: 3, latency: 100, quality: 0.9 }, // C: dominated by A
    { cost: 2, latency: 75, quality: 0.5 }, // D: frontier (no point is ≤ in all three)
  ];
  it('is 0 on the frontier', () => {
    expect(paretoDistance(pts, 0)).toBe(0);
    expect(paretoDistance(pts, 1)).toBe(0);
    expect(paretoDistance(pts, 3)).toBe(0);
  });
  it('is the ε-indicator over normalised objectives off the frontier', () => {
    // normalised (cost, latency, 1 − quality_norm): cost over [1,3], latency over [50,100],
    // quality over [0.5,0.95]
    const n = (c: number, l: number, q: number) => [(c - 1) / 2, (l - 50) / 50, (0.95 - q) / 0.45];
    const C = n(3, 100, 0.9);
    const eps = Math.min(
      ...[n(1, 100, 0.9), n(3, 50, 0.95), n(2, 75, 0.5)].map((p) => Math.max(...C.map((x, j) => x - p[j]!))),
    );
    expect(paretoDistance(pts, 2)).toBeCloseTo(eps, 15);
    expect(eps).toBeCloseTo(Math.min(1, 0.5, 0.5), 15);
  });
  it('spans [0, 1] and skips incomplete points', () => {
    const two = [
      { cost: 0, latency: 0, quality: 1 },
      { cost: 1, latency: 1, quality: 0 },
    ];
    expect(paretoDistance(two, 1)).toBe(1);
    expect(paretoDistance([...two, { cost: null, latency: 0, quality: 1 }], 1)).toBe(1);
    expect(paretoDistance([...two, { cost: null, latency: 0, quality: 1 }], 2)).toBeNull();
    expect(paretoDistance([{ cost: 1, latency: 1, quality: 1 }], 0)).toBe(0);
    expect(paretoDistance(two, 5)).toBeNull();
    // equal points do not dominate each other
    expect(paretoDistance([two[1]!, two[1]!], 1)).toBe(0);
  });
});
