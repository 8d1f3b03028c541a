/**
 * `featurestream workflow eval`: how well `score` ranks the next call, against a popularity
 * baseline, on held-out sessions. Sessions are split by a hash of their id (a fifth held out);
 * the calls stream through the in-memory model in time order; before each call of a session
 * (from its second on... and its first, as a cold start) every endpoint of the API surface is a
 * candidate, and the call that came is the right answer. Training sessions give labelled vectors
 * (the answer, and 8 sampled other endpoints) that fit the logistic ranker ({@link fitRanker});
 * held-out queries are then ranked by that `score` and by `candidate_popularity`. Ties share
 * their ranks (a candidate's rank is 1 + the better ones + half the equal ones), so a constant
 * scorer gets no credit. Reports hit@1, hit@3 and MRR, and can export the training rows (CSV,
 * and LightGBM's format: a TSV with the label first plus a `.query` group file).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiCalls } from './generate/api-stream.js';
import { mulberry32 } from '../../shared/random.js';
import { WF_FEATURE_NAMES, type WfVector } from './features.js';
import { stableId } from './ids.js';
import { DEFAULT_WORKFLOW_CONFIG, WorkflowModel } from './model.js';
import { builtinSpec } from './openapi.js';
import { PathNormalizer } from './paths.js';
import { API_WORKFLOW_PARAMS } from './params.js';
import { type Example, fitRanker, type RankerWeights, score } from './ranker.js';

export interface EvalOptions {
  readonly events: number;
  readonly seed: number;
  readonly noise?: number;
  /** Folder for train.csv, train.tsv + train.tsv.query (LightGBM). */
  readonly exportDir?: string;
}

export interface RankMetrics {
  readonly hit1: number;
  readonly hit3: number;
  readonly mrr: number;
}

export interface EvalReport {
  readonly trainQueries: number;
  readonly testQueries: number;
  readonly candidates: number;
  readonly ranker: RankerWeights;
  readonly score: RankMetrics;
  readonly popularity: RankMetrics;
}

function rankOf(values: readonly number[], right: number): number {
  const v = values[right]!;
  let better = 0;
  let equal = 0;
  values.forEach((x, i) => {
    if (i === right) return;
    if (x > v) better++;
    else if (x === v) equal++;
  });
  return 1 + better + equal / 2;
}

function metrics(ranks: readonly number[]): RankMetrics {
  const n = Math.max(1, ranks.length);
  return {
    hit1: ranks.filter((r) => r <= 1).length / n,
    hit3: ranks.filter((r) => r <= 3).length / n,
    mrr: ranks.reduce((s, r) => s + 1 / r, 0) / n,
  };
}

/** Runs the evaluation on a generated stream. */
export function evaluateWorkflow(opts: EvalOptions): EvalReport {
  const spec = builtinSpec();
  const model = new WorkflowModel(
    { ...DEFAULT_WORKFLOW_CONFIG, halfLifeMs: API_WORKFLOW_PARAMS.halfLife },
    new PathNormalizer(spec.endpoints.map((e) => e.path)),
  );
  const candidates = spec.endpoints.map((e) => ({ method: e.method, path: e.path }));
  const index = new Map(candidates.map((c, i) => [`${c.method} ${c.path}`, i]));
  const rand = mulberry32(opts.seed + 99);
  const train: Example[] = [];
  const groups: { vectors: WfVector[]; right: number }[] = [];
  const test: { vectors: WfVector[]; right: number }[] = [];
  for (const c of generateApiCalls({ events: opts.events, seed: opts.seed, noise: opts.noise ?? 0.1 })) {
    const right = index.get(`${c.method} ${c.template}`);
    if (right !== undefined) {
      const heldOut = stableId(c.session) % 5 === 0;
      const { vectors } = model.rank(c.session, candidates, { tenant: c.tenant });
      if (heldOut) test.push({ vectors, right });
      else {
        const picked = new Set([right]);
        while (picked.size < 9) picked.add(Math.floor(rand() * candidates.length));
        const sub = [...picked];
        for (const i of sub) train.push({ x: vectors[i]!, y: i === right ? 1 : 0 });
        groups.push({ vectors: sub.map((i) => vectors[i]!), right: 0 });
      }
    }
    model.observe({ session: c.session, ts: c.ts, method: c.method, path: c.path, tenant: c.tenant });
  }
  const ranker = fitRanker(train);
  const scoreRanks = test.map((q) =>
    rankOf(
      q.vectors.map((v) => score(v, ranker)),
      q.right,
    ),
  );
  const popRanks = test.map((q) =>
    rankOf(
      q.vectors.map((v) => v.candidate_popularity ?? 0),
      q.right,
    ),
  );
  if (opts.exportDir !== undefined) exportTraining(opts.exportDir, groups);
  return {
    trainQueries: groups.length,
    testQueries: test.length,
    candidates: candidates.length,
    ranker,
    score: metrics(scoreRanks),
    popularity: metrics(popRanks),
  };
}

/** train.csv (query,label,features…) and LightGBM's train.tsv + train.tsv.query. */
function exportTraining(dir: string, groups: readonly { vectors: WfVector[]; right: number }[]): void {
  const csv = [`query,label,${WF_FEATURE_NAMES.join(',')}`];
  const tsv: string[] = [];
  const query: string[] = [];
  const cell = (v: number | null) => (v === null ? '' : String(v));
  groups.forEach((g, q) => {
    query.push(String(g.vectors.length));
    g.vectors.forEach((v, i) => {
      const label = i === g.right ? 1 : 0;
      const xs = WF_FEATURE_NAMES.map((n) => cell(v[n]));
      csv.push(`${q},${label},${xs.join(',')}`);
      tsv.push([label, ...WF_FEATURE_NAMES.map((n) => (v[n] === null ? 'nan' : String(v[n])))].join('\t'));
    });
  });
  writeFileSync(join(dir, 'train.csv'), `${csv.join('\n')}\n`);
  writeFileSync(join(dir, 'train.tsv'), `${tsv.join('\n')}\n`);
  writeFileSync(join(dir, 'train.tsv.query'), `${query.join('\n')}\n`);
}
