/**
 * The feature-serving HTTP API (stores-and-serving.md, "Serving API"): current feature values per
 * entity through three tiers (L1 in-process LRU → L2 Redis → L3 PostgreSQL), point-in-time reads
 * from L3, batch reads, the registry, Prometheus metrics, health and readiness.
 *
 * Response of `GET /features/:entity_type/:entity_id` (and of each batch item):
 * `{ entity_id, features: { name: value | null }, metadata: { computed_at, version, cache_hit,
 * cache_tier, freshness_seconds }, latency_ms }`. A request may span several feature groups
 * (e.g. `perf_5min` and `perf_1hr`); its metadata then describes the *stalest / slowest* part:
 * - `computed_at`: the earliest `computed_at` of the groups found (RFC 3339), null if none;
 * - `freshness_seconds`: age of the oldest value found, `now − event_time` (for `at=` reads,
 *   `at − event_time`), null if none;
 * - `cache_tier`: the deepest tier any group was read from — `l1`, `l2`, `l3`, or `none` when
 *   some group was found in no tier (its features are null);
 * - `cache_hit`: true only when every group was answered by L1;
 * - `version`: the version served; an object `{ group: version }` when the groups were served
 *   at different versions (per-group rollouts).
 *
 * @example
 * const app = await createServer({ online: new RedisOnlineStore(), offline: pool, redisUrl: 'redis://127.0.0.1:6379',
 *   l1: { maxBytes: 64 << 20, ttlMs: 30_000 } });
 * await app.listen({ port: 8080 });
 * // curl 'localhost:8080/features/model/gpt-4?features=PERF_001,latency_p95_5min'
 */
import { timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, createServer as createHttpServer } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { ConfigError, FeaturestreamError } from '../errors.js';
import { type FeatureDef, type FeatureSet, llmFeatureSet } from '../features/feature-set.js';
import { assignVersion, type RolloutArm } from '../registry/rollout.js';
import { type ErrorCode, RequestError } from './errors.js';
import {
  INVALIDATION_CHANNEL,
  type InvalidationSubscription,
  subscribeInvalidations,
} from './invalidation.js';
import { ServeMetrics } from './metrics.js';
import { OfflineReader, type SqlClient } from './offline-reader.js';
import { API_WORKFLOW_PARAMS } from '../workflow/params.js';
import { builtinSpec } from '../workflow/openapi.js';
import type { RowReader } from '../workflow/store-ranker.js';
import { sharedEmbedder } from '../features/embeddings/embedder.js';
import { registerQualityRoute } from './quality-route.js';
import { registerWorkflowRoute } from './workflow-route.js';
import { type FeaturePlan, FeatureResolver } from './resolve.js';
import { batchBody, batchResponse, featuresParams, featuresQuery, featuresResponse } from './schemas.js';
import { type Lookup, type OnlineReader, type Outcome, TieredReader } from './tiers.js';

export type { OnlineReader } from './tiers.js';
export type { SqlClient } from './offline-reader.js';

