/**
 * The family-B features (feature-catalog.md, WF_001–WF_011) of one candidate next call, from a
 * session's history and the stream's statistics. Pure: the in-memory model and the serving
 * route (which reads the statistics from the online store) both call {@link candidateFeatures}
 * with a {@link StatsView}, so the two cannot disagree on a formula.
 *
 * Formulas (k = `smoothing`, V = endpoints seen + 1, counts decayed to the request's reference
 * time; "last" is the session's last call, the begin-of-session token when it has none):
 *
 * - WF_001 semantic_similarity = cosine(prompt embedding, candidate description embedding); null
 *   without a prompt or a description.
 * - WF_002 bigram_prob = (c(last → cand) + k) / (c(last) + k·V).
 * - WF_003 trigram_prob = (c(last2, last → cand) + β·bigram) / (c(last2, last) + β), β = `backoff`:
 *   an unseen two-call context gives the bigram exactly.
 * - WF_004 transition_prob = (T[from][state(cand)] + k) / (T[from] + 5k), T the transition counts
 *   of the detected pattern from the last call's state (`start` before the first call), the
 *   counts of all sessions when that pattern has none from this state.
 * - WF_005 pattern_confidence = the detected pattern's confidence (patterns.ts).
 * - WF_006 resource_continuity = max over the kept history of `continuityDecay^i` where the call
 *   i steps back (0 = last) has the candidate's resource; 0 when none has.
 * - WF_007 method_prior = (M[from][method(cand)] + k) / (M[from] + 6k), M all sessions' method
 *   counts after state `from` (GET, POST, PUT, PATCH, DELETE, other).
 * - WF_008 candidate_popularity = calls to the candidate / all calls over the last hour,
 *   exponentially weighted (a call weighs exp(−age / 1 h)); null before any call.
 * - WF_009 recency = exp(−Δt/τ), Δt from the candidate's latest call among the kept history to the
 *   session's last call; 0 if it is not there.
 * - WF_010 session_position = ln(1 + calls) / ln(101), max 1.
 * - WF_011 cold_start = 1 when the session has no history, else 0.
 */
import { BOS } from './ids.js';
import type { SessionHistory } from './session.js';
import { lastCall } from './session.js';
import { PRIOR_METHODS, WORKFLOW_STATES } from './states.js';

/** Feature names in catalog order. */
export const WF_FEATURES = [
  { id: 'WF_001', name: 'semantic_similarity' },
  { id: 'WF_002', name: 'bigram_prob' },
  { id: 'WF_003', name: 'trigram_prob' },
  { id: 'WF_004', name: 'transition_prob' },
  { id: 'WF_005', name: 'pattern_confidence' },
  { id: 'WF_006', name: 'resource_continuity' },
  { id: 'WF_007', name: 'method_prior' },
  { id: 'WF_008', name: 'candidate_popularity' },
  { id: 'WF_009', name: 'recency' },
  { id: 'WF_010', name: 'session_position' },
  { id: 'WF_011', name: 'cold_start' },
] as const;
export type WfFeatureName = (typeof WF_FEATURES)[number]['name'];
export type WfVector = Record<WfFeatureName, number | null>;
export const WF_FEATURE_NAMES: readonly WfFeatureName[] = WF_FEATURES.map((f) => f.name);

/** Tunables of the formulas (defaults in {@link DEFAULT_FEATURE_PARAMS}). */
export interface FeatureParams {
  readonly smoothing: number;
  readonly backoff: number;
  readonly continuityDecay: number;
  readonly recencyTauMs: number;
}

export const DEFAULT_FEATURE_PARAMS: FeatureParams = Object.freeze({
  smoothing: 0.1,
  backoff: 1,
  continuityDecay: 0.5,
  recencyTauMs: 10 * 60_000,
});

/** A candidate, resolved: endpoint id, state index, method, resource id. */
export interface ResolvedCandidate {
  readonly e: number;
  readonly s: number;
  readonly method: string;
  readonly r: number;
}

