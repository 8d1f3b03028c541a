/**
 * Derived features, catalog A6 (group `derived`, entity `request`): pure helpers that the join
 * operator calls with the latest request, model, performance and context values. The stateful
 * pieces (decayed counter, running centroid, online k-means) are in `derived-state.ts` and
 * re-exported here.
 *
 * Every helper returns null when an input it needs is null (never a silent 0), and clamps to the
 * range of its feature in the catalog.
 */
import { InternalError } from '../../../shared/errors.js';

export { DecayedCounter, OnlineKMeans, RunningCentroid } from './derived-state.js';
export { cosine } from './vector.js';
export type { DecayedCounterState, OnlineKMeansState, RunningCentroidState } from './derived-state.js';

/**
 * Min–max normalisation of `value` over the values of the model catalog: (v − min) / (max − min),
 * clamped to [0, 1]; 0 when every value is the same; null when `value` is null or `all` holds no
 * finite value. Null entries of `all` are skipped. The norms of DRV_002.
 *
 * @example
 * modelTableNorm(0.02, [0.01, 0.02, 0.03]); // (0.02 - 0.01) / (0.03 - 0.01) = 0.5
 */
export function modelTableNorm(value: number | null, all: Iterable<number | null>): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of all) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return null;
  if (max === min) return 0;
  return clamp01((value - min) / (max - min));
}

/**
 * DRV_002 cost_latency_score: (cost_norm + latency_norm) / 2, both normalised over the model
 * catalog with {@link modelTableNorm}. The join uses as cost the model's
 * avg_cost_per_request_5min (PERF_009) and as latency its latency_p95_5min (PERF_002).
 *
 * @example
 * costLatencyScore(0.5, 0.25); // (0.5 + 0.25) / 2 = 0.375
 */
export function costLatencyScore(costNorm: number | null, latencyNorm: number | null): number | null {
  if (costNorm === null || latencyNorm === null) return null;
  return clamp01((costNorm + latencyNorm) / 2);
}

/**
 * DRV_003 quality_cost_ratio: success_rate_5min / avg_cost_per_request_5min (successes per USD);
 * null when either is missing or the cost is 0 (free requests have no finite ratio).
 *
 * @example
 * qualityCostRatio(0.9, 0.01); // 0.9 / 0.01 = 90
 */
export function qualityCostRatio(successRate: number | null, avgCost: number | null): number | null {
  if (successRate === null || avgCost === null || !(avgCost > 0)) return null;
  return Math.max(0, successRate) / avgCost;
}

/**
 * The request side of DRV_005 from request feature values (by name). Components, paired with
 * {@link modelFitVector} and weighted by {@link DEFAULT_FIT_WEIGHTS}:
 *
 * | # | request | model | weight | why |
 * |---|---|---|---|---|
 * | 0 | prompt_length | model_context_length | 0.20 | long prompts need long contexts |
 * | 1 | prompt_complexity | model_capability_score | 0.25 | hard prompts need capable models |
 * | 2 | prompt_domain | model_capability_score | 0.15 | specialised prompts too |
 * | 3 | expected_output_length | 1 − model_cost_per_1k_output | 0.15 | long answers favour cheap output |
 * | 4 | 1 − request_priority | 1 − model_cost_per_1k_input | 0.15 | low priority favours cheap models |
 * | 5 | user_tier | model_size_class | 0.10 | paying tiers get large models |
 */
export function requestFitVector(r: Readonly<Record<string, number | null | undefined>>): (number | null)[] {
  return [
    r.prompt_length ?? null,
    r.prompt_complexity ?? null,
    r.prompt_domain ?? null,
    r.expected_output_length ?? null,
    complement(r.request_priority),
    r.user_tier ?? null,
  ];
}

/** The model side of DRV_005 from model_static values (by name); see {@link requestFitVector}. */
export function modelFitVector(m: Readonly<Record<string, number | null | undefined>>): (number | null)[] {
  return [
    m.model_context_length ?? null,
    m.model_capability_score ?? null,
    m.model_capability_score ?? null,
    complement(m.model_cost_per_1k_output),
    complement(m.model_cost_per_1k_input),
    m.model_size_class ?? null,
  ];
}

/** Default weights of DRV_005, in the order of {@link requestFitVector}; they sum to 1. */
export const DEFAULT_FIT_WEIGHTS: readonly number[] = Object.freeze([0.2, 0.25, 0.15, 0.15, 0.15, 0.1]);

/**
 * DRV_005 model_fit_score: the weighted dot product Σ wᵢ·rᵢ·mᵢ / Σ wᵢ over the components where
 * both sides are present (so a missing feature neither counts as 0 nor shifts the scale), clamped
 * to [0, 1]; null when no component is present. Throws an {@link InternalError} when the lengths
 * differ.
 *
 * @example
 * modelFitScore([1, 0.5], [0.8, 1], [0.5, 0.5]); // (0.5 * 1 * 0.8 + 0.5 * 0.5 * 1) / 1 = 0.65
 */
