/**
 * The feature-serving HTTP API (stores-and-serving.md, "Serving API"): current feature values per
 * entity through three tiers (L1 in-process LRU → L2 Redis → L3 PostgreSQL), point-in-time reads
 * from L3, batch reads, the registry, Prometheus metrics, health and readiness, and the routes
 * plugins add (serve extensions, extensions.ts: e.g. the API workflow's `/workflow/rank-features`).
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
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ListenTls } from '../shared/listen-tls.js';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { ConfigError } from '../shared/errors.js';
import type { FeatureSet } from '../registry/feature-set.js';
import type { RolloutArm } from '../registry/rollout.js';
import { bearerAuth } from './auth.js';
import { errorBody, toRequestError } from './error-mapping.js';
import {
  checkServeExtensions,
  type L1Follower,
  registeredServeExtensions,
  type ServeExtension,
  type ServeExtensionContext,
} from './extensions.js';
import { createFastPath } from './fast-path.js';
import {
  INVALIDATION_CHANNEL,
  type InvalidationSubscription,
  subscribeInvalidations,
} from './invalidation.js';
import { ServeMetrics } from './metrics.js';
import { OfflineReader, type SqlClient } from './offline-reader.js';
import { FeatureReads } from './reading.js';
import { FeatureResolver } from './resolve.js';
import type { RouteContext } from './routes/context.js';
import { featureRoutes } from './routes/features.js';
import { healthRoutes } from './routes/health.js';
import { registryRoutes } from './routes/registry.js';
import { type OnlineReader, TieredReader } from './tiers.js';
import { elapsedMs, STARTED, type StampedRequest } from './timing.js';

export type { OnlineReader } from './tiers.js';
export type { SqlClient } from './offline-reader.js';
export type { L1Follower, ServeExtension, ServeExtensionContext } from './extensions.js';

/** Options of {@link createServer}. */
export interface ServeOptions {
  /** Listen with TLS (HTTPS) with this certificate and key (PEM); absent: plain HTTP. */
  readonly tls?: ListenTls | null;
  /** L2: the online store (a `RedisOnlineStore`), or null to serve without it. */
  readonly online: (OnlineReader & { ping?(): Promise<unknown> }) | null;
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
  /** The features and groups served (the serve command's `--topology`). */
  readonly featureSet: FeatureSet;
  /**
   * Routes plugins add (extensions.ts), mounted behind the bearer token. Default: the serve
   * extensions of the registered plugins (`pluginExtensions('serve')`); `[]` mounts none.
   */
  readonly extensions?: readonly ServeExtension[];
  /**
   * Options of the mounted extensions by extension name, each checked by its extension, e.g.
   * `{ 'api-workflow': { embeddingsDir: null } }` (no prompt embeddings: WF_001 off).
   */
  readonly extensionOptions?: Readonly<Record<string, unknown>>;
  /** A pino logger, or false (the default) for none. Requests are not logged; errors are. */
  readonly logger?: FastifyBaseLogger | false;
  /** Also export Node.js process metrics on `/metrics`. Default false. */
  readonly defaultMetrics?: boolean;
  /**
   * Answer plain L1-hit GETs before fastify (see fast-path.ts) and write batch answers from
   * per-item templates (batch-body.ts); the same answers either way. Default true; false sends
   * every request through fastify and serializes every answer whole (tests compare the two).
   */
  readonly fastPath?: boolean;
  /** Largest request body in bytes. Default 1 MiB. */
  readonly bodyLimit?: number;
  /** How long `/readyz` waits for each store. Default 2 000 ms. */
  readonly readyTimeoutMs?: number;
  /**
   * How `/readyz` names the stores when one is down (URLs without passwords), e.g.
   * `{ online: 'redis://127.0.0.1:6379', offline: 'postgres://app@db:5432/features' }`.
   */
  readonly storeNames?: { readonly online?: string; readonly offline?: string };
}

/**
 * Builds the serving app (not yet listening). Validates the options ({@link ConfigError}),
 * subscribes to L1 invalidations when `redisUrl` is set, and closes the subscription on
 * `app.close()`; the stores passed in are the caller's to close.
 *
 * @example
 * const app = await createServer({ online: null, offline: pool, redisUrl: null, l1: { maxBytes: 1 << 20, ttlMs: 5000 } });
 * const res = await app.inject({ url: '/features/model/gpt-4?features=PERF_002' });
 */
declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Empties L1 (and the extensions' in-process rows) after a write that publishes no
     * invalidation message; a no-op while L1 is off.
     */
    dropL1(): void;
  }
}

