/**
 * The built-in ranker behind `score`: a logistic model over the WF vector,
 * `score = σ(bias + Σ wᵢ·xᵢ)` (a null feature counts as 0), so users see ranking quality before
 * they train their own. Its weights are fitted on the stream's own next-call outcomes — every
 * call of a session is a positive for the endpoint that came and a negative for the other
 * endpoints — by {@link fitRanker} (plain batch gradient descent with L2, deterministic);
 * `featurestream workflow eval` fits it on the training sessions and reports it on held-out
 * ones. {@link DEFAULT_RANKER} is that fit on a generated stream (`workflow eval --seed 1 --events 8000`,
 * weights rounded), shipped so serving ranks sensibly before any refit; WF_001's weight is
 * set by hand (the evaluation runs without embeddings).
 */
import { WF_FEATURE_NAMES, type WfVector } from './features.js';

export interface RankerWeights {
  readonly bias: number;
  readonly weights: Readonly<Record<string, number>>;
}

export const DEFAULT_RANKER: RankerWeights = Object.freeze({
  bias: -1.83,
  weights: Object.freeze({
    // Not fitted: `workflow eval` runs without embeddings; a fixed, modest weight.
    semantic_similarity: 1,
    bigram_prob: 3.384,
    trigram_prob: 3.814,
    transition_prob: 0.795,
    pattern_confidence: -0.489,
    resource_continuity: 1.89,
    method_prior: 0.251,
    candidate_popularity: 0.11,
    recency: 0.559,
    session_position: -0.415,
    cold_start: 0.166,
  }),
});

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** The ranker's score of one vector, in (0, 1). */
export function score(v: WfVector, r: RankerWeights = DEFAULT_RANKER): number {
  let z = r.bias;
  for (const n of WF_FEATURE_NAMES) z += (r.weights[n] ?? 0) * (v[n] ?? 0);
  return sigmoid(z);
}

/** One labelled vector. */
export interface Example {
  readonly x: WfVector;
  readonly y: 0 | 1;
}

/**
 * Fits logistic weights (batch gradient descent, `epochs` passes, learning rate `lr`, L2 `l2`),
 * positives weighted so both classes count equally. Deterministic.
 */
export function fitRanker(
  examples: readonly Example[],
  opts: { epochs?: number; lr?: number; l2?: number } = {},
): RankerWeights {
  const { epochs = 300, lr = 0.5, l2 = 1e-4 } = opts;
  const d = WF_FEATURE_NAMES.length;
  const X = examples.map((e) => WF_FEATURE_NAMES.map((n) => e.x[n] ?? 0));
  const pos = examples.filter((e) => e.y === 1).length;
  const neg = examples.length - pos;
  if (pos === 0 || neg === 0) return DEFAULT_RANKER;
  const wPos = examples.length / (2 * pos);
  const wNeg = examples.length / (2 * neg);
  const w = new Array<number>(d).fill(0);
  let b = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const g = new Array<number>(d).fill(0);
    let gb = 0;
    for (let i = 0; i < X.length; i++) {
      const x = X[i]!;
      let z = b;
      for (let j = 0; j < d; j++) z += w[j]! * x[j]!;
      const y = examples[i]!.y;
      const err = (sigmoid(z) - y) * (y === 1 ? wPos : wNeg);
      for (let j = 0; j < d; j++) g[j]! += err * x[j]!;
      gb += err;
    }
    for (let j = 0; j < d; j++) w[j]! -= lr * (g[j]! / X.length + l2 * w[j]!);
    b -= (lr * gb) / X.length;
  }
  return { bias: b, weights: Object.fromEntries(WF_FEATURE_NAMES.map((n, j) => [n, w[j]!])) };
}