export function modelFitScore(
  requestVec: readonly (number | null)[],
  modelVec: readonly (number | null)[],
  weights: readonly number[] = DEFAULT_FIT_WEIGHTS,
): number | null {
  if (requestVec.length !== modelVec.length || requestVec.length !== weights.length) {
    throw new InternalError(
      `modelFitScore: vectors and weights must have one length, got ${requestVec.length}, ${modelVec.length}, ${weights.length}`,
      { field: 'DRV_005' },
    );
  }
  let dot = 0;
  let wsum = 0;
  for (let i = 0; i < weights.length; i++) {
    const r = requestVec[i];
    const m = modelVec[i];
    const w = weights[i]!;
    if (r === null || r === undefined || m === null || m === undefined || !(w > 0)) continue;
    dot += w * r * m;
    wsum += w;
  }
  return wsum === 0 ? null : clamp01(dot / wsum);
}

/**
 * DRV_007 time_pressure_indicator: request_priority × (1 − available_budget_ratio), in [0, 1].
 *
 * @example
 * timePressure(0.7, 0.25); // 0.7 * (1 - 0.25) = 0.525
 */
export function timePressure(priority: number | null, budgetRatio: number | null): number | null {
  if (priority === null || budgetRatio === null) return null;
  return clamp01(priority * (1 - budgetRatio));
}

/**
 * DRV_008 load_adjusted_latency: latency_p95_5min × (1 + queue_depth_requests), in ms.
 *
 * @example
 * loadAdjustedLatency(800, 0.5); // 800 * 1.5 = 1200
 */
export function loadAdjustedLatency(p95: number | null, queueDepthNorm: number | null): number | null {
  if (p95 === null || queueDepthNorm === null) return null;
  return Math.max(0, p95) * (1 + Math.max(0, queueDepthNorm));
}

/** One model's objectives for DRV_010: cost and latency (lower is better), quality (higher is better). */
export interface ParetoPoint {
  readonly cost: number | null;
  readonly latency: number | null;
  readonly quality: number | null;
}

/**
 * DRV_010 pareto_efficiency_score: how far model `i` is from the Pareto frontier of all models
 * over (cost ↓, latency ↓, quality ↑), in [0, 1], 0 on the frontier.
 *
 * - Normalisation: each objective min–max over the models with complete points, turned into
 *   "lower is better" (quality → 1 − quality_norm); an objective equal for every model is 0.
 * - Frontier F: the points no other point dominates (≤ in every objective, < in one).
 * - Distance: the additive ε-indicator, ε(x) = min over p ∈ F of max over objectives j of
 *   (xⱼ − pⱼ): the smallest amount by which x must improve in every objective at once to be no
 *   longer dominated. It is 0 exactly on the frontier and at most 1 after normalisation.
 *
 * Points with a null coordinate are left out; null when point `i` is incomplete. The join uses
 * cost = avg_cost_per_request_5min, latency = latency_p95_5min, quality = success_rate_5min.
 *
 * @example
 * paretoDistance([{ cost: 0, latency: 0, quality: 1 }, { cost: 1, latency: 1, quality: 0 }], 1); // 1
 */
export function paretoDistance(points: readonly ParetoPoint[], i: number): number | null {
  const target = points[i];
  if (target === undefined || !complete(target)) return null;
  const full = points.filter(complete);
  const lo = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const hi = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  const raw = (p: ParetoPoint): number[] => [p.cost!, p.latency!, -p.quality!];
  for (const p of full) {
    const r = raw(p);
    for (let j = 0; j < 3; j++) {
      lo[j] = Math.min(lo[j]!, r[j]!);
      hi[j] = Math.max(hi[j]!, r[j]!);
    }
  }
  const norm = (p: ParetoPoint): number[] =>
    raw(p).map((v, j) => (hi[j]! === lo[j]! ? 0 : (v - lo[j]!) / (hi[j]! - lo[j]!)));
  const xs = full.map(norm);
  const frontier = xs.filter((a) => !xs.some((b) => dominates(b, a)));
  const x = norm(target);
  let eps = Number.POSITIVE_INFINITY;
  for (const p of frontier) {
    let worst = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < 3; j++) worst = Math.max(worst, x[j]! - p[j]!);
    eps = Math.min(eps, worst);
  }
  return clamp01(eps);
}

function complete(p: ParetoPoint): boolean {
  return (
    p.cost !== null &&
    Number.isFinite(p.cost) &&
    p.latency !== null &&
    Number.isFinite(p.latency) &&
    p.quality !== null &&
    Number.isFinite(p.quality)
  );
}

/** Whether `a` dominates `b` (all objectives lower is better). */
function dominates(a: readonly number[], b: readonly number[]): boolean {
  let strictly = false;
  for (let j = 0; j < a.length; j++) {
    if (a[j]! > b[j]!) return false;
    if (a[j]! < b[j]!) strictly = true;
  }
  return strictly;
}

function complement(v: number | null | undefined): number | null {
  return v === null || v === undefined ? null : 1 - v;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
