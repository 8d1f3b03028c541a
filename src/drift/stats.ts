/**
 * Two-sample statistics for drift detection (shared/spec/quality.md), on plain number arrays.
 * Every function takes samples as given (any order, finite numbers; callers drop nulls) and
 * returns `null` — never NaN — where a statistic is undefined (an empty sample, a zero spread).
 *
 * Written here rather than taken from a library: the definitions are short and tested against
 * hand-computed values, and the npm libraries lack them (simple-statistics has no two-sample KS,
 * PSI or Wasserstein and only a χ² table; jstat has no two-sample KS). The one special function,
 * the χ² survival function (the regularised upper incomplete gamma, {@link chiSquaredSurvival}),
 * is the classic series / continued-fraction pair (Numerical Recipes §6.2), checked against
 * closed forms and table values.
 *
 * @example
 * ksTwoSample([1, 2, 3], [4, 5, 6]); // { statistic: 1, p_value: 0.1, method: 'exact' }
 * psi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]).value; // 3.797…
 */

/** Share that replaces an empty bin's share (in either sample) before PSI's logarithm. */
export const PSI_EPSILON = 1e-4;
/** Number of reference-quantile bins of PSI. */
export const PSI_BINS = 10;
/** Largest n·m for which the KS p-value is exact (lattice paths); above it, asymptotic. */
export const KS_EXACT_MAX_CELLS = 250_000;

/** The finite values, sorted ascending (a new array). */
export function sortedFinite(xs: readonly number[]): number[] {
  const out: number[] = [];
  for (const x of xs) if (Number.isFinite(x)) out.push(x);
  return out.sort((a, b) => a - b);
}

/**
 * The p-quantile of a sorted sample by linear interpolation between order statistics
 * (Hyndman–Fan type 7, numpy's default): h = (n − 1)·p, x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]).
 *
 * @example
 * quantileSorted([1, 2, 3, 4], 0.5); // 2.5
 */
export function quantileSorted(sorted: readonly number[], p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo]!;
  return a + (h - lo) * (sorted[hi]! - a);
}

/** Mean and sample standard deviation (n − 1), or null for an empty sample (sd null below 2 values). */
export function meanSd(xs: readonly number[]): { mean: number; sd: number | null } | null {
  const n = xs.length;
  if (n === 0) return null;
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= n;
  if (n < 2) return { mean, sd: null };
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, sd: Math.sqrt(ss / (n - 1)) };
}

/** Result of {@link ksTwoSample}. */
export interface KsResult {
  /** D = sup |F_ref(x) − F_cur(x)| over the empirical CDFs (ties handled exactly). */
  readonly statistic: number;
  /** P(D ≥ observed) under "same distribution". */
  readonly p_value: number;
  /** `exact`: lattice-path count (n·m ≤ {@link KS_EXACT_MAX_CELLS}); `asymptotic`: Kolmogorov. */
  readonly method: 'exact' | 'asymptotic';
}

/**
 * Two-sample Kolmogorov–Smirnov test. The statistic is exact: both empirical CDFs are stepped
 * through every distinct value, so tied values move both CDFs together. The two-sided p-value
 * is exact for small samples — the share of the C(n+m, n) monotone lattice paths that leave the
 * band |i/n − j/m| < D (the method of scipy's `ks_2samp(method='exact')`, which assumes no ties)
 * — and otherwise Kolmogorov's limit with Stephens' correction:
 * Q((√e + 0.12 + 0.11/√e)·D), e = nm/(n+m) (Numerical Recipes §14.3).
 *
 * @example
 * ksTwoSample([1, 2, 3], [4, 5, 6]); // { statistic: 1, p_value: 0.1, method: 'exact' }
 */
