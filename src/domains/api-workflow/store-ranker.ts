/**
 * Ranking a session's next call from the online store (family-B serving): reads the session's
 * `wf_session` row, then in one `readMany` the n-gram, transition and popularity rows the
 * candidates need, decays every count to one reference time (the latest of those rows and the
 * session's last call) and computes WF_001–WF_011 with the same {@link candidateFeatures} as the
 * in-memory model, then `score` with the built-in ranker.
 *
 * Caches:
 * - embeddings of the prompt and candidate descriptions: the {@link Embedder} (memory LRU +
 *   LevelDB, by content hash + model version);
 * - feature vectors by (session, session state version, tenant, prompt, candidate): a session
 *   that moves (a new call, so a new state version) drops its entries; entries also expire after
 *   `vectorTtlMs` so that global counts moving under an idle session are picked up. A cached
 *   vector is the vector computed then — equal to a fresh one while the statistics have not moved.
 */
import type { OnlineKey, OnlineValue } from '../../stores/online-store.js';
import type { Embedder } from '../llm/index.js';
import { decayTo } from './counts.js';
import {
  candidateFeatures,
  cosine,
  DEFAULT_FEATURE_PARAMS,
  type FeatureParams,
  type ResolvedCandidate,
  type StatsView,
  type WfVector,
} from './features.js';
import { BOS, idHex } from './ids.js';
import { type Candidate, resolveEndpoint } from './model.js';
import type { ApiSpec } from './openapi.js';
import { detectPattern, type PatternTemplate, SHIPPED_PATTERNS } from './patterns.js';
import { endpointKey, PathNormalizer } from './paths.js';
import { DEFAULT_RANKER, type RankerWeights, score } from './ranker.js';
import { emptySession, lastCall, type SessionHistory, sessionFromRow, stateSequence } from './session.js';
import {
  contextKey,
  fromName,
  ngramKey,
  POPULARITY_ALL,
  TRANSITION_VALUE_NAMES,
  VOCAB_KEY,
} from './stats.js';
import { WORKFLOW_STATES } from './states.js';

/** What the ranker needs of an online store. */
export interface RowReader {
  readMany(keys: readonly OnlineKey[]): Promise<Array<OnlineValue | null>>;
}

export interface StoreRankerOptions {
  readonly store: RowReader;
  /** For WF_001; null leaves semantic_similarity null. */
  readonly embedder?: Embedder | null;
  /** Endpoint templates and descriptions (default descriptions of candidates). */
  readonly spec?: ApiSpec | null;
  readonly patterns?: readonly PatternTemplate[];
  readonly features?: FeatureParams;
  readonly ranker?: RankerWeights;
  /** Half-lives of the topology's counts (ms). */
  readonly halfLifeMs: number;
  readonly popularityHalfLifeMs: number;
  /** Feature-vector cache: entry lifetime (default 10 s) and most sessions kept (default 10 000). */
  readonly vectorTtlMs?: number;
  readonly maxSessions?: number;
}

/** A ranking request. */
export interface RankRequest {
  readonly session_id: string;
  readonly prompt?: string | null;
  readonly tenant?: string | null;
  readonly candidates: readonly Candidate[];
}

export interface RankedCandidate {
  readonly method: string;
  readonly path: string;
  readonly features: WfVector;
  readonly score: number;
}

export interface RankResponse {
  readonly session_id: string;
  readonly pattern: { readonly name: string; readonly confidence: number };
  readonly candidates: RankedCandidate[];
  readonly cache: { readonly hits: number; readonly misses: number };
}

/** Counters since start, for `/metrics`. */
export interface RankerCacheStats {
  vectorHits: number;
  vectorMisses: number;
  invalidations: number;
  embeddingRequests: number;
  embeddingHits: number;
}

const G = {
  session: 'wf_session',
  ngram: 'wf_ngram',
  tenant: 'wf_ngram_tenant',
  transition: 'wf_transition',
  popularity: 'wf_popularity',
};

interface SessionCache {
  version: number;
  vectors: Map<string, { v: WfVector; until: number }>;
}

export class StoreRanker {
  private readonly normalizer: PathNormalizer;
  private readonly descriptions = new Map<string, string>();
  private readonly sessions = new Map<string, SessionCache>();
  private readonly resolved = new Map<string, ResolvedCandidate & { readonly key: string }>();
  readonly stats: RankerCacheStats = {
    vectorHits: 0,
    vectorMisses: 0,
    invalidations: 0,
    embeddingRequests: 0,
    embeddingHits: 0,
  };

