/**
 * `POST /workflow/rank-features` (family-B serving, stores-and-serving.md): a feature vector
 * (WF_001–WF_011) and a built-in `score` per candidate next call of a session, in request order,
 * from the `api-workflow` topology's rows in the online store ({@link StoreRanker}).
 *
 * ```
 * POST /workflow/rank-features
 * { "session_id": "s-1", "prompt": "pay the open invoice", "tenant": "acme",
 *   "candidates": [{ "method": "POST", "path": "/v1/invoices/in_1/pay", "description": "Pay an invoice" }] }
 * → { "session_id": "s-1", "pattern": { "name": "browse_confirm_save", "confidence": 0.67 },
 *     "candidates": [{ "method": "POST", "path": "/v1/invoices/in_1/pay",
 *                      "features": { "semantic_similarity": 0.41, "bigram_prob": 0.52, …, "cold_start": 0 },
 *                      "score": 0.83 }],
 *     "cache": { "hits": 0, "misses": 1 } }
 * ```
 *
 * A session the store does not know is a cold start (features from the begin-of-session
 * counts, `cold_start` 1), not an error. A malformed body is a 400 naming the field. Metrics:
 * `workflow_vector_cache_total{result}`, `workflow_embedding_cache_total{result}` and
 * `workflow_cache_invalidations_total` (hit rates = hits / (hits + misses)).
 *
 * The route reaches the serving API as a serve extension (`apiWorkflowServeExtension` in
 * plugin.ts, which loads this module when a server mounts it; see {@link registerApiWorkflowServe}):
 * the server mounts it behind its bearer token, and the rows it reads are kept in process by L1's
 * rules ({@link CachedRowReader}).
 */
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import { RequestError } from '../../serve/extensions.js';
import type { ServeExtensionContext } from '../../serve/extensions.js';
import type { ServeMetrics } from '../../serve/extensions.js';
import { ConfigError } from '../../shared/errors.js';
import { apiPathProblem, type Embedder, HTTP_METHODS, sharedEmbedder } from '../llm/index.js';
import { WF_FEATURE_NAMES } from './features.js';
import { type ApiSpec, builtinSpec } from './openapi.js';
import { API_WORKFLOW_PARAMS } from './params.js';
import { CachedRowReader } from './row-cache.js';
import type { RankRequest, RowReader, StoreRanker } from './store-ranker.js';
import { StoreRanker as Ranker } from './store-ranker.js';

const nullableNumber = { type: ['number', 'null'] } as const;

/** The 200 body's shape, so fastify compiles its serializer (every field the ranker returns). */
export const RANK_RESPONSE_SCHEMA = {
  type: 'object',
  properties: {
    session_id: { type: 'string' },
    pattern: {
      type: 'object',
      properties: { name: { type: 'string' }, confidence: { type: 'number' } },
    },
    candidates: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          method: { type: 'string' },
          path: { type: 'string' },
          features: {
            type: 'object',
            properties: Object.fromEntries(WF_FEATURE_NAMES.map((n) => [n, nullableNumber])),
          },
          score: { type: 'number' },
        },
      },
    },
    cache: { type: 'object', properties: { hits: { type: 'integer' }, misses: { type: 'integer' } } },
  },
} as const;

/** Most candidates in one request. */
export const MAX_CANDIDATES = 500;

/** Options of {@link registerWorkflowRoute}. */
export interface WorkflowRouteOptions {
  /** The online store holding the api-workflow rows, or null (the route answers 503). */
  readonly store: RowReader | null;
  readonly metrics: ServeMetrics;
  /** Opens the embedder on first use (a prompt); null turns WF_001 off. */
  readonly embedder?: (() => Promise<Embedder>) | null;
  readonly spec?: ApiSpec | null;
  readonly halfLifeMs: number;
  readonly popularityHalfLifeMs: number;
  readonly vectorTtlMs?: number;
}

const bad = (field: string, message: string) =>
  new RequestError(400, 'bad_request', `${field}: ${message}`, field);

