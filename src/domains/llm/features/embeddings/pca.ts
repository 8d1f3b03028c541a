/**
 * Principal component analysis by power iteration with deflation, in float64. Pure and
 * deterministic: the start vectors come from a fixed-seed generator and each component's sign is
 * fixed (its largest-magnitude coordinate is positive), so the same rows always give the same
 * components, bit for bit.
 */
import { InternalError } from '../../../../shared/errors.js';
import { mulberry32 } from '../../../../shared/random.js';

/** The result of {@link fitPca}. */
export interface PcaResult {
  /** Column means of the rows. */
  readonly mean: number[];
  /** Unit-length principal axes, by decreasing variance. */
  readonly components: number[][];
  /** Variance of the rows along each component (the covariance eigenvalue), sample (n − 1). */
  readonly explainedVariance: number[];
  /** Each explained variance over the total variance. */
  readonly explainedVarianceRatio: number[];
  /** Power iterations each component took to converge. */
  readonly iterations: number[];
}

/** Options of {@link fitPca}. */
export interface PcaOptions {
  /** Stop when 1 − |cos(v_t, v_{t−1})| falls below this. Default 1e-14. */
  readonly tolerance?: number;
  /** Iteration cap per component. Default 20,000. */
  readonly maxIterations?: number;
}

/**
 * The top `k` principal components of `rows` (n rows of d columns, n ≥ 2).
 *
 * @example
 * const { mean, components } = fitPca(vectors, 8);
 * const y = components.map((c) => c.reduce((s, cj, j) => s + cj * (x[j] - mean[j]), 0));
 */
export function fitPca(rows: readonly ArrayLike<number>[], k: number, opts: PcaOptions = {}): PcaResult {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  if (n < 2 || d === 0) throw new InternalError(`PCA needs at least 2 rows of ≥ 1 column, got ${n} × ${d}`);
  if (!Number.isInteger(k) || k < 1 || k > d) throw new InternalError(`PCA k must be in 1..${d}, got ${k}`);
  if (rows.some((r) => r.length !== d)) throw new InternalError('PCA rows must all have the same length');
  const tolerance = opts.tolerance ?? 1e-14;
  const maxIterations = opts.maxIterations ?? 20_000;

  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j]! += r[j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;

  // Covariance, upper triangle mirrored: C = Xcᵀ Xc / (n − 1).
  const cov = new Float64Array(d * d);
  const centered = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) centered[j] = r[j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ca = centered[a]!;
      if (ca === 0) continue;
      const base = a * d;
      for (let b = a; b < d; b++) cov[base + b]! += ca * centered[b]!;
    }
  }
  let total = 0;
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
    total += cov[a * d + a]!;
  }

  const random = mulberry32(0x5eed);
  const components: Float64Array[] = [];
  const explainedVariance: number[] = [];
  const iterations: number[] = [];
  const w = new Float64Array(d);
  for (let c = 0; c < k; c++) {
    let v = new Float64Array(d);
    for (let j = 0; j < d; j++) v[j] = random() - 0.5;
    orthonormalize(v, components);
    let it = 0;
    for (; it < maxIterations; it++) {
      multiply(cov, v, w, d);
      // Deflation: keep the iterate orthogonal to the components already found.
      orthonormalize(w, components);
      const cos = Math.abs(dot(w, v));
      v = Float64Array.from(w);
      if (1 - cos < tolerance) break;
    }
    multiply(cov, v, w, d);
    const lambda = Math.max(0, dot(v, w));
    if (lambda <= total * 1e-12) {
      throw new InternalError(
        `PCA: the rows span fewer than ${k} directions (component ${c + 1} has no variance)`,
      );
    }
    let maxAt = 0;
    for (let j = 1; j < d; j++) if (Math.abs(v[j]!) > Math.abs(v[maxAt]!)) maxAt = j;
    if (v[maxAt]! < 0) for (let j = 0; j < d; j++) v[j] = -v[j]!;
    components.push(v);
    explainedVariance.push(lambda);
    iterations.push(it + 1);
  }

  return {
    mean: Array.from(mean),
    components: components.map((c) => Array.from(c)),
    explainedVariance,
    explainedVarianceRatio: explainedVariance.map((l) => (total > 0 ? l / total : 0)),
    iterations,
  };
}

function multiply(m: Float64Array, v: Float64Array, out: Float64Array, d: number): void {
  for (let a = 0; a < d; a++) {
    let s = 0;
    const base = a * d;
    for (let b = 0; b < d; b++) s += m[base + b]! * v[b]!;
    out[a] = s;
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Gram–Schmidt against `basis` (twice, for stability), then unit length. */
function orthonormalize(v: Float64Array, basis: readonly Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const u of basis) {
      const p = dot(v, u);
      for (let j = 0; j < v.length; j++) v[j]! -= p * u[j]!;
    }
  }
  const norm = Math.sqrt(dot(v, v));
  if (norm === 0)
    throw new InternalError('PCA: the rows have fewer independent directions than components asked');
  for (let j = 0; j < v.length; j++) v[j]! /= norm;
}
