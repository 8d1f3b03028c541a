/**
 * The family-B model in memory: everything the `api-workflow` topology keeps as keyed state
 * (sessions, n-grams globally and per tenant, transitions, 1-hour popularity), fed call by call,
 * and rankings computed from it with the same {@link candidateFeatures} as serving. Used by
 * `workflow eval`, the training-set export and the tests (which check the topology's stored rows
 * and the served vectors against it).
 *
 * @example
 * const m = new WorkflowModel();
 * m.observe({ session: 's1', ts: 0, method: 'GET', path: '/v1/invoices' });
 * m.rank('s1', [{ method: 'GET', path: '/v1/invoices/{id}' }]);
 */
import { decayTo, type Decayed } from './counts.js';
import {
  candidateFeatures,
  DEFAULT_FEATURE_PARAMS,
  type FeatureParams,
  type ResolvedCandidate,
  type StatsView,
  type WfVector,
} from './features.js';
import { BOS, idHex, stableId } from './ids.js';
import { type PatternTemplate, SHIPPED_PATTERNS } from './patterns.js';
import { endpointKey, PathNormalizer } from './paths.js';
import { type Call, emptySession, pushCall, type SessionHistory, sessionPattern } from './session.js';
import {
  contextKey,
  NgramCounts,
  ngramKey,
  POPULARITY_ALL,
  PopularityCounts,
  TransitionCounts,
  transitionKey,
} from './stats.js';
import {
  PRIOR_METHODS,
  priorMethod,
  resourceOf,
  stateIndex,
  WORKFLOW_STATES,
  workflowState,
} from './states.js';

/** Configuration of the model and of the topology's processors. */
export interface WorkflowConfig {
  /** Half-life of n-gram and transition counts, ms. Default 24 h. */
  readonly halfLifeMs: number;
  /** Time constant of popularity (WF_008): calls weigh exp(−age/τ). Default 1 h. */
  readonly popularityTauMs: number;
  readonly patterns: readonly PatternTemplate[];
  readonly features: FeatureParams;
}

export const DEFAULT_WORKFLOW_CONFIG: WorkflowConfig = Object.freeze({
  halfLifeMs: 24 * 3_600_000,
  popularityTauMs: 3_600_000,
  patterns: SHIPPED_PATTERNS,
  features: DEFAULT_FEATURE_PARAMS,
});

/** An API call as the model sees it (a decoded `api_call`, path concrete or template). */
export interface ApiCall {
  readonly session: string;
  readonly ts: number;
  readonly method: string;
  readonly path: string;
  readonly tenant?: string | null;
  readonly resource?: string | null;
}

/** A ranking candidate. */
export interface Candidate {
  readonly method: string;
  readonly path: string;
  readonly description?: string;
}

/** Resolves a call or candidate: endpoint id, state, resource id, prior method. */
export function resolveEndpoint(
  normalizer: PathNormalizer,
  method: string,
  path: string,
  resource?: string | null,
): ResolvedCandidate & { readonly template: string; readonly key: string } {
  const m = method.toUpperCase();
  const template = normalizer.normalize(path).template;
  const key = endpointKey(m, template);
  const res = resource ?? resourceOf(template);
  return {
    e: stableId(key),
    s: stateIndex(workflowState(m, template)),
    method: priorMethod(m),
    r: res === '' ? BOS : stableId(res),
    template,
    key,
  };
}

/** The in-memory model. */
export class WorkflowModel implements StatsView {
  readonly sessions = new Map<string, SessionHistory>();
  readonly global: NgramCounts;
  readonly tenants = new Map<string, NgramCounts>();
  readonly transitionCounts: TransitionCounts;
  /** Popularity: decayed calls per endpoint and of all endpoints. */
  readonly popularityCounts: PopularityCounts;
  private tRef = Number.NEGATIVE_INFINITY;
  private scope: NgramCounts;

