import {
  type ChiSquaredResult,
  categoryCounts,
  chiSquared,
  jensenShannon,
  ksTwoSample,
  meanShiftZ,
  normalisedWasserstein,
  psi,
  psiOfShares,
  sortedFinite,
} from './stats.js';

/**
 * Drift status of one (entity, feature): the spec's three bands, plus `insufficient_data` when a
 * sample is smaller than the minimum (statistics are then still reported where defined, but no
 * verdict is drawn from them).
 */
export type DriftStatus = 'no_drift' | 'possible_drift' | 'drift' | 'insufficient_data';
/** `none` for no_drift and insufficient_data; `low` for possible_drift; medium…critical for drift. */
export type DriftSeverity = 'none' | 'low' | 'medium' | 'high' | 'critical';
/** How a feature is compared: distributions of numbers, or of categories (hashed/encoded values). */
export type FeatureKind = 'numeric' | 'categorical';

/** The thresholds the status is drawn from (see {@link assessDrift}). */
export const DRIFT_BANDS = Object.freeze({
  /** Fewer non-null values than this on either side: `insufficient_data`. */
  minSamples: 20,
  /** PSI (spec): warn ≥ 0.1, alert ≥ 0.25. */
  psi: { possible: 0.1, drift: 0.25 },
  /** |mean shift| in reference sds (spec: alert ≥ 3σ). */
  z: { possible: 2, drift: 3 },
  /** Normalised Wasserstein, used instead of KS when the reference has more than 1000 values (spec). */
  wasserstein: { possible: 0.1, drift: 0.2, minReference: 1001 },
  /** KS statistic D, counted only when its p-value is below `alpha` (references of ≤ 1000 values). */
  ks: { possible: 0.1, drift: 0.2, alpha: 0.01 },
  /** Jensen–Shannon distance of categories, counted only when the χ² p-value is below `alpha`. */
  js: { possible: 0.05, drift: 0.1, alpha: 0.01 },
  /** A feature with at most this many distinct values (both samples together) is categorical. */
  maxCategories: 10,
});

/** One row of a drift report (the JSON report's `features[]`). */
export interface FeatureDrift {
  readonly entity_id: string;
  readonly feature: string;
  readonly kind: FeatureKind;
  readonly n_reference: number;
  readonly n_current: number;
  /** Numeric features only. */
  readonly ks: { readonly statistic: number; readonly p_value: number } | null;
  /** Normalised by the reference's sd; numeric only. */
  readonly wasserstein: number | null;
  /** Over reference-quantile bins (numeric) or over categories (categorical). */
  readonly psi: number | null;
  /** Mean shift in reference sds; numeric only. */
  readonly z: number | null;
  /** Categorical only. */
  readonly chi2: ChiSquaredResult | null;
  /** Jensen–Shannon distance (base 2); categorical only. */
  readonly js: number | null;
  readonly status: DriftStatus;
  readonly severity: DriftSeverity;
  /**
   * 0–1: the strongest signal as a share of twice its drift threshold (0.5 = on the drift line,
   * 1 = twice over or more); null with insufficient data.
   */
  readonly score: number | null;
  /** The signals past a band, e.g. `psi 0.31 ≥ 0.25`. */
  readonly reasons: readonly string[];
  /**
   * The statistics shown but not counted toward the status, and why, e.g. `psi: 105/106 values,
   * too few for its 10 bins (counts from 360 a side)`.
   */
  readonly not_counted: readonly string[];
}

