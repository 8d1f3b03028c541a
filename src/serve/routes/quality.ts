/**
 * `GET /quality[?group=G][&at=T][&window=24h]` on the serving API: the quality score per feature
 * value ({@link computeQuality}) from the offline store, worst first, and the gauge
 * `feature_quality_score{feature,group}` on `/metrics` (set by each computation). Answers are
 * cached for `cacheMs` per query string, so a dashboard polling it costs one scan per period.
 *
 * @example
 * await app.register(async (scope) => registerQualityRoute(scope, { offline: pool, metrics }));
 * // GET /quality?group=perf_5min → { at, window_seconds, features: [{ feature, score, … }] }
 */
import type { FeatureSet } from '../../registry/feature-set.js';
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { parseDateOrTimestamp } from '../../shared/timestamp.js';
import { computeQuality, type QualityReport } from '../../quality/score.js';
import { RequestError } from '../errors.js';
import type { ServeMetrics } from '../metrics.js';
import type { SqlClient } from '../offline-reader.js';

export interface QualityRouteOptions {
  /** The features the served topology writes. */
  readonly featureSet: FeatureSet;
  readonly offline: SqlClient | null;
  readonly schema?: string;
  readonly metrics: ServeMetrics;
  /** How long an answer is reused. Default 60 000 ms. */
  readonly cacheMs?: number;
}

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Registers `GET /quality` on a fastify scope (inside the serving API's auth scope). */
export function registerQualityRoute(scope: FastifyInstance, opts: QualityRouteOptions): void {
  const gauge = new Gauge({
    name: 'feature_quality_score',
    help: 'Quality score (0–1) of a feature value: null rate, freshness vs SLA, completeness, validity, drift',
    labelNames: ['feature', 'group'],
    registers: [opts.metrics.registry],
  });
  const cache = new Map<string, { until: number; report: Promise<QualityReport> }>();
  const cacheMs = opts.cacheMs ?? 60_000;

  scope.get<{ Querystring: { group?: string; at?: string; window?: string } }>(
    '/quality',
    { config: { metricsRoute: 'quality' } },
    async (request, reply) => {
      const offline = opts.offline;
      if (offline === null) {
        throw new RequestError(
          503,
          'store_unavailable',
          'quality scores are computed from the offline store, and this server runs without one',
        );
      }
      const q = request.query;
      let windowMs = 86_400_000;
      if (q.window !== undefined) {
        const m = DURATION.exec(q.window);
        if (m === null || !(Number(m[1]) > 0))
          throw new RequestError(
            400,
            'bad_request',
            `window must be like 90s, 30m, 24h or 7d, got "${q.window}"`,
            'window',
          );
        windowMs = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
      }
      let at: number | undefined;
      if (q.at !== undefined) {
        const t = /^-?\d+$/.test(q.at) ? Number(q.at) : parseDateOrTimestamp(q.at);
        if (t === null || !Number.isSafeInteger(t))
          throw new RequestError(
            400,
            'bad_at',
            `at must be RFC 3339, a date or ms since the epoch, got "${q.at}"`,
            'at',
          );
        at = t;
      }
      const key = JSON.stringify([q.group ?? null, at ?? null, windowMs]);
      const now = Date.now();
      let hit = cache.get(key);
      if (hit === undefined || hit.until <= now) {
        const report = computeQuality(async (sql, params) => (await offline.query(sql, params)).rows, {
          featureSet: opts.featureSet,
          windowMs,
          ...(opts.schema === undefined ? {} : { schema: opts.schema }),
          ...(q.group === undefined ? {} : { group: q.group }),
          ...(at === undefined ? {} : { at }),
        });
        hit = { until: now + cacheMs, report };
        cache.set(key, hit);
        report.catch(() => cache.delete(key));
      }
      let report: QualityReport;
      try {
        report = await hit.report;
      } catch (err) {
        throw new RequestError(
          503,
          'store_unavailable',
          `offline store: ${(err as Error).message}`,
          undefined,
          err,
        );
      }
      for (const f of report.features) gauge.labels(f.feature, f.group).set(f.score);
      reply.type('application/json; charset=utf-8');
      return report;
    },
  );
}