/** Options of {@link createServer}. */
export interface ServeOptions {
  /** L2: the online store (a `RedisOnlineStore`), or null to serve without it. */
  readonly online: (OnlineReader & { ping?(): Promise<unknown> }) | null;
  /** Embedding cache of `/workflow/rank-features` prompts; null turns WF_001 off. Default `.featurestream/embeddings`. */
  readonly workflowEmbeddingsDir?: string | null;
  /** L3: a `pg.Pool`-like client of the offline store, or null. Needed for `at=` reads. */
  readonly offline: SqlClient | null;
  /** Schema of `feature_values` in the offline store; unset = the connection's search_path. */
  readonly offlineSchema?: string;
  /** Redis URL to subscribe to L1 invalidations on; null = L1 is bounded by its TTL only. */
  readonly redisUrl: string | null;
  /** Default {@link INVALIDATION_CHANNEL}. */
  readonly invalidationChannel?: string;
  /** How long start-up waits for the invalidation subscription (then starts with L1 off). Default 5 000 ms. */
  readonly invalidationStartTimeoutMs?: number;
  /** The online store's key prefix (L1 keys and invalidation messages use the full key). Default ''. */
  readonly keyPrefix?: string;
  /** When set, `/features*` and `/registry*` require `Authorization: Bearer <token>`. */
  readonly authToken?: string;
  /** L1 size bound (bytes, 0 disables L1) and entry TTL (ms). */
  readonly l1: { readonly maxBytes: number; readonly ttlMs: number };
  /** Most requests in one `POST /features/batch`. Default 100. */
  readonly maxBatch?: number;
  /** Per-group version rollouts, e.g. `{ perf_5min: [{ version: 1, share: 0.9 }, { version: 2, share: 0.1 }] }`. */
  readonly rollout?: Readonly<Record<string, readonly RolloutArm[]>>;
  /** Per-group TTL overrides in seconds (must match the online store's). Default: the catalog's. */
  readonly ttlSecondsByGroup?: Readonly<Record<string, number>>;
  /** The features and groups served (the serve command's `--topology`). Default: the `llm-features` topology's. */
  readonly featureSet?: FeatureSet;
  /** A pino logger, or false (the default) for none. Requests are not logged; errors are. */
  readonly logger?: FastifyBaseLogger | false;
  /** Also export Node.js process metrics on `/metrics`. Default false. */
  readonly defaultMetrics?: boolean;
  /** Largest request body in bytes. Default 1 MiB. */
  readonly bodyLimit?: number;
  /** How long `/readyz` waits for each store. Default 2 000 ms. */
  readonly readyTimeoutMs?: number;
}

interface FeaturesQuery {
  features: string[];
  version?: number;
  at?: string;
  user_id?: string;
}

interface BatchItem {
  entity_type: string;
  entity_id: string;
  features: string[];
  version?: number;
  at?: string;
  user_id?: string;
}

interface Served {
  features: Record<string, number | null>;
  metadata: {
    computed_at: string | null;
    version: number | Record<string, number>;
    cache_hit: boolean;
    cache_tier: Outcome;
    freshness_seconds: number | null;
  };
}

/** 0001-01-01T00:00:00Z in ms: PostgreSQL has no year 0. */
const YEAR_1 = -62_135_596_800_000;

const STARTED = Symbol('featurestream.started');
type StampedRequest = IncomingMessage & { [STARTED]?: number };

/**
 * ms since the request was handed over by Node (headers parsed; stamped by the server factory;
 * injected requests, which bypass it, are stamped on entering the handler), else fastify's own
 * measure.
 */
function elapsedMs(request: FastifyRequest, reply: FastifyReply): number {
  const started = (request.raw as StampedRequest)[STARTED];
  return started === undefined ? reply.elapsedTime : performance.now() - started;
}

const RANK: Readonly<Record<Outcome, number>> = { l1: 0, l2: 1, l3: 2, none: 3 };
const BY_RANK: readonly Outcome[] = ['l1', 'l2', 'l3', 'none'];

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Builds the serving app (not yet listening). Validates the options ({@link ConfigError}),
 * subscribes to L1 invalidations when `redisUrl` is set, and closes the subscription on
 * `app.close()`; the stores passed in are the caller's to close.
 *
 * @example
 * const app = await createServer({ online: null, offline: pool, redisUrl: null, l1: { maxBytes: 1 << 20, ttlMs: 5000 } });
 * const res = await app.inject({ url: '/features/model/gpt-4?features=PERF_002' });
 */