  constructor(
    readonly config: WorkflowConfig = DEFAULT_WORKFLOW_CONFIG,
    readonly normalizer: PathNormalizer = new PathNormalizer(),
  ) {
    this.global = new NgramCounts(config.halfLifeMs);
    this.transitionCounts = new TransitionCounts(config.halfLifeMs, config.patterns);
    this.scope = this.global;
    this.popularityCounts = new PopularityCounts(config.popularityTauMs);
  }

  /** Feeds one call (in stream order). */
  observe(c: ApiCall): void {
    const r = resolveEndpoint(this.normalizer, c.method, c.path, c.resource);
    const call: Call = { e: r.e, s: r.s, r: r.r, t: c.ts };
    let h = this.sessions.get(c.session);
    if (h === undefined) {
      h = emptySession();
      this.sessions.set(c.session, h);
    }
    this.global.observe(h, call);
    if (c.tenant !== undefined && c.tenant !== null) {
      let t = this.tenants.get(c.tenant);
      if (t === undefined) {
        t = new NgramCounts(this.config.halfLifeMs);
        this.tenants.set(c.tenant, t);
      }
      t.observe(h, call);
    }
    this.transitionCounts.observe(h, call, PRIOR_METHODS.indexOf(r.method as (typeof PRIOR_METHODS)[number]));
    pushCall(h, call);
    this.popularityCounts.observe(call);
    this.tRef = Math.max(this.tRef, c.ts);
  }

  /**
   * The WF vectors of candidates for a session's next call (a missing session is a cold start).
   * `similarity(i)` gives WF_001 of candidate i (null by default). Per-tenant n-grams are used
   * when `tenant` is given and the tenant has counts, else all tenants'.
   */
  rank(
    session: string,
    candidates: readonly Candidate[],
    opts: { tenant?: string | null; similarity?: (i: number) => number | null } = {},
  ): { pattern: { name: string; confidence: number }; vectors: WfVector[] } {
    const h = this.sessions.get(session) ?? emptySession();
    const p = sessionPattern(h, this.config.patterns);
    const tenant =
      opts.tenant === undefined || opts.tenant === null ? undefined : this.tenants.get(opts.tenant);
    this.scope = tenant !== undefined && tenant.vocab.size > 0 ? tenant : this.global;
    const pattern = { name: p.name, confidence: p.confidence };
    const vectors = candidates.map((c, i) =>
      candidateFeatures(
        h,
        pattern,
        resolveEndpoint(this.normalizer, c.method, c.path),
        this,
        opts.similarity?.(i) ?? null,
        this.config.features,
      ),
    );
    return { pattern, vectors };
  }

  private decayed(d: Decayed | undefined, i = 0): number {
    return d === undefined ? 0 : decayTo(d.c[i]!, d.t, this.tRef, this.config.halfLifeMs);
  }

  // StatsView, at the latest event time seen.
  vocab(): number {
    return this.scope.vocab.size;
  }
  ngram(ctx: readonly number[], next: number): number {
    return this.decayed(this.scope.counts.get(ngramKey(ctx, next)));
  }
  ngramContext(ctx: readonly number[]): number {
    return this.decayed(this.scope.counts.get(contextKey(ctx)));
  }
  private vector(pattern: string, from: number): number[] | null {
    const d = this.transitionCounts.counts.get(transitionKey(pattern, from));
    return d === undefined ? null : d.c.map((_, i) => this.decayed(d, i));
  }
  transitions(pattern: string, from: number): readonly number[] | null {
    return this.vector(pattern, from)?.slice(0, WORKFLOW_STATES.length) ?? null;
  }
  methods(from: number): readonly number[] | null {
    return this.vector('*', from)?.slice(WORKFLOW_STATES.length) ?? null;
  }
  popularity(e: number): readonly [number, number] | null {
    const p = this.popularityCounts;
    const all = p.counts.get(POPULARITY_ALL);
    if (all === undefined) return null;
    const at = (d: Decayed | undefined) =>
      d === undefined ? 0 : decayTo(d.c[0]!, d.t, this.tRef, p.halfLifeMs);
    return [at(p.counts.get(idHex(e))), at(all)];
  }
}
