/**
 * Feature versions (issue 4): `run --feature-version 2` writes a topology's output as v2 beside v1
 * in the offline store, the registry records both (group, version) pairs, and `serve` answers
 * both versions, explicitly and through a rollout by stable hash of the user id.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { startServe } from '../src/cli/serve.js';
import { pino } from 'pino';
import { runCli, tempDir } from './support.js';
import { dropSchema, offlineUrl, PG_URL, uniqueName } from './stores-support.js';
import { featureSetOf } from '../src/registry/feature-set.js';

const schema = uniqueName('fs_versions');
const pool = new pg.Pool({ connectionString: PG_URL });
const dir = tempDir('fs-versions-');

beforeAll(async () => {
  await writePerfEvents(join(dir, 'events.ndjson'), { events: 6_000, seed: 3, models: 3 });
  for (const version of ['1', '2']) {
    const r = await runCli([
      'run',
      '--topology',
      'llm-perf',
      '--input',
      join(dir, 'events.ndjson'),
      '--out',
      join(dir, `rows-v${version}.ndjson`),
      '--offline',
      offlineUrl(schema),
      '--feature-version',
      version,
      '--workers',
      '1',
    ]);
    expect(r.code, r.stderr).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

describe('feature versions', () => {
  it('writes v2 beside v1: the same keys and values under both versions', async () => {
    const q = await pool.query<{ version: number; n: string }>(
      `SELECT version, count(*) AS n FROM ${schema}.feature_values GROUP BY version ORDER BY version`,
    );
    expect(q.rows.map((r) => r.version)).toEqual([1, 2]);
    expect(Number(q.rows[0]!.n)).toBeGreaterThan(0);
    expect(q.rows[0]!.n).toBe(q.rows[1]!.n);
    const diff = await pool.query(
      `SELECT 1 FROM ${schema}.feature_values a
         LEFT JOIN ${schema}.feature_values b
           ON b.version = 2 AND b.feature_group = a.feature_group AND b.entity_id = a.entity_id
          AND b.event_time = a.event_time AND b."values" = a."values"
        WHERE a.version = 1 AND b.entity_id IS NULL`,
    );
    expect(diff.rowCount).toBe(0);
  });

  it('records both (group, version) pairs in the registry tables', async () => {
    const q = await pool.query<{ feature_group: string; version: number }>(
      `SELECT feature_group, version FROM ${schema}.feature_group_versions ORDER BY 1, 2`,
    );
    const pairs = q.rows.map((r) => `${r.feature_group}:v${r.version}`);
    expect(pairs).toEqual(['perf_1hr:v1', 'perf_1hr:v2', 'perf_5min:v1', 'perf_5min:v2']);
  });

  it('serves both versions, explicitly and by rollout', async () => {
    const last = (
      await pool.query<{ entity_id: string; t: Date; p95: number }>(
        `SELECT entity_id, event_time AS t, ("values"->>'latency_p95_5min')::float8 AS p95
           FROM ${schema}.feature_values WHERE feature_group = 'perf_5min' AND version = 1
          ORDER BY event_time DESC, entity_id LIMIT 1`,
      )
    ).rows[0]!;
    const model = last.entity_id;
    const server = await startServe(
      {
        featureSet: featureSetOf(),
        port: 0,
        host: '127.0.0.1',
        onlineUrl: null,
        offlineUrl: PG_URL,
        offlineSchema: schema,
        authToken: undefined,
        l1MaxBytes: 0,
        l1TtlMs: 1000,
        maxBatch: 100,
        keyPrefix: '',
        rollout: {
          perf_5min: [
            { version: 1, share: 0.5 },
            { version: 2, share: 0.5 },
          ],
        },
      },
      pino({ level: 'silent' }),
    );
    try {
      // One minute after the last perf_5min window: within the group's 24 h TTL.
      const at = new Date(last.t.getTime() + 60_000).toISOString();
      const get = async (query: string) => {
        const res = await server.app.inject({ method: 'GET', url: `/features/model/${model}?${query}` });
        expect(res.statusCode, res.body).toBe(200);
        return res.json() as { features: Record<string, number | null>; metadata: { version: unknown } };
      };
      // Point-in-time reads (offline store) of the last window, under each version.
      const v1 = await get(`features=PERF_002&version=1&at=${encodeURIComponent(at)}`);
      const v2 = await get(`features=PERF_002&version=2&at=${encodeURIComponent(at)}`);
      expect(v1.metadata.version).toBe(1);
      expect(v2.metadata.version).toBe(2);
      expect(v1.features.latency_p95_5min).toBe(last.p95);
      expect(v2.features.latency_p95_5min).toBe(last.p95);
      // By rollout: over many users both versions are assigned, each user always the same one.
      const seen = new Set<unknown>();
      for (let u = 0; u < 40; u++) {
        const a = await get(`features=PERF_002&user_id=user-${u}&at=${encodeURIComponent(at)}`);
        const b = await get(`features=PERF_002&user_id=user-${u}&at=${encodeURIComponent(at)}`);
        expect(a.metadata.version).toBe(b.metadata.version);
        expect(a.features.latency_p95_5min).toBe(last.p95);
        seen.add(a.metadata.version);
      }
      expect([...seen].sort()).toEqual([1, 2]);
    } finally {
      await server.close();
    }
  });
});