/**
 * The statistics a ranking reads, already decayed to one reference time. Counts are plain
 * numbers; missing rows are 0.
 */
export interface StatsView {
  /** Distinct endpoints seen (V − 1). */
  vocab(): number;
  /** c(ctx → next) and c(ctx) for a one- or two-call context. */
  ngram(ctx: readonly number[], next: number): number;
  ngramContext(ctx: readonly number[]): number;
  /** Transition counts from `from` (state index, -1 = start) to each state, in pattern `pattern` (`*` = all). */
  transitions(pattern: string, from: number): readonly number[] | null;
  /** Method counts after state `from`, in PRIOR_METHODS order. */
  methods(from: number): readonly number[] | null;
  /** [weighted calls to the endpoint, weighted calls to all], decayed; null before any call. */
  popularity(e: number): readonly [number, number] | null;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Cosine of two vectors; null when either is missing or zero. */
export function cosine(a: ArrayLike<number> | null, b: ArrayLike<number> | null): number | null {
  if (a === null || b === null || a.length !== b.length) return null;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 || nb === 0) return null;
  return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
}

/** WF_010. */
export function sessionPosition(calls: number): number {
  return Math.min(1, Math.log(1 + calls) / Math.log(101));
}

/**
 * The WF vector of one candidate.
 *
 * @example
 * candidateFeatures(history, { name: 'browse_edit_save', confidence: 1 }, cand, stats, null);
 */
export function candidateFeatures(
  h: SessionHistory,
  pattern: { readonly name: string; readonly confidence: number },
  cand: ResolvedCandidate,
  stats: StatsView,
  similarity: number | null,
  params: FeatureParams = DEFAULT_FEATURE_PARAMS,
): WfVector {
  const { smoothing: k, backoff: beta } = params;
  const last = lastCall(h);
  const k2 = h.calls.length;
  const e1 = last?.e ?? BOS;
  const e2 = k2 >= 2 ? h.calls[k2 - 2]!.e : BOS;
  const from = last?.s ?? -1;
  const V = stats.vocab() + 1;
  const bigram = (stats.ngram([e1], cand.e) + k) / (stats.ngramContext([e1]) + k * V);
  const trigram = (stats.ngram([e2, e1], cand.e) + beta * bigram) / (stats.ngramContext([e2, e1]) + beta);

  let t = stats.transitions(pattern.name, from);
  if (t === null || sum(t) === 0) t = stats.transitions('*', from);
  const nStates = WORKFLOW_STATES.length;
  const transition = ((t?.[cand.s] ?? 0) + k) / ((t === null ? 0 : sum(t)) + nStates * k);

  const m = stats.methods(from);
  const mi = PRIOR_METHODS.indexOf(cand.method as (typeof PRIOR_METHODS)[number]);
  const methodIdx = mi < 0 ? PRIOR_METHODS.length - 1 : mi;
  const methodPrior = ((m?.[methodIdx] ?? 0) + k) / ((m === null ? 0 : sum(m)) + PRIOR_METHODS.length * k);

  let continuity = 0;
  let recency = 0;
  let seen = false;
  for (let i = 0; i < k2; i++) {
    const c = h.calls[k2 - 1 - i]!;
    if (continuity === 0 && c.r === cand.r && cand.r !== BOS) continuity = params.continuityDecay ** i;
    if (!seen && c.e === cand.e) {
      seen = true;
      recency = Math.exp(-(last!.t - c.t) / params.recencyTauMs);
    }
  }

  const pop = stats.popularity(cand.e);
  return {
    semantic_similarity: similarity,
    bigram_prob: bigram,
    trigram_prob: trigram,
    transition_prob: transition,
    pattern_confidence: pattern.confidence,
    resource_continuity: continuity,
    method_prior: methodPrior,
    candidate_popularity: pop === null || pop[1] <= 0 ? null : pop[0] / pop[1],
    recency,
    session_position: sessionPosition(h.n),
    cold_start: h.n === 0 ? 1 : 0,
  };
}