export function ksTwoSample(reference: readonly number[], current: readonly number[]): KsResult | null {
  const a = sortedFinite(reference);
  const b = sortedFinite(current);
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return null;
  let d = 0;
  walkEcdfs(a, b, (_x, fa, fb) => {
    d = Math.max(d, Math.abs(fa - fb));
  });
  if (d === 0)
    return { statistic: 0, p_value: 1, method: n * m <= KS_EXACT_MAX_CELLS ? 'exact' : 'asymptotic' };
  if (n * m <= KS_EXACT_MAX_CELLS) {
    return { statistic: d, p_value: ksExactPValue(n, m, d), method: 'exact' };
  }
  const en = Math.sqrt((n * m) / (n + m));
  return { statistic: d, p_value: kolmogorovQ((en + 0.12 + 0.11 / en) * d), method: 'asymptotic' };
}

/**
 * P(D ≥ d) for samples of n and m values with no ties: 1 − (share of monotone paths from (0,0)
 * to (n,m) that stay strictly inside |i·m − j·n| < d·n·m). The share is carried as a fraction
 * (paths into (i,j) come from (i−1,j) with weight i/(i+j) and from (i,j−1) with weight j/(i+j)),
 * so nothing overflows. O(n·m) time, O(m) memory.
 */
export function ksExactPValue(n: number, m: number, d: number): number {
  // D is a difference of multiples of 1/n and 1/m, so d·n·m is an integer up to rounding.
  const limit = Math.round(d * n * m);
  const u = new Float64Array(m + 1);
  for (let i = 0; i <= n; i++) {
    for (let j = 0; j <= m; j++) {
      const outside = Math.abs(i * m - j * n) >= limit;
      if (i === 0 && j === 0) {
        u[0] = outside ? 0 : 1;
        continue;
      }
      if (outside) {
        u[j] = 0;
        continue;
      }
      const fromUp = i === 0 ? 0 : (i / (i + j)) * u[j]!;
      const fromLeft = j === 0 ? 0 : (j / (i + j)) * u[j - 1]!;
      u[j] = fromUp + fromLeft;
    }
  }
  return clamp01(1 - u[m]!);
}

/**
 * Kolmogorov's survival function Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²} (1 for λ ≤ 0).
 *
 * @example
 * kolmogorovQ(1.358); // ≈ 0.05
 */
export function kolmogorovQ(lambda: number): number {
  if (lambda <= 0) return 1;
  // Below ~0.2 the alternating series converges slowly and Q is 1 to double precision.
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-16) break;
  }
  return clamp01(2 * sum);
}

/** Result of {@link psi}. */
export interface PsiResult {
  /** Σ (c_i − r_i)·ln(c_i / r_i) over the bins, a share of 0 replaced by {@link PSI_EPSILON}. */
  readonly value: number;
  /** The distinct inner bin edges (bins are (−∞, e₁], (e₁, e₂], …, (e_k, ∞)). */
  readonly edges: readonly number[];
  /** Share of the reference in each bin (before ε). */
  readonly reference: readonly number[];
  /** Share of the current sample in each bin (before ε). */
  readonly current: readonly number[];
}

/**
 * Population stability index over quantile bins of the reference. Binning: the inner edges are
 * the reference's type-7 quantiles at k/bins, k = 1 … bins−1 ({@link quantileSorted}); repeated
 * edges (ties, a constant feature) are merged, so a tied reference has fewer bins. Bins are
 * right-closed: a value equal to an edge falls in the bin below it. An empty bin's share (in
 * either sample) is replaced by ε = {@link PSI_EPSILON} before the logarithm, and shares are not
 * renormalised afterwards (the usual convention, and Evidently's). Bands (spec): < 0.1 stable,
 * ≥ 0.1 warn, ≥ 0.25 alert.
 *
 * @example
 * psi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).value; // 0
 */
export function psi(
  reference: readonly number[],
  current: readonly number[],
  bins = PSI_BINS,
  epsilon = PSI_EPSILON,
): PsiResult | null {
  const ref = sortedFinite(reference);
  const cur = sortedFinite(current);
  if (ref.length === 0 || cur.length === 0) return null;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const q = quantileSorted(ref, k / bins)!;
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
  }
  const r = histogramShares(ref, edges);
  const c = histogramShares(cur, edges);
  return { value: psiOfShares(r, c, epsilon), edges, reference: r, current: c };
}

