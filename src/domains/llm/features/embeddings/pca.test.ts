import { describe, expect, it } from 'vitest';
import { InternalError } from '../../../../shared/errors.js';
import { fitPca } from './pca.js';

/** An orthonormal basis of R^d: a Householder reflection I − 2wwᵀ of the standard basis. */
function basis(d: number): number[][] {
  const w = Array.from({ length: d }, (_, i) => Math.sin(i + 1));
  const norm = Math.hypot(...w);
  const u = w.map((x) => x / norm);
  return Array.from({ length: d }, (_, k) => u.map((uj, j) => (j === k ? 1 : 0) - 2 * u[k]! * uj));
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('fitPca', () => {
  // Rows at offset ± s_k·u_k around a centre: the covariance is exactly Σ 2 s_k² u_k u_kᵀ / (n − 1),
  // so the components are the u_k in order of s_k and the variances are known in closed form.
  const d = 12;
  const axes = basis(d);
  const spreads = [5, 4, 3, 2.5, 2, 1.5, 1, 0.5];
  const centre = Array.from({ length: d }, (_, j) => j / 10 - 0.3);
  const rows: number[][] = [];
  spreads.forEach((s, k) => {
    for (const sign of [1, -1]) rows.push(centre.map((c, j) => c + sign * s * axes[k]![j]!));
  });
  const n = rows.length;

  it('finds the known axes, variances, ratios and mean', () => {
    const pca = fitPca(rows, 4);
    expect(pca.components).toHaveLength(4);
    pca.mean.forEach((m, j) => {
      expect(m).toBeCloseTo(centre[j]!, 12);
    });
    pca.components.forEach((c, k) => {
      expect(Math.abs(dot(c, axes[k]!))).toBeCloseTo(1, 10);
      expect(dot(c, c)).toBeCloseTo(1, 12);
      expect(pca.explainedVariance[k]).toBeCloseTo((2 * spreads[k]! ** 2) / (n - 1), 10);
    });
    const total = spreads.reduce((s, x) => s + (2 * x * x) / (n - 1), 0);
    pca.explainedVarianceRatio.forEach((r, k) => {
      expect(r).toBeCloseTo(pca.explainedVariance[k]! / total, 12);
    });
    expect(dot(pca.components[0]!, pca.components[1]!)).toBeCloseTo(0, 12);
  });

  it('fixes the sign: the largest-magnitude coordinate of each component is positive', () => {
    for (const c of fitPca(rows, 6).components) {
      const largest = c.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
      expect(largest).toBeGreaterThan(0);
    }
  });

  it('is deterministic', () => {
    expect(fitPca(rows, 8)).toEqual(fitPca(rows, 8));
  });

  it('rejects impossible requests', () => {
    expect(() => fitPca(rows, d + 1)).toThrow(InternalError);
    expect(() => fitPca([rows[0]!], 1)).toThrow(InternalError);
    expect(() => fitPca([[1, 2], [3]], 1)).toThrow(InternalError);
    // 16 rows span at most 8 directions around their mean: a 9th component does not exist.
    expect(() => fitPca(rows, 9)).toThrow(InternalError);
  });
});