/** Checks a request body; errors name the field. */
export function parseRankRequest(body: unknown): RankRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('body', 'expected a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.session_id !== 'string' || b.session_id === '')
    throw bad('session_id', 'must be a non-empty string');
  for (const f of ['prompt', 'tenant'] as const) {
    if (b[f] !== undefined && b[f] !== null && typeof b[f] !== 'string')
      throw bad(f, 'must be a string when given');
  }
  if (!Array.isArray(b.candidates) || b.candidates.length === 0) {
    throw bad('candidates', 'must be a non-empty array of {method, path, description?}');
  }
  if (b.candidates.length > MAX_CANDIDATES)
    throw bad('candidates', `at most ${MAX_CANDIDATES}, got ${b.candidates.length}`);
  const candidates = b.candidates.map((c: unknown, i: number) => {
    const at = `candidates[${i}]`;
    if (typeof c !== 'object' || c === null) throw bad(at, 'must be an object');
    const o = c as Record<string, unknown>;
    if (
      typeof o.method !== 'string' ||
      !(HTTP_METHODS as readonly string[]).includes(o.method.toUpperCase())
    ) {
      throw bad(
        `${at}.method`,
        `must be an HTTP method (${HTTP_METHODS.join(', ')}), got ${JSON.stringify(o.method)}`,
      );
    }
    if (typeof o.path !== 'string') throw bad(`${at}.path`, 'must be a string');
    const problem = apiPathProblem(o.path);
    if (problem !== null) throw bad(`${at}.path`, problem);
    if (o.description !== undefined && o.description !== null && typeof o.description !== 'string') {
      throw bad(`${at}.description`, 'must be a string when given');
    }
    return {
      method: o.method.toUpperCase(),
      path: o.path,
      ...(typeof o.description === 'string' ? { description: o.description } : {}),
    };
  });
  return {
    session_id: b.session_id,
    prompt: typeof b.prompt === 'string' ? b.prompt : null,
    tenant: typeof b.tenant === 'string' ? b.tenant : null,
    candidates,
  };
}

/** Registers the route on a fastify scope; returns the ranker (tests read its cache counters). */
export function registerWorkflowRoute(
  scope: FastifyInstance,
  opts: WorkflowRouteOptions,
): StoreRanker | null {
  const registers = [opts.metrics.registry];
  const vectorCache = new Counter({
    name: 'workflow_vector_cache_total',
    help: 'Feature-vector cache lookups of /workflow/rank-features by result (hit, miss)',
    labelNames: ['result'],
    registers,
  });
  const embeddingCache = new Counter({
    name: 'workflow_embedding_cache_total',
    help: 'Prompt and description embeddings of /workflow/rank-features by result (hit: memory, disk or same batch; miss: computed)',
    labelNames: ['result'],
    registers,
  });
  const invalidations = new Counter({
    name: 'workflow_cache_invalidations_total',
    help: 'Sessions whose cached vectors were dropped because the session moved',
    registers,
  });
  let embedder: Embedder | null = null;
  let opening: Promise<Embedder> | null = null;
  const ranker =
    opts.store === null
      ? null
      : new Ranker({
          store: opts.store,
          spec: opts.spec ?? null,
          halfLifeMs: opts.halfLifeMs,
          popularityHalfLifeMs: opts.popularityHalfLifeMs,
          ...(opts.vectorTtlMs === undefined ? {} : { vectorTtlMs: opts.vectorTtlMs }),
          get embedder() {
            return embedder;
          },
        });
  const seen = { vh: 0, vm: 0, inv: 0, er: 0, eh: 0 };

  scope.post(
    '/workflow/rank-features',
    { config: { metricsRoute: 'workflow' }, schema: { response: { 200: RANK_RESPONSE_SCHEMA } } },
    async (request) => {
      if (ranker === null) {
        throw new RequestError(
          503,
          'store_unavailable',
          'ranking reads the api-workflow rows from the online store, and this server runs without one',
        );
      }
      const req = parseRankRequest(request.body);
      if (embedder === null && opts.embedder != null && (req.prompt ?? '').trim() !== '') {
        opening ??= opts.embedder();
        embedder = await opening;
      }
      const res = await ranker.rank(req);
      const s = ranker.stats;
      vectorCache.inc({ result: 'hit' }, s.vectorHits - seen.vh);
      vectorCache.inc({ result: 'miss' }, s.vectorMisses - seen.vm);
      invalidations.inc(s.invalidations - seen.inv);
      embeddingCache.inc({ result: 'hit' }, s.embeddingHits - seen.eh);
      embeddingCache.inc({ result: 'miss' }, s.embeddingRequests - s.embeddingHits - (seen.er - seen.eh));
      Object.assign(seen, {
        vh: s.vectorHits,
        vm: s.vectorMisses,
        inv: s.invalidations,
        er: s.embeddingRequests,
        eh: s.embeddingHits,
      });
      return res;
    },
  );
  return ranker;
}