/** A histogram of both samples over the same equal-width bins (for the HTML report). */
export interface DriftHistogram {
  readonly edges: readonly number[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

/** Options of {@link assessDrift}. */
export interface AssessOptions {
  /** `auto` (default): categorical with ≤ maxCategories distinct values seen twice on average. */
  readonly kind?: FeatureKind | 'auto';
  readonly minSamples?: number;
}

const SEVERITY_ORDER: readonly DriftSeverity[] = ['none', 'low', 'medium', 'high', 'critical'];
const STATUS_ORDER: readonly DriftStatus[] = ['drift', 'possible_drift', 'no_drift', 'insufficient_data'];

/**
 * Compares one feature's current sample with its reference sample and draws the verdict.
 *
 * Numeric: PSI (10 reference-quantile bins), |z| of the mean shift, and the distribution
 * distance — KS D gated by its p-value (< 0.01) for references of ≤ 1000 values, normalised
 * Wasserstein above (KS p-values of large samples flag differences too small to matter).
 * Categorical: PSI over categories, and the JS distance gated by the χ² p-value (< 0.01).
 * Each signal has a possible and a drift threshold ({@link DRIFT_BANDS}); the status is the
 * highest band any signal reaches. Severity: possible_drift → low; drift → medium, high when the
 * strongest signal is ≥ 2× its drift threshold, critical ≥ 4×.
 *
 * Nulls and non-finite values are not part of the samples (they count towards quality instead).
 *
 * @example
 * assessDrift('gpt-4', 'latency_p95_5min', reference, current).status; // 'no_drift'
 */
export function assessDrift(
  entityId: string,
  feature: string,
  reference: readonly number[],
  current: readonly number[],
  options: AssessOptions = {},
): FeatureDrift {
  const ref = sortedFinite(reference);
  const cur = sortedFinite(current);
  const minSamples = options.minSamples ?? DRIFT_BANDS.minSamples;
  const kind = options.kind === undefined || options.kind === 'auto' ? detectKind(ref, cur) : options.kind;
  const signals: { name: string; value: number; possible: number; drift: number }[] = [];
  let ks: FeatureDrift['ks'] = null;
  let wasserstein: number | null = null;
  let psiValue: number | null = null;
  let z: number | null = null;
  let chi2: ChiSquaredResult | null = null;
  let js: number | null = null;
  const notCounted: string[] = [];
  if (kind === 'numeric') {
    const k = ksTwoSample(ref, cur);
    ks = k === null ? null : { statistic: k.statistic, p_value: k.p_value };
    wasserstein = normalisedWasserstein(ref, cur);
    const p = psi(ref, cur);
    psiValue = p?.value ?? null;
    z = meanShiftZ(ref, cur);
    if (p !== null && psiCounts(p.edges.length + 1, ref.length, cur.length))
      signals.push({ name: 'psi', value: p.value, ...DRIFT_BANDS.psi });
    else if (p !== null) notCounted.push(psiTooFew(p.edges.length + 1, ref.length, cur.length));
    if (z !== null) signals.push({ name: '|z|', value: Math.abs(z), ...DRIFT_BANDS.z });
    if (ref.length >= DRIFT_BANDS.wasserstein.minReference) {
      if (wasserstein !== null)
        signals.push({ name: 'wasserstein', value: wasserstein, ...DRIFT_BANDS.wasserstein });
      if (ks !== null)
        notCounted.push(
          `ks: the reference has more than ${DRIFT_BANDS.wasserstein.minReference - 1} values (Wasserstein counts instead)`,
        );
    } else {
      if (ks !== null && ks.p_value < DRIFT_BANDS.ks.alpha)
        signals.push({ name: `ks (p ${fmt(ks.p_value)})`, value: ks.statistic, ...DRIFT_BANDS.ks });
      if (wasserstein !== null)
        notCounted.push(
          `wasserstein: the reference has ${DRIFT_BANDS.wasserstein.minReference - 1} values or fewer (KS counts instead)`,
        );
    }
  } else {
    const rc = categoryCounts(ref);
    const cc = categoryCounts(cur);
    chi2 = chiSquared(rc, cc);
    js = jensenShannon(rc, cc);
    if (ref.length > 0 && cur.length > 0) {
      const cats = [...new Set([...rc.keys(), ...cc.keys()])];
      psiValue = psiOfShares(
        cats.map((c) => (rc.get(c) ?? 0) / ref.length),
        cats.map((c) => (cc.get(c) ?? 0) / cur.length),
      );
      if (psiCounts(cats.length, ref.length, cur.length))
        signals.push({ name: 'psi', value: psiValue, ...DRIFT_BANDS.psi });
      else notCounted.push(psiTooFew(cats.length, ref.length, cur.length));
    }
    if (js !== null && chi2 !== null && chi2.p_value < DRIFT_BANDS.js.alpha) {
      signals.push({ name: `js (χ² p ${fmt(chi2.p_value)})`, value: js, ...DRIFT_BANDS.js });
    }
  }

  let status: DriftStatus = 'no_drift';
  let severity: DriftSeverity = 'none';
  let score: number | null = 0;
  const reasons: string[] = [];
  if (ref.length < minSamples || cur.length < minSamples) {
    status = 'insufficient_data';
    score = null;
    reasons.push(`fewer than ${minSamples} values (reference ${ref.length}, current ${cur.length})`);
  } else {
    let ratio = 0;
    for (const s of signals) {
      ratio = Math.max(ratio, s.value / s.drift);
      if (s.value >= s.drift) {
        status = 'drift';
        reasons.push(`${s.name} ${fmt(s.value)} ≥ ${s.drift}`);
      } else if (s.value >= s.possible) {
        if (status === 'no_drift') status = 'possible_drift';
        reasons.push(`${s.name} ${fmt(s.value)} ≥ ${s.possible}`);
      }
    }
    score = Math.min(1, ratio / 2);
    if (status === 'possible_drift') severity = 'low';
    if (status === 'drift') severity = ratio >= 4 ? 'critical' : ratio >= 2 ? 'high' : 'medium';
  }
  return {
    entity_id: entityId,
    feature,
    kind,
    n_reference: ref.length,
    n_current: cur.length,
    ks,
    wasserstein,
    psi: psiValue,
    z,
    chi2,
    js,
    status,
    severity,
    score,
    reasons,
    not_counted: notCounted,
  };
}

/** Why PSI does not count: its sampling noise at these sizes (see {@link psiCounts}). */
function psiTooFew(bins: number, n: number, m: number): string {
  // The smallest equal sample size a side at which PSI counts with this many bins.
  const need = Math.ceil((2 * (bins - 1)) / (DRIFT_BANDS.psi.possible / 2));
  return `psi: ${n}/${m} values, too few for its ${bins} bins (counts from ${need} a side)`;
}

/**
 * PSI counts towards the status only when its sampling noise is small: two samples of one
 * distribution have PSI ≈ (bins − 1)(1/n + 1/m) on average (0.18 for 10 bins and 100 values a
 * side), so it is used once that is at most half the warn band (n = m ≥ 360 for 10 bins).
 */
function psiCounts(bins: number, n: number, m: number): boolean {
  return (bins - 1) * (1 / n + 1 / m) <= DRIFT_BANDS.psi.possible / 2;
}

/** Few distinct values (each seen at least twice on average) make a feature categorical. */
function detectKind(ref: readonly number[], cur: readonly number[]): FeatureKind {
  const distinct = new Set<number>();
  for (const xs of [ref, cur]) {
    for (const x of xs) {
      distinct.add(x);
      if (distinct.size > DRIFT_BANDS.maxCategories) return 'numeric';
    }
  }
  // A handful of values seen once each (a tiny sample) is not a set of categories.
  return distinct.size === 0 || ref.length + cur.length < 2 * distinct.size ? 'numeric' : 'categorical';
}

/**
 * Both samples over `bins` equal-width bins spanning their joint range (one bin for a single
 * value), as shares of each sample — what the HTML report draws.
 */
export function driftHistogram(
  reference: readonly number[],
  current: readonly number[],
  bins = 20,
): DriftHistogram {
  const ref = sortedFinite(reference);
  const cur = sortedFinite(current);
  const all = [...ref, ...cur];
  if (all.length === 0) return { edges: [], reference: [], current: [] };
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const x of all) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const n = hi === lo ? 1 : bins;
  const width = hi === lo ? 1 : (hi - lo) / n;
  const edges = Array.from({ length: n + 1 }, (_, i) => (hi === lo ? lo + i : lo + i * width));
  const shares = (xs: readonly number[]) => {
    const counts = new Array<number>(n).fill(0);
    for (const x of xs) counts[Math.min(n - 1, Math.floor((x - lo) / width))]!++;
    return counts.map((c) => (xs.length === 0 ? 0 : c / xs.length));
  };
  return { edges, reference: shares(ref), current: shares(cur) };
}

/** Drifted first (drift, then possible drift, no drift, insufficient data), then severity, score, key. */
export function compareDrift(a: FeatureDrift, b: FeatureDrift): number {
  return (
    STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) ||
    SEVERITY_ORDER.indexOf(b.severity) - SEVERITY_ORDER.indexOf(a.severity) ||
    (b.score ?? -1) - (a.score ?? -1) ||
    (a.entity_id < b.entity_id ? -1 : a.entity_id > b.entity_id ? 1 : 0) ||
    (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0)
  );
}

function fmt(x: number): string {
  return Math.abs(x) >= 0.001 || x === 0 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}
