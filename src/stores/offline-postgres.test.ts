import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { OfflineStore } from './offline-postgres.js';

const CONN = 'postgres://postgres@127.0.0.1:5432/test';

function row(overrides: Partial<FeatureRow> = {}): FeatureRow {
  const windowEnd = Date.UTC(2026, 10, 15, 12, 5);
  return {
    group: 'perf_5min',
    entityType: 'model',
    entityId: 'gpt-4',
    version: 1,
    windowStart: windowEnd - 300_000,
    windowEnd,
    eventTime: windowEnd - 1,
    revision: 0,
    values: { latency_p95_5min: 812, error_rate_5min: null },
    ...overrides,
  };
}

describe('OfflineStore', () => {
  let admin: pg.Client;
  let schema: string;
  let appName: string;
  let store: OfflineStore;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: CONN });
    await admin.connect();
  });

  afterAll(async () => {
    await admin.end();
  });

  beforeEach(async () => {
    const id = randomUUID().replaceAll('-', '').slice(0, 16);
    schema = `fs_test_${id}`;
    appName = `fs-test-${id}`;
    store = new OfflineStore({
      connectionString: CONN,
      schema,
      applicationName: appName,
      retryDeadlineMs: 20_000,
    });
    await store.migrate();
  });

  afterEach(async () => {
    await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  async function rows(): Promise<Array<Record<string, unknown>>> {
    const res = await admin.query(
      `SELECT entity_id, revision, "values", window_end, event_time FROM "${schema}".feature_values ORDER BY event_time, entity_id`,
    );
    return res.rows;
  }

  it('migrates idempotently', async () => {
    expect(await store.migrate()).toEqual([]);
    const again = new OfflineStore({ connectionString: CONN, schema });
    try {
      expect(await again.migrate()).toEqual([]);
    } finally {
      await again.close();
    }
    const res = await admin.query(`SELECT version, name FROM "${schema}".schema_migrations`);
    expect(res.rows).toEqual([{ version: 1, name: 'init' }]);
    const tables = await admin.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['dead_letters', 'feature_values', 'late_events', 'schema_migrations']),
    );
  });

  it('inserts a row; a duplicate insert leaves one row', async () => {
    await store.writeRows([row()]);
    await store.writeRows([row()]);
    await store.writeRows([row(), row()]);
    const got = await rows();
    expect(got).toHaveLength(1);
    expect(got[0]!.values).toEqual({ latency_p95_5min: 812, error_rate_5min: null });
    expect((got[0]!.window_end as Date).getTime()).toBe(row().windowEnd);
    // Per-event rows (no window) have their own key.
    await store.writeRows([row({ windowStart: null, windowEnd: null, entityId: 'e' })]);
    await store.writeRows([row({ windowStart: null, windowEnd: null, entityId: 'e' })]);
    expect(await rows()).toHaveLength(2);
  });

  it('a higher revision replaces, a lower one does not', async () => {
    await store.writeRows([row({ values: { n: 1 } })]);
    await store.writeRows([row({ revision: 2, values: { n: 3 } })]);
    await store.writeRows([row({ revision: 1, values: { n: 2 } })]);
    let got = await rows();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ revision: 2, values: { n: 3 } });
    // Within one batch the highest revision wins.
    await store.writeRows([row({ revision: 4, values: { n: 5 } }), row({ revision: 3, values: { n: 4 } })]);
    got = await rows();
    expect(got[0]).toMatchObject({ revision: 4, values: { n: 5 } });
  });

  it('creates partitions on demand for each month written', async () => {
    expect(await store.listPartitions()).toEqual([]);
    const oct = Date.UTC(2026, 9, 31, 23, 59, 59, 999);
    const nov = Date.UTC(2026, 10, 1);
    await store.writeRows([
      row({ entityId: 'a', windowStart: null, windowEnd: null, eventTime: oct }),
      row({ entityId: 'b', windowStart: null, windowEnd: null, eventTime: nov }),
    ]);
    expect(await store.listPartitions()).toEqual(['feature_values_p202610', 'feature_values_p202611']);
    const res = await admin.query(
      `SELECT tableoid::regclass::text AS part, entity_id FROM "${schema}".feature_values ORDER BY entity_id`,
    );
    expect(
      res.rows.map((r) => [String(r.part).replace(/^.*\./, '').replaceAll('"', ''), r.entity_id]),
    ).toEqual([
      ['feature_values_p202610', 'a'],
      ['feature_values_p202611', 'b'],
    ]);
    // A second store (cold partition cache) writes into the existing partitions without error.
    const other = new OfflineStore({ connectionString: CONN, schema });
    try {
      await other.writeRows([row({ entityId: 'c', windowStart: null, windowEnd: null, eventTime: nov + 5 })]);
    } finally {
      await other.close();
    }
    expect(await rows()).toHaveLength(3);
  });

  it('retention drops whole old partitions', async () => {
    const now = Date.UTC(2026, 10, 20);
    await store.writeRows([
      row({ entityId: 'old', windowStart: null, windowEnd: null, eventTime: Date.UTC(2026, 6, 10) }),
      row({ entityId: 'edge', windowStart: null, windowEnd: null, eventTime: Date.UTC(2026, 7, 25) }),
      row({ entityId: 'new', windowStart: null, windowEnd: null, eventTime: Date.UTC(2026, 10, 10) }),
    ]);
    // 90 days before Nov 20 is Aug 22: July ends before it; August does not.
    expect(await store.dropPartitionsOlderThan(90, now)).toEqual(['feature_values_p202607']);
    expect(await store.listPartitions()).toEqual(['feature_values_p202608', 'feature_values_p202611']);
    expect((await rows()).map((r) => r.entity_id)).toEqual(['edge', 'new']);
    // Writing July again recreates its partition (the cache forgot it).
    await store.writeRows([
      row({ entityId: 'old2', windowStart: null, windowEnd: null, eventTime: Date.UTC(2026, 6, 11) }),
    ]);
    expect(await store.listPartitions()).toContain('feature_values_p202607');
  });

  it('keeps dead letters and late events', async () => {
    await store.writeDeadLetters([{ source: 'in.ndjson:3', reason: 'bad json', payload: '{' }]);
    await store.writeLateEvents([
      { operatorId: 'perf_5min', eventTime: Date.UTC(2026, 0, 1), payload: '{}' },
    ]);
    const dl = await admin.query(`SELECT source, reason, payload FROM "${schema}".dead_letters`);
    expect(dl.rows).toEqual([{ source: 'in.ndjson:3', reason: 'bad json', payload: '{' }]);
    const le = await admin.query(`SELECT operator_id, event_time FROM "${schema}".late_events`);
    expect(le.rows[0].operator_id).toBe('perf_5min');
    expect((le.rows[0].event_time as Date).getTime()).toBe(Date.UTC(2026, 0, 1));
  });

  it('retries on a new connection after its connection was terminated', async () => {
    await store.writeRows([row({ entityId: 'before' })]);
    const before = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
      appName,
    ]);
    expect(before.rows.length).toBeGreaterThan(0);
    const killed = await admin.query(
      'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
      [appName],
    );
    expect(killed.rows.every((r) => r.ok === true)).toBe(true);

    await store.writeRows([row({ entityId: 'after-1' }), row({ entityId: 'after-2' })]);
    // Usually store.retries is 1 here (the dead pooled client was used and discarded); if the pool
    // noticed the termination first it is 0 — either way the write lands on a new connection.
    expect(store.retries).toBeLessThanOrEqual(1);
    expect((await rows()).map((r) => r.entity_id).sort()).toEqual(['after-1', 'after-2', 'before']);
    const after = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
      appName,
    ]);
    const oldPids = new Set(before.rows.map((r) => r.pid));
    expect(after.rows.some((r) => !oldPids.has(r.pid))).toBe(true);
  });
});