/** PSI of two share vectors of the same bins (ε for a zero share). */
export function psiOfShares(
  reference: readonly number[],
  current: readonly number[],
  epsilon = PSI_EPSILON,
): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i]!, epsilon);
    const c = Math.max(current[i] ?? 0, epsilon);
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}

/** Share of a sorted sample in each right-closed bin of `edges` (edges.length + 1 bins). */
export function histogramShares(sorted: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let bin = 0;
  for (const x of sorted) {
    while (bin < edges.length && x > edges[bin]!) bin++;
    counts[bin]!++;
  }
  return counts.map((k) => k / sorted.length);
}

/**
 * The 1-Wasserstein (earth mover's) distance between two empirical distributions,
 * ∫ |F_ref(x) − F_cur(x)| dx, exactly (summed over the intervals between distinct values).
 *
 * @example
 * wasserstein([0, 1], [2, 3]); // 2
 */
export function wasserstein(reference: readonly number[], current: readonly number[]): number | null {
  const a = sortedFinite(reference);
  const b = sortedFinite(current);
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return null;
  let sum = 0;
  let prev: number | null = null;
  let before = 0;
  walkEcdfs(a, b, (x, fa, fb) => {
    if (prev !== null) sum += before * (x - prev);
    before = Math.abs(fa - fb);
    prev = x;
  });
  return sum;
}

/**
 * Visits each distinct value x of two sorted samples in increasing order with both empirical
 * CDFs just after it (F_a(x), F_b(x)), ties in either sample taken together: the one walk behind
 * the KS statistic and the Wasserstein distance.
 */
function walkEcdfs(
  a: readonly number[],
  b: readonly number[],
  visit: (x: number, fa: number, fb: number) => void,
): void {
  const n = a.length;
  const m = b.length;
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const x = j >= m || (i < n && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n && a[i] === x) i++;
    while (j < m && b[j] === x) j++;
    visit(x, i / n, j / m);
  }
}

/**
 * {@link wasserstein} divided by the reference's sample standard deviation, so that 0.1 means
 * "a tenth of the reference's spread" whatever the unit (Evidently's "normed" Wasserstein). With
 * a constant reference (sd 0): 0 when the distance is 0, otherwise null (undefined, not ∞).
 */
export function normalisedWasserstein(
  reference: readonly number[],
  current: readonly number[],
): number | null {
  const w = wasserstein(reference, current);
  const ms = meanSd(reference.filter(Number.isFinite));
  if (w === null || ms === null || ms.sd === null) return null;
  if (ms.sd === 0) return w === 0 ? 0 : null;
  return w / ms.sd;
}

/**
 * Mean shift in reference standard deviations: (mean_cur − mean_ref) / sd_ref (sample sd). With a
 * constant reference: 0 when the means are equal, otherwise null (undefined, not ±∞).
 *
 * @example
 * meanShiftZ([1, 2, 3, 4, 5], [4, 5, 6, 7, 8]); // 1.897… (= 3 / √2.5)
 */
export function meanShiftZ(reference: readonly number[], current: readonly number[]): number | null {
  const r = meanSd(reference.filter(Number.isFinite));
  const c = meanSd(current.filter(Number.isFinite));
  if (r === null || c === null || r.sd === null) return null;
  const diff = c.mean - r.mean;
  if (r.sd === 0) return diff === 0 ? 0 : null;
  return diff / r.sd;
}