  constructor(private readonly opts: StoreRankerOptions) {
    const spec = opts.spec ?? null;
    this.normalizer = new PathNormalizer(spec === null ? [] : spec.endpoints.map((e) => e.path));
    for (const e of spec?.endpoints ?? [])
      this.descriptions.set(endpointKey(e.method, e.path), e.description);
  }

  /** Ranks the candidates of one request (a missing session is a cold start). */
  async rank(req: RankRequest): Promise<RankResponse> {
    const { store } = this.opts;
    const [row] = await store.readMany([
      { entityType: 'session', entityId: req.session_id, group: G.session, version: 1 },
    ]);
    const h = row === null || row === undefined ? emptySession() : sessionFromRow(row.values);
    const p = detectPattern(stateSequence(h), this.opts.patterns ?? SHIPPED_PATTERNS);
    const pattern = { name: p.name, confidence: p.confidence };
    const resolved = req.candidates.map((c) => this.resolve(c.method, c.path));

    // Feature-vector cache, invalidated when the session moves.
    const now = Date.now();
    let sc = this.sessions.get(req.session_id);
    if (sc !== undefined && sc.version !== h.version) {
      this.sessions.delete(req.session_id);
      this.stats.invalidations++;
      sc = undefined;
    }
    if (sc === undefined) {
      sc = { version: h.version, vectors: new Map() };
      if (this.sessions.size >= (this.opts.maxSessions ?? 10_000)) {
        const oldest = this.sessions.keys().next().value;
        if (oldest !== undefined) this.sessions.delete(oldest);
      }
    } else this.sessions.delete(req.session_id); // re-inserted below: most recent last
    this.sessions.set(req.session_id, sc);
    const ctx = `${req.tenant ?? ''}\u0000${req.prompt ?? ''}\u0000`;
    const vectors: (WfVector | null)[] = resolved.map((r, i) => {
      const hit = sc.vectors.get(`${ctx}${r.key}\u0000${req.candidates[i]!.description ?? ''}`);
      return hit !== undefined && hit.until > now ? hit.v : null;
    });
    const missing = vectors.flatMap((v, i) => (v === null ? [i] : []));
    const hits = vectors.length - missing.length;
    this.stats.vectorHits += hits;
    this.stats.vectorMisses += missing.length;

    if (missing.length > 0) {
      const [stats, sims] = await Promise.all([
        this.fetchStats(
          h,
          pattern.name,
          missing.map((i) => resolved[i]!),
          req.tenant ?? null,
        ),
        this.similarities(req, missing, resolved),
      ]);
      const until = now + (this.opts.vectorTtlMs ?? 10_000);
      missing.forEach((i, j) => {
        const v = candidateFeatures(
          h,
          pattern,
          resolved[i]!,
          stats,
          sims[j] ?? null,
          this.opts.features ?? DEFAULT_FEATURE_PARAMS,
        );
        vectors[i] = v;
        sc.vectors.set(`${ctx}${resolved[i]!.key}\u0000${req.candidates[i]!.description ?? ''}`, {
          v,
          until,
        });
      });
    }
    const ranker = this.opts.ranker ?? DEFAULT_RANKER;
    return {
      session_id: req.session_id,
      pattern,
      candidates: req.candidates.map((c, i) => ({
        method: c.method,
        path: c.path,
        features: vectors[i]!,
        score: score(vectors[i]!, ranker),
      })),
      cache: { hits, misses: missing.length },
    };
  }

  /** A candidate's endpoint, state and resource; memoised (pure in method and path). */
  private resolve(method: string, path: string): ResolvedCandidate & { readonly key: string } {
    const k = `${method} ${path}`;
    let r = this.resolved.get(k);
    if (r === undefined) {
      r = resolveEndpoint(this.normalizer, method, path);
      if (this.resolved.size >= 50_000) this.resolved.clear();
      this.resolved.set(k, r);
    }
    return r;
  }

