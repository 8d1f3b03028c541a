import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { createServer } from '../serve/server.js';
import { OfflineStore } from '../stores/offline-postgres.js';
import { groupSlideMs } from './score.js';
import { computeQuality } from './score.js';
import { llmFeatureSet } from '../domains/llm/feature-set.js';
import { featureSetOf } from '../registry/feature-set.js';

const SET = llmFeatureSet();

const PG = 'postgres://postgres@127.0.0.1:5432/test';
const W = 300_000;
const AT = Date.UTC(2026, 1, 2, 0, 0); // end of the window
const DAY = 86_400_000;

/**
 * perf_5min rows of one model over two days, 288 windows a day. In the current day:
 * - latency_p50_5min present in every row, 1 in 16 null → null rate 1/16;
 * - latency_p95_5min missing from rows 100…171 (72 of 288) → completeness 216/288;
 * - success_rate_5min: 1.5 (above its max of 1) in 1 of 8 rows → validity 7/8;
 * - error_rate_5min shifted far from the day before → drift;
 * - the newest row is 30 min old, the SLA 600 s → freshness 600/1800.
 */
function rows(): FeatureRow[] {
  const out: FeatureRow[] = [];
  const first = AT - 2 * DAY;
  for (let k = 0; k < 576; k++) {
    const windowStart = first + k * W;
    const eventTime = windowStart + W - 1;
    if (eventTime >= AT - 30 * 60_000 + 1) break; // the last 30 min never arrived
    const today = eventTime >= AT - DAY;
    const i = k - 288;
    const values: Record<string, number | null> = {
      latency_p50_5min: today && i % 16 === 0 ? null : 400 + (k % 7),
      success_rate_5min: today && i % 8 === 0 ? 1.5 : 0.9 + (k % 5) / 100,
      error_rate_5min: (today ? 0.5 : 0.01) + (k % 9) / 1000,
    };
    if (!(today && i >= 100 && i < 172)) values.latency_p95_5min = 800 + (k % 11);
    out.push({
      group: 'perf_5min',
      entityType: 'model',
      entityId: 'm1',
      version: 1,
      windowStart,
      windowEnd: windowStart + W,
      eventTime,
      revision: 0,
      values,
    });
  }
  return out;
}

describe('quality score', () => {
  const schema = `i12_quality_${process.pid}_${randomUUID().slice(0, 8)}`;
  const pool = new pg.Pool({ connectionString: PG, max: 2 });
  const query = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows;
  // 30 min before AT are missing: the current day has 282 rows (6 windows short).
  const currentRows = 288 - 6;

  beforeAll(async () => {
    const store = await OfflineStore.open(`${PG}?schema=${schema}`);
    try {
      await store.migrate();
      await store.writeRows(rows());
    } finally {
      await store.close();
    }
  });

  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it('slides of the windowed groups', () => {
    expect(groupSlideMs(SET, 'perf_5min')).toBe(W);
    expect(groupSlideMs(SET, 'perf_1hr')).toBe(W);
    expect(groupSlideMs(SET, 'request')).toBeNull();
    expect(groupSlideMs(SET, 'feedback_session')).toBeNull();
  });

  it('each component as computed by hand', async () => {
    const q = await computeQuality(query, { featureSet: SET, at: AT, schema, group: 'perf_5min' });
    const by = new Map(q.features.map((f) => [f.feature, f]));
    const p50 = by.get('latency_p50_5min')!;
    expect(p50.rows).toBe(currentRows);
    // i = 0, 16, …, 272 → 18 nulls of 282.
    expect(p50.null_rate).toBeCloseTo(18 / currentRows, 4);
    expect(p50.completeness).toBe(1);
    expect(p50.age_seconds).toBe(1800);
    expect(p50.freshness_sla_seconds).toBe(600);
    expect(p50.freshness).toBeCloseTo(600 / 1800, 4);
    expect(p50.drift_status).toBe('no_drift');
    const p95 = by.get('latency_p95_5min')!;
    expect(p95.completeness).toBeCloseTo((currentRows - 72) / currentRows, 4);
    const sr = by.get('success_rate_5min')!;
    // i = 0, 8, …, 280 → 36 invalid of 282.
    expect(sr.validity).toBeCloseTo((currentRows - 36) / currentRows, 4);
    const er = by.get('error_rate_5min')!;
    expect(er.drift_status).toBe('drift');
    expect(er.drift_score).toBe(1);
    // A catalog value that never arrives scores lowest.
    const p99 = by.get('latency_p99_5min')!;
    expect(p99.present).toBe(0);
    expect(p99.score).toBe(0);
    expect(q.features[0]!.score).toBe(0); // worst first
    // The score is the mean of the components.
    const mean =
      (1 - p50.null_rate! + p50.freshness + p50.completeness + p50.validity! + (1 - p50.drift_score!)) / 5;
    expect(p50.score).toBeCloseTo(mean, 3);
    expect(JSON.stringify(q)).not.toMatch(/NaN|Infinity/);
  });

  it('GET /quality on serve, and its gauge on /metrics', async () => {
    const app = await createServer({
      featureSet: featureSetOf(),
      online: null,
      offline: pool,
      offlineSchema: schema,
      redisUrl: null,
      l1: { maxBytes: 0, ttlMs: 0 },
    });
    try {
      const res = await app.inject({ url: `/quality?group=perf_5min&at=${new Date(AT).toISOString()}` });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { features: { feature: string; score: number }[] };
      expect(body.features.find((f) => f.feature === 'latency_p50_5min')?.score).toBeGreaterThan(0.5);
      const metrics = await app.inject({ url: '/metrics' });
      expect(metrics.body).toMatch(
        /feature_quality_score\{feature="latency_p50_5min",group="perf_5min"\} 0\.\d+/,
      );
      const bad = await app.inject({ url: '/quality?window=soon' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ error: { code: 'bad_request' } });
    } finally {
      await app.close();
    }
    const none = await createServer({
      featureSet: featureSetOf(),
      online: null,
      offline: null,
      redisUrl: null,
      l1: { maxBytes: 0, ttlMs: 0 },
    });
    try {
      const res = await none.inject({ url: '/quality' });
      expect(res.statusCode).toBe(503);
    } finally {
      await none.close();
    }
  });
});