/** Counts of each distinct value (a category, or an encoded level). */
export function categoryCounts(xs: readonly (number | string)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) {
    const k = String(x);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Result of {@link chiSquared}. */
export interface ChiSquaredResult {
  readonly statistic: number;
  /** Degrees of freedom: categories seen − 1. */
  readonly df: number;
  readonly p_value: number;
}

/**
 * Pearson's χ² test of homogeneity on the 2 × k table of category counts (reference row, current
 * row), over the k categories seen in either sample: χ² = Σ (O − E)² / E with
 * E = row total · column total / N, df = k − 1, p = {@link chiSquaredSurvival}(χ², df). One category
 * (df 0): χ² 0, p 1.
 *
 * @example
 * chiSquared(new Map([['a', 10], ['b', 20]]), new Map([['a', 20], ['b', 10]])); // χ² 6.667, p 0.0098
 */
export function chiSquared(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): ChiSquaredResult | null {
  const cats = [...new Set([...reference.keys(), ...current.keys()])].filter(
    (k) => (reference.get(k) ?? 0) + (current.get(k) ?? 0) > 0,
  );
  let nr = 0;
  let nc = 0;
  for (const k of cats) {
    nr += reference.get(k) ?? 0;
    nc += current.get(k) ?? 0;
  }
  if (nr === 0 || nc === 0) return null;
  const df = cats.length - 1;
  if (df === 0) return { statistic: 0, df: 0, p_value: 1 };
  const total = nr + nc;
  let stat = 0;
  for (const k of cats) {
    const col = (reference.get(k) ?? 0) + (current.get(k) ?? 0);
    for (const [observed, row] of [
      [reference.get(k) ?? 0, nr],
      [current.get(k) ?? 0, nc],
    ] as const) {
      const expected = (row * col) / total;
      stat += ((observed - expected) * (observed - expected)) / expected;
    }
  }
  return { statistic: stat, df, p_value: chiSquaredSurvival(stat, df) };
}

/**
 * Jensen–Shannon distance (the square root of the JS divergence, logarithms base 2, so it lies in
 * [0, 1]) between the category distributions of two samples given as counts.
 *
 * @example
 * jensenShannon(new Map([['a', 1]]), new Map([['b', 1]])); // 1
 */
export function jensenShannon(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): number | null {
  const nr = [...reference.values()].reduce((s, x) => s + x, 0);
  const nc = [...current.values()].reduce((s, x) => s + x, 0);
  if (nr === 0 || nc === 0) return null;
  let js = 0;
  for (const k of new Set([...reference.keys(), ...current.keys()])) {
    const p = (reference.get(k) ?? 0) / nr;
    const q = (current.get(k) ?? 0) / nc;
    const mid = (p + q) / 2;
    if (p > 0) js += 0.5 * p * Math.log2(p / mid);
    if (q > 0) js += 0.5 * q * Math.log2(q / mid);
  }
  return Math.sqrt(Math.max(0, Math.min(1, js)));
}

/**
 * P(X ≥ x) for X ~ χ²(df): Q(df/2, x/2), the regularised upper incomplete gamma function — by its
 * series below a + 1 and by Lentz's continued fraction above (Numerical Recipes §6.2), to ~1e-14.
 *
 * @example
 * chiSquaredSurvival(3.841, 1); // ≈ 0.05
 * chiSquaredSurvival(10, 2); // e^{−5}
 */
export function chiSquaredSurvival(x: number, df: number): number {
  if (!(df > 0)) return 1;
  if (!(x > 0)) return 1;
  const a = df / 2;
  const z = x / 2;
  const logPrefix = -z + a * Math.log(z) - logGamma(a);
  if (z < a + 1) {
    // P(a, z) = e^{−z} z^a / Γ(a) · Σ z^n / (a (a+1) … (a+n))
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= z / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return clamp01(1 - sum * Math.exp(logPrefix));
  }
  // Q(a, z) = e^{−z} z^a / Γ(a) · 1 / (z + 1 − a − 1·(1−a) / (z + 3 − a − 2·(2−a) / …))
  const tiny = 1e-300;
  let b = z + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return clamp01(Math.exp(logPrefix) * h);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const g = 7;
  const coef = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const y = x - 1;
  let sum = coef[0]!;
  for (let i = 1; i < g + 2; i++) sum += coef[i]! / (y + i);
  const t = y + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

function clamp01(x: number): number {
  return Math.max(0, Math.min(1, x));
}