  private async similarities(
    req: RankRequest,
    idx: readonly number[],
    resolved: readonly (ResolvedCandidate & { key: string })[],
  ): Promise<(number | null)[]> {
    const embedder = this.opts.embedder ?? null;
    const prompt = req.prompt ?? '';
    if (embedder === null || prompt.trim() === '') return idx.map(() => null);
    const texts = idx.map(
      (i) => req.candidates[i]!.description ?? this.descriptions.get(resolved[i]!.key) ?? '',
    );
    const wanted = [prompt, ...texts.filter((t) => t !== '')];
    const before = embedder.stats();
    const vecs = await embedder.embed(wanted);
    const after = embedder.stats();
    this.stats.embeddingRequests += after.requests - before.requests;
    this.stats.embeddingHits +=
      after.memoryHits -
      before.memoryHits +
      (after.diskHits - before.diskHits) +
      (after.deduped - before.deduped);
    let k = 1;
    return texts.map((t) => (t === '' ? null : cosine(vecs[0]!, vecs[k++]!)));
  }

  /** Reads the rows the candidates need and returns them as a StatsView at one reference time. */
  private async fetchStats(
    h: SessionHistory,
    pattern: string,
    cands: readonly ResolvedCandidate[],
    tenant: string | null,
  ): Promise<StatsView> {
    const last = lastCall(h);
    const k = h.calls.length;
    const e1 = last?.e ?? BOS;
    const e2 = k >= 2 ? h.calls[k - 2]!.e : BOS;
    const from = last?.s ?? -1;
    const keys: OnlineKey[] = [];
    const slot = new Map<string, number>();
    const want = (group: string, entityType: string, entityId: string) => {
      const id = `${group}/${entityId}`;
      if (!slot.has(id)) {
        slot.set(id, keys.length);
        keys.push({ entityType, entityId, group, version: 1 });
      }
    };
    const scopes: [string, string][] =
      tenant === null
        ? [[G.ngram, '*']]
        : [
            [G.tenant, tenant],
            [G.ngram, '*'],
          ];
    for (const [g, s] of scopes) {
      want(g, 'ngram', `${s}|${VOCAB_KEY}`);
      want(g, 'ngram', `${s}|${contextKey([e1])}`);
      want(g, 'ngram', `${s}|${contextKey([e2, e1])}`);
      for (const c of cands) {
        want(g, 'ngram', `${s}|${ngramKey([e1], c.e)}`);
        want(g, 'ngram', `${s}|${ngramKey([e2, e1], c.e)}`);
      }
    }
    want(G.transition, 'transition', `${pattern}|${fromName(from)}`);
    want(G.transition, 'transition', `*|${fromName(from)}`);
    want(G.popularity, 'endpoint', POPULARITY_ALL);
    for (const c of cands) want(G.popularity, 'endpoint', idHex(c.e));
    const values = await this.opts.store.readMany(keys);
    let tRef = last?.t ?? Number.NEGATIVE_INFINITY;
    for (const v of values) if (v !== null && v.eventTime > tRef) tRef = v.eventTime;
    const get = (group: string, entityId: string) => values[slot.get(`${group}/${entityId}`)!] ?? null;
    const decayed = (v: OnlineValue | null, name: string, halfLife: number) => {
      const c = v?.values[name];
      return v === null || c === null || c === undefined ? 0 : decayTo(c, v.eventTime, tRef, halfLife);
    };
    const hl = this.opts.halfLifeMs;
    // Per-tenant counts when the tenant has a vocabulary, else every tenant's.
    const [g, s] =
      tenant !== null && get(G.tenant, `${tenant}|${VOCAB_KEY}`) !== null
        ? [G.tenant, tenant]
        : [G.ngram, '*'];
    const vector = (entity: string, names: readonly string[]) => {
      const v = get(G.transition, entity);
      return v === null ? null : names.map((n) => decayed(v, n, hl));
    };
    const nStates = WORKFLOW_STATES.length;
    return {
      vocab: () => get(g, `${s}|${VOCAB_KEY}`)?.values.count ?? 0,
      ngram: (ctx, next) => decayed(get(g, `${s}|${ngramKey(ctx, next)}`), 'count', hl),
      ngramContext: (ctx) => decayed(get(g, `${s}|${contextKey(ctx)}`), 'count', hl),
      transitions: (p, f) => vector(`${p}|${fromName(f)}`, TRANSITION_VALUE_NAMES.slice(0, nStates)),
      methods: (f) => vector(`*|${fromName(f)}`, TRANSITION_VALUE_NAMES.slice(nStates)),
      popularity: (e) => {
        const all = get(G.popularity, POPULARITY_ALL);
        if (all === null) return null;
        const ph = this.opts.popularityHalfLifeMs;
        return [decayed(get(G.popularity, idHex(e)), 'count', ph), decayed(all, 'count', ph)];
      },
    };
  }
}