export async function createServer(opts: ServeOptions): Promise<FastifyInstance> {
  const maxBatch = opts.maxBatch ?? 100;
  checkInt(maxBatch, 'maxBatch', 1);
  checkInt(opts.l1.maxBytes, 'l1.maxBytes', 0);
  checkInt(opts.l1.ttlMs, 'l1.ttlMs', 0);
  if (opts.authToken !== undefined && opts.authToken.length === 0) {
    throw new ConfigError('`authToken` must not be empty', { field: 'authToken' });
  }
  const extensions = opts.extensions ?? registeredServeExtensions();
  checkServeExtensions(extensions, opts.extensionOptions);
  const set = opts.featureSet;
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
  /** What the extensions keep in process by L1's rules (extensions.ts). */
  const followers: L1Follower[] = [];

  let subscription: InvalidationSubscription | null = null;
  let closing = false;
  /** The serving routes' compiled response serializers, captured on their first answer. */
  const serializers: RouteContext['serializers'] = {};
  const fast =
    opts.fastPath === false || !reader.hasL1
      ? null
      : createFastPath({
          resolver,
          reader,
          metrics,
          authToken: opts.authToken,
          closing: () => closing,
          serializer: () => serializers.features,
        });

  const app = Fastify({
    // Stamps each request when Node hands it over (headers parsed), so the serving routes can
    // time themselves without a per-request hook (see timing.ts), and answers plain L1 hits
    // before fastify (fast-path.ts).
    serverFactory: (handler) => {
      const listener = (req: IncomingMessage, res: ServerResponse) => {
        (req as StampedRequest)[STARTED] = performance.now();
        if (fast?.(req, res)) return;
        handler(req, res);
      };
      return (
        opts.tls === undefined || opts.tls === null
          ? createHttpServer(listener)
          : createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener)
      ) as ReturnType<typeof createHttpServer>;
    },
    ...(logger === null ? { logger: false } : { loggerInstance: logger }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1_048_576,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  // Drops every L1 entry, and what extensions keep by L1's rules: a writer that publishes no
  // invalidations (a push into the embedded stores this server holds, src/stores/push.ts) has
  // changed values L1 may hold. Followers that are off stay off (they are emptied when turned on).
  app.decorate('dropL1', () => {
    if (!reader.l1On) return;
    reader.clear();
    for (const f of followers) {
      f.setActive(false);
      f.setActive(true);
    }
  });

  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
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

  const ctx: RouteContext = {
    opts,
    featureSet: set,
    resolver,
    reads: new FeatureReads(reader),
    metrics,
    offline,
    maxBatch,
    auth: opts.authToken === undefined ? null : bearerAuth(opts.authToken, metrics),
    recordHook,
    subscription: () => subscription,
    serializers,
  };
  // Health, readiness and metrics: always open, for probes and scrapers.
  await app.register(healthRoutes(ctx));
  // Everything a client reads sits behind the bearer token when one is configured.
  await app.register(registryRoutes(ctx));
  // Plugins' routes (e.g. the API workflow's), each in its own scope, as guarded as the registry's.
  for (const extension of extensions) {
    const extensionCtx: ServeExtensionContext = {
      opts,
      featureSet: set,
      metrics,
      l1: { ttlMs: opts.l1.maxBytes > 0 ? opts.l1.ttlMs : 0, keyPrefix: opts.keyPrefix ?? '' },
      options: opts.extensionOptions?.[extension.name],
      followL1: (follower) => {
        followers.push(follower);
      },
    };
    await app.register(async (scope) => {
      scope.addHook('onResponse', recordHook);
      if (ctx.auth !== null) scope.addHook('onRequest', ctx.auth);
      await extension.register(scope, extensionCtx);
    });
  }
  await app.register(featureRoutes(ctx));

  // Last, so nothing can fail after it and leak the connection (app.close() closes it).
  if (opts.redisUrl !== null && reader.hasL1) {
    // L1 stays off until the subscription is confirmed.
    reader.setL1Active(false);
    for (const f of followers) f.setActive(false);
    subscription = await subscribeInvalidations({
      url: opts.redisUrl,
      channel: opts.invalidationChannel ?? INVALIDATION_CHANNEL,
      onKeys: (keys) => {
        reader.invalidate(keys);
        for (const f of followers) f.invalidate(keys);
      },
      onUp: () => {
        reader.setL1Active(true);
        for (const f of followers) f.setActive(true);
      },
      onDown: () => {
        reader.setL1Active(false);
        for (const f of followers) f.setActive(false);
      },
      warn,
      ...(opts.invalidationStartTimeoutMs === undefined
        ? {}
        : { startTimeoutMs: opts.invalidationStartTimeoutMs }),
    });
  }

  return app;
}

function checkInt(value: number, field: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`\`${field}\` must be an integer ≥ ${min}, got ${value}`, { field });
  }
}