/** Options of the API-workflow serve extension (`ServeOptions.extensionOptions['api-workflow']`). */
export interface ApiWorkflowServeOptions {
  /** Embedding cache of `/workflow/rank-features` prompts; null turns WF_001 off. Default `.featurestream/embeddings`. */
  readonly embeddingsDir?: string | null;
}

/**
 * Checks the extension's options entry.
 *
 * @throws ConfigError naming the option when the entry is not `{ embeddingsDir?: string | null }`.
 */
export function apiWorkflowServeOptions(options: unknown): ApiWorkflowServeOptions {
  if (options === undefined) return {};
  const field = 'extensionOptions.api-workflow';
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(`\`${field}\` must be an object ({ embeddingsDir? })`, { field });
  }
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'embeddingsDir') {
      throw new ConfigError(`\`${field}.${k}\` is not an option (embeddingsDir is)`, {
        field: `${field}.${k}`,
      });
    }
  }
  const dir = o.embeddingsDir;
  if (dir !== undefined && dir !== null && (typeof dir !== 'string' || dir === '')) {
    throw new ConfigError(`\`${field}.embeddingsDir\` must be a non-empty string or null`, {
      field: `${field}.embeddingsDir`,
    });
  }
  return dir === undefined ? {} : { embeddingsDir: dir as string | null };
}

/**
 * The API-workflow serve extension's `register` (the plugin's `extensions.serve` loads this module
 * when a server mounts it): `POST /workflow/rank-features` ranking from the server's online store
 * through an in-process row cache that follows L1 (503 without an online store that reads many
 * rows at once), with the shipped OpenAPI spec and the `api-workflow` topology's half-lives;
 * prompts are embedded with the shared embedder, cached in `embeddingsDir`.
 *
 * @throws ConfigError when the extension's options are bad ({@link apiWorkflowServeOptions}).
 * @example
 * await app.register(async (scope) => registerApiWorkflowServe(scope, ctx));
 */
export function registerApiWorkflowServe(scope: FastifyInstance, ctx: ServeExtensionContext): void {
  const options = apiWorkflowServeOptions(ctx.options);
  // The api-workflow rows, kept in process by L1's rules.
  const source = ctx.opts.online as (object & Partial<RowReader>) | null;
  const rows =
    source !== null && typeof source.readMany === 'function'
      ? new CachedRowReader(source as RowReader, { ttlMs: ctx.l1.ttlMs, keyPrefix: ctx.l1.keyPrefix })
      : null;
  if (rows !== null) ctx.followL1(rows);
  const embeddingsDir = options.embeddingsDir;
  registerWorkflowRoute(scope, {
    store: rows,
    metrics: ctx.metrics,
    embedder:
      embeddingsDir === null ? null : () => sharedEmbedder(embeddingsDir ?? '.featurestream/embeddings'),
    spec: builtinSpec(),
    halfLifeMs: API_WORKFLOW_PARAMS.halfLife,
    popularityHalfLifeMs: API_WORKFLOW_PARAMS.popularityHalfLife,
  });
}