export async function createServer(opts: ServeOptions): Promise<FastifyInstance> {
  const maxBatch = opts.maxBatch ?? 100;
  checkInt(maxBatch, 'maxBatch', 1);
  checkInt(opts.l1.maxBytes, 'l1.maxBytes', 0);
  checkInt(opts.l1.ttlMs, 'l1.ttlMs', 0);
  if (opts.authToken !== undefined && opts.authToken.length === 0) {
    throw new ConfigError('`authToken` must not be empty', { field: 'authToken' });
  }
  const set = opts.featureSet ?? llmFeatureSet();
  const resolver = new FeatureResolver({
    featureSet: set,
    ...(opts.rollout === undefined ? {} : { rollout: opts.rollout }),
    ...(opts.ttlSecondsByGroup === undefined ? {} : { ttlSecondsByGroup: opts.ttlSecondsByGroup }),
  });
  const logger = opts.logger === undefined || opts.logger === false ? null : opts.logger;
  const warn = (msg: string, err: unknown) => logger?.warn({ err }, msg);
  const offline =
    opts.offline === null
      ? null
      : new OfflineReader(
          opts.offline,
          opts.offlineSchema === undefined ? {} : { schema: opts.offlineSchema },
        );
  let tiers: TieredReader | undefined;
  const metrics = new ServeMetrics({
    defaultMetrics: opts.defaultMetrics ?? false,
    l1Stats: () => tiers?.l1Stats() ?? { entries: 0, bytes: 0 },
  });
  tiers = new TieredReader({
    online: opts.online,
    offline,
    l1: opts.l1,
    keyPrefix: opts.keyPrefix ?? '',
    metrics,
    warn,
  });
  const reader = tiers;

  let subscription: InvalidationSubscription | null = null;

  const app = Fastify({
    // Stamps each request when Node hands it over (headers parsed), so the serving routes can
    // time themselves without a per-request hook; see `elapsedMs`.
    serverFactory: (handler) =>
      createHttpServer((req, res) => {
        (req as StampedRequest)[STARTED] = performance.now();
        handler(req, res);
      }),
    ...(logger === null ? { logger: false } : { loggerInstance: logger }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1_048_576,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  app.addHook('onClose', async () => {
    await subscription?.close();
  });

  // Metrics of one response: the serving routes (config.selfMetrics) record their own right after
  // `reply.send` (which serializes and writes synchronously), keeping a hook off the hot path;
  // every other route and every error response is recorded here or in the handlers below.
  const routeConfig = (request: FastifyRequest) =>
    request.routeOptions.config as { metricsRoute?: string; selfMetrics?: boolean } | undefined;
  const record = (request: FastifyRequest, reply: FastifyReply) =>
    metrics.response(
      routeConfig(request)?.metricsRoute ?? 'unmatched',
      reply.statusCode,
      elapsedMs(request, reply),
    );
  const recordHook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (routeConfig(request)?.selfMetrics !== true) record(request, reply);
    done();
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const e = toRequestError(error, request);
    if (e.status >= 500 && e.code !== 'store_unavailable')
      request.log.error({ err: error }, 'request failed');
    else if (e.status >= 500) request.log.warn({ err: error }, e.message);
    reply.code(e.status).send(e.body());
    if (routeConfig(request)?.selfMetrics === true) record(request, reply);
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
    record(request, reply);
  });

  // --- serving -----------------------------------------------------------------------------

  /** Sends a 200 body (serialized and written synchronously) and records the response. */
  function respond(reply: FastifyReply, route: string, body: unknown): void {
    reply.send(body);
    metrics.response(route, 200, elapsedMs(reply.request, reply));
  }

  /** Reads one entity's features; synchronous when every group is an L1 hit. */
  function serve(
    entityType: string,
    entityId: string,
    plan: FeaturePlan,
    version: number | undefined,
    userId: string | undefined,
    atMs: number | null,
  ): Served | Promise<Served> {
    const groups = plan.groups;
    const n = groups.length;
    const lookups = new Array<Lookup>(n);
    const versions = new Array<number>(n);
    let pending: Promise<unknown>[] | null = null;
    for (let i = 0; i < n; i++) {
      const g = groups[i]!;
      const v =
        version ??
        (userId !== undefined && g.rollout !== null ? assignVersion(userId, g.rollout) : g.defaultVersion);
      versions[i] = v;
      const r =
        atMs === null
          ? reader.get(entityType, entityId, g, v)
          : reader.pointInTime(entityType, entityId, g, v, atMs);
      if (r instanceof Promise) {
        if (pending === null) pending = [];
        pending.push(
          r.then((x) => {
            lookups[i] = x;
          }),
        );
      } else {
        lookups[i] = r;
      }
    }
    if (pending === null) return assemble(plan, lookups, versions, atMs);
    return Promise.all(pending).then(() => assemble(plan, lookups, versions, atMs));
  }

  function parseAt(at: string | undefined, field: string): number | null {
    if (at === undefined) return null;
    const ms = Date.parse(at);
    if (Number.isNaN(ms)) {
      throw new RequestError(400, 'bad_at', `${field} must be an RFC 3339 timestamp, got "${at}"`, field);
    }
    if (ms < YEAR_1) {
      throw new RequestError(
        400,
        'bad_at',
        `${field} must be 0001-01-01T00:00:00Z or later, got "${at}"`,
        field,
      );
    }
    if (!reader.hasOffline) {
      throw new RequestError(
        400,
        'point_in_time_unavailable',
        `${field}: point-in-time reads need the offline store, and this server runs without one`,
        field,
      );
    }
    return ms;
  }

  // --- routes --------------------------------------------------------------------------------

  const registryFeatures = JSON.stringify({ features: set.features.map(registryEntry) });
  const registryById = new Map<string, string>();
  for (const f of set.features) registryById.set(f.id, JSON.stringify(registryEntry(f)));
  const registryGroups = JSON.stringify({
    groups: set.groups.map((g) => ({
      group: g.group,
      entity: g.entity,
      ttl_seconds: resolver.group(g.group)!.ttlMs / 1000,
      window: g.window,
      version: g.version,
      rollout: resolver.group(g.group)!.rollout,
      features: set.ofGroup(g.group).map((f) => f.id),
    })),
  });
  const auth = opts.authToken === undefined ? null : bearerAuth(opts.authToken, metrics);

  // Health, readiness and metrics: always open, for probes and scrapers.
  await app.register(async (app) => {
    app.addHook('onResponse', recordHook);
    app.get('/healthz', { config: { metricsRoute: 'healthz' } }, async () => ({ status: 'ok' }));

    app.get('/readyz', { config: { metricsRoute: 'readyz' } }, async (_request, reply) => {
      const timeout = opts.readyTimeoutMs ?? 2_000;
      const online = opts.online;
      const [l2, l3] = await Promise.all([
        online === null
          ? 'disabled'
          : check(
              () =>
                online.ping !== undefined
                  ? online.ping()
                  : online.read('system', '__featurestream_readyz__', 'context', 1),
              timeout,
            ),
        offline === null ? 'disabled' : check(() => offline.ping(), timeout),
      ]);
      const inv = subscription === null ? 'disabled' : subscription.subscribed ? 'ok' : 'down';
      const ready = l2 !== 'down' && l3 !== 'down' && inv !== 'down';
      reply.code(ready ? 200 : 503);
      return {
        status: ready ? 'ready' : 'not_ready',
        checks: { online: l2, offline: l3, invalidation: inv },
      };
    });

    app.get('/metrics', { config: { metricsRoute: 'metrics' } }, async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  });

  // Everything a client reads sits behind the bearer token when one is configured.
  await app.register(async (scope) => {
    scope.addHook('onResponse', recordHook);
    if (auth !== null) scope.addHook('onRequest', auth);

    scope.get('/registry/features', { config: { metricsRoute: 'registry' } }, (_request, reply) => {
      reply.type('application/json; charset=utf-8').send(registryFeatures);
    });

    scope.get<{ Params: { id_or_name: string } }>(
      '/registry/features/:id_or_name',
      { config: { metricsRoute: 'registry' } },
      (request, reply) => {
        const def = set.byIdOrName(request.params.id_or_name);
        if (def === undefined) {
          throw new RequestError(
            404,
            'unknown_feature',
            `unknown feature "${request.params.id_or_name}" (GET /registry/features lists them)`,
            'id_or_name',
          );
        }
        reply.type('application/json; charset=utf-8').send(registryById.get(def.id));
      },
    );

    scope.get('/registry/groups', { config: { metricsRoute: 'registry' } }, (_request, reply) => {
      reply.type('application/json; charset=utf-8').send(registryGroups);
    });

    // Quality scores per feature from the offline store (issue 12).
    registerQualityRoute(scope, {
      offline: opts.offline,
      metrics,
      ...(opts.offlineSchema === undefined ? {} : { schema: opts.offlineSchema }),
    });

    // Next-call ranking over the api-workflow rows (issue 11).
    const online = opts.online as (OnlineReader & Partial<RowReader>) | null;
    registerWorkflowRoute(scope, {
      store: online !== null && typeof online.readMany === 'function' ? (online as RowReader) : null,
      metrics,
      embedder:
        opts.workflowEmbeddingsDir === null
          ? null
          : () => sharedEmbedder(opts.workflowEmbeddingsDir ?? '.featurestream/embeddings'),
      spec: builtinSpec(),
      halfLifeMs: API_WORKFLOW_PARAMS.halfLife,
      popularityHalfLifeMs: API_WORKFLOW_PARAMS.popularityHalfLife,
    });
  });

  // The serving routes: no onResponse hook; they record their metrics themselves.
  await app.register(async (scope) => {
    if (auth !== null) scope.addHook('onRequest', auth);

    scope.get<{ Params: { entity_type: string; entity_id: string }; Querystring: FeaturesQuery }>(
      '/features/:entity_type/:entity_id',
      {
        config: { metricsRoute: 'features', selfMetrics: true },
        schema: { params: featuresParams, querystring: featuresQuery, response: { 200: featuresResponse } },
      },
      (request, reply) => {
        (request.raw as StampedRequest)[STARTED] ??= performance.now(); // injected requests
        const { entity_type: entityType, entity_id: entityId } = request.params;
        const q = request.query;
        const plan = resolver.resolve(q.features, entityType);
        const atMs = parseAt(q.at, 'at');
        const out = serve(entityType, entityId, plan, q.version, q.user_id, atMs);
        if (out instanceof Promise) {
          out.then(
            (s) => respond(reply, 'features', single(entityId, s, reply)),
            (err: unknown) => reply.send(err),
          );
        } else {
          respond(reply, 'features', single(entityId, out, reply));
        }
      },
    );

    scope.post<{ Body: { requests: BatchItem[] } }>(
      '/features/batch',
      {
        config: { metricsRoute: 'batch', selfMetrics: true },
        schema: { body: batchBody(maxBatch), response: { 200: batchResponse } },
      },
      (request, reply) => {
        (request.raw as StampedRequest)[STARTED] ??= performance.now(); // injected requests
        const items = request.body.requests;
        const results = new Array<unknown>(items.length);
        let pending: Promise<unknown>[] | null = null;
        // Validate every item before reading anything, so a bad item fails the batch cleanly.
        const plans = items.map((it, i) => {
          const plan = resolver.resolve(it.features, it.entity_type, `requests[${i}].features`);
          return { plan, atMs: parseAt(it.at, `requests[${i}].at`) };
        });
        for (let i = 0; i < items.length; i++) {
          const it = items[i]!;
          const { plan, atMs } = plans[i]!;
          const out = serve(it.entity_type, it.entity_id, plan, it.version, it.user_id, atMs);
          if (out instanceof Promise) {
            if (pending === null) pending = [];
            pending.push(
              out.then((s) => {
                results[i] = batchItem(it, s);
              }),
            );
          } else {
            results[i] = batchItem(it, out);
          }
        }
        if (pending === null) {
          respond(reply, 'batch', { results, latency_ms: round3(elapsedMs(request, reply)) });
        } else {
          Promise.all(pending).then(
            () => respond(reply, 'batch', { results, latency_ms: round3(elapsedMs(request, reply)) }),
            (err: unknown) => reply.send(err),
          );
        }
      },
    );
  });

  // Last, so nothing can fail after it and leak the connection (app.close() closes it).
  if (opts.redisUrl !== null && reader.hasL1) {
    // L1 stays off until the subscription is confirmed.
    reader.setL1Active(false);
    subscription = await subscribeInvalidations({
      url: opts.redisUrl,
      channel: opts.invalidationChannel ?? INVALIDATION_CHANNEL,
      onKeys: (keys) => reader.invalidate(keys),
      onUp: () => reader.setL1Active(true),
      onDown: () => reader.setL1Active(false),
      warn,
      ...(opts.invalidationStartTimeoutMs === undefined
        ? {}
        : { startTimeoutMs: opts.invalidationStartTimeoutMs }),
    });
  }

  return app;
}

function single(entityId: string, s: Served, reply: FastifyReply) {
  return {
    entity_id: entityId,
    features: s.features,
    metadata: s.metadata,
    latency_ms: round3(elapsedMs(reply.request, reply)),
  };
}

function batchItem(it: BatchItem, s: Served) {
  return { entity_type: it.entity_type, entity_id: it.entity_id, features: s.features, metadata: s.metadata };
}

function assemble(
  plan: FeaturePlan,
  lookups: readonly Lookup[],
  versions: readonly number[],
  atMs: number | null,
): Served {
  const features: Record<string, number | null> = {};
  const names = plan.names;
  const groupOf = plan.groupOf;
  for (let j = 0; j < names.length; j++) {
    const name = names[j]!;
    const v = lookups[groupOf[j]!]!.value?.values[name];
    features[name] = v === undefined ? null : v;
  }
  let worst = 0;
  let allL1 = true;
  let computedAt = Number.POSITIVE_INFINITY;
  let computedAtIso: string | null = null;
  let oldestEvent = Number.POSITIVE_INFINITY;
  let sameVersion = true;
  for (let i = 0; i < lookups.length; i++) {
    const lk = lookups[i]!;
    const rank = RANK[lk.tier];
    if (rank > worst) worst = rank;
    if (lk.tier !== 'l1') allL1 = false;
    if (versions[i] !== versions[0]) sameVersion = false;
    const value = lk.value;
    if (value !== null) {
      if (value.computedAt < computedAt) {
        computedAt = value.computedAt;
        computedAtIso = value.computedAtIso === '' ? null : value.computedAtIso;
      }
      if (value.eventTime < oldestEvent) oldestEvent = value.eventTime;
    }
  }
  let version: number | Record<string, number> = versions[0]!;
  if (!sameVersion) {
    const byGroup: Record<string, number> = {};
    for (let i = 0; i < plan.groups.length; i++) byGroup[plan.groups[i]!.group] = versions[i]!;
    version = byGroup;
  }
  return {
    features,
    metadata: {
      computed_at: computedAtIso,
      version,
      cache_hit: allL1,
      cache_tier: BY_RANK[worst]!,
      freshness_seconds:
        oldestEvent === Number.POSITIVE_INFINITY ? null : round3(((atMs ?? Date.now()) - oldestEvent) / 1000),
    },
  };
}

function registryEntry(f: FeatureDef) {
  return {
    id: f.id,
    name: f.name,
    type: 'float64',
    category: f.category,
    entity: f.entity,
    group: f.group,
    description: f.description,
    computation: f.computation,
    source: f.source,
    window: f.window,
    version: f.version,
    // An unbounded max (∞) is written as null.
    validation: f.validation,
    value_names: f.valueNames,
    freshness_sla_seconds: f.freshnessSlaSeconds,
    owner: f.owner,
    tags: f.tags,
    active: true,
  };
}

function errorBody(code: ErrorCode, message: string) {
  return { error: { code, message } };
}

function bearerAuth(token: string, metrics: ServeMetrics) {
  const expected = Buffer.from(`Bearer ${token}`);
  return (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const got = request.headers.authorization;
    if (got !== undefined) {
      const buf = Buffer.from(got);
      if (buf.length === expected.length && timingSafeEqual(buf, expected)) {
        done();
        return;
      }
    }
    reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="featurestream"')
      .send(
        errorBody(
          'unauthorized',
          got === undefined
            ? 'missing bearer token: send "Authorization: Bearer <token>"'
            : 'invalid bearer token',
        ),
      );
    const config = request.routeOptions.config as { metricsRoute?: string; selfMetrics?: boolean };
    if (config.selfMetrics === true) {
      metrics.response(config.metricsRoute!, 401, elapsedMs(request, reply));
    }
  };
}

/** Resolves to 'ok', or 'down' when `probe` fails or takes longer than `timeoutMs`. */
async function check(probe: () => Promise<unknown>, timeoutMs: number): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/** Maps any error thrown while handling a request to the API's status, code and message. */
function toRequestError(error: FastifyError, request: FastifyRequest): RequestError {
  if (error instanceof RequestError) return error;
  if (error.validation !== undefined && error.validation.length > 0) {
    return validationError(error, request);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RequestError(400, 'malformed_json', `malformed JSON body: ${error.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RequestError(413, 'payload_too_large', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RequestError(
        415,
        'unsupported_media_type',
        `${error.message}; send Content-Type: application/json`,
      );
  }
  if (error instanceof SyntaxError) {
    return new RequestError(400, 'malformed_json', `malformed JSON body: ${error.message}`);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new RequestError(status, 'bad_request', error.message);
  if (error instanceof FeaturestreamError && error.domain === 'external') {
    return new RequestError(503, 'store_unavailable', error.message, undefined, error);
  }
  return new RequestError(500, 'internal', 'internal error');
}

function validationError(error: FastifyError, request: FastifyRequest): RequestError {
  const first = error.validation![0]!;
  const context = error.validationContext ?? 'request';
  const segments = first.instancePath.split('/').filter((s) => s !== '');
  const missing =
    first.keyword === 'required' ? (first.params as { missingProperty?: string }).missingProperty : undefined;
  if (missing !== undefined) segments.push(missing);
  const field = segments.reduce(
    (acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc === '' ? s : `${acc}.${s}`),
    '',
  );
  const prop = segments[segments.length - 1] ?? '';
  const where = field === '' ? context : field;
  let raw = '';
  if (context === 'querystring' && segments.length === 1) {
    const v = (request.query as Record<string, unknown> | undefined)?.[prop];
    if (v !== undefined) raw = `, got "${String(v)}"`;
  }
  if (missing !== undefined) {
    if (prop === 'features') {
      return new RequestError(
        400,
        'missing_features',
        `${where} is required: list feature ids or names, e.g. features=PERF_001,latency_p95_5min`,
        field,
      );
    }
    return new RequestError(400, 'bad_request', `${where} is required`, field);
  }
  switch (prop) {
    case 'features':
      return new RequestError(
        400,
        'missing_features',
        `${where}: list 1 to 256 feature ids or names (${first.message ?? 'invalid'})`,
        field,
      );
    case 'version':
      return new RequestError(400, 'bad_version', `${where} must be a positive integer${raw}`, field);
    case 'at':
      return new RequestError(
        400,
        'bad_at',
        `${where} must be an RFC 3339 timestamp such as 2025-01-15T10:05:00Z${raw}`,
        field,
      );
    case 'requests':
      if (first.keyword === 'maxItems') {
        const limit = (first.params as { limit?: number }).limit;
        return new RequestError(
          413,
          'batch_too_large',
          `requests: a batch holds at most ${limit} requests; split it`,
          field,
        );
      }
      break;
    case 'entity_type':
      return new RequestError(400, 'unknown_entity_type', `${where}: ${first.message ?? 'invalid'}`, field);
  }
  return new RequestError(400, 'bad_request', `${where}: ${first.message ?? 'invalid'}${raw}`, field);
}

function checkInt(value: number, field: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`\`${field}\` must be an integer ≥ ${min}, got ${value}`, { field });
  }
}
