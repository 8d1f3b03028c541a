import { afterEach, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { loadMigrations } from './migrate.js';
import type { OfflineStore } from './offline-postgres.js';

/** A fresh store over an empty schema (not migrated), and how to drop it afterwards. */
export interface OfflineStoreUnderTest {
  readonly store: OfflineStore;
  readonly cleanup: () => Promise<void>;
}

/** A windowed perf_5min row ending at 2026-11-15 12:05 UTC, with overrides. */
export function offlineRow(overrides: Partial<FeatureRow> = {}): FeatureRow {
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

/** A per-event row (no window) at `eventTime`. */
export function eventRow(
  entityId: string,
  eventTime: number,
  values: Record<string, number | null> = { n: 1 },
) {
  return offlineRow({ entityId, windowStart: null, windowEnd: null, eventTime, values });
}

/**
 * Declares the suite every offline store engine must pass (PostgreSQL server and embedded
 * PGlite): migrations, idempotent writes under replay, revisions, partitions, retention, dead
 * letter and late event keys, point-in-time reads. `make` is called once per test.
 *
 * @example
 * runOfflineConformance('embedded', async () => ({ store: new OfflineStore(client), cleanup: async () => {} }));
 */
export function runOfflineConformance(name: string, make: () => Promise<OfflineStoreUnderTest>): void {
  describe(`OfflineStore conformance: ${name}`, () => {
    let current: OfflineStoreUnderTest | null = null;

    async function fresh(): Promise<OfflineStore> {
      current = await make();
      await current.store.migrate();
      return current.store;
    }

    afterEach(async () => {
      const c = current;
      current = null;
      if (c !== null) await c.cleanup();
    });

    async function rows(store: OfflineStore) {
      const res = await store.client.query<{
        entity_id: string;
        revision: number;
        values: Record<string, unknown>;
        window_end: Date | null;
        event_time: Date;
      }>(
        'test',
        `SELECT entity_id, revision, "values", window_end, event_time FROM "${store.schema}".feature_values
          ORDER BY event_time, entity_id`,
      );
      return res.rows;
    }

    it('migrates idempotently and records every shipped migration', async () => {
      const store = await fresh();
      expect(await store.migrate()).toEqual([]);
      const shipped = loadMigrations();
      const res = await store.client.query<{ version: number; name: string }>(
        'test',
        `SELECT version, name FROM "${store.schema}".schema_migrations ORDER BY version`,
      );
      expect(res.rows).toEqual(shipped.map((m) => ({ version: m.version, name: m.name })));
      expect(shipped.map((m) => m.version)).toEqual(expect.arrayContaining([1, 2, 3]));
      const tables = await store.client.query<{ table_name: string }>(
        'test',
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
        [store.schema],
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining([
          'dead_letters',
          'feature_values',
          'late_events',
          'schema_migrations',
          'feature_registry',
          'feature_registry_changelog',
          'feature_group_versions',
          'feature_rollouts',
        ]),
      );
    });

    it('replays are no-ops: the same row written again leaves one row, unchanged', async () => {
      const store = await fresh();
      await store.writeRows([offlineRow()]);
      const first = await rows(store);
      await store.writeRows([offlineRow({ values: { latency_p95_5min: 999 } })]); // same key, same revision
      await store.writeRows([offlineRow(), offlineRow()]);
      const got = await rows(store);
      expect(got).toHaveLength(1);
      expect(got[0]!.values).toEqual({ latency_p95_5min: 812, error_rate_5min: null });
      expect(got[0]!.window_end!.getTime()).toBe(offlineRow().windowEnd);
      expect(got).toEqual(first);
      // Per-event rows (no window) have their own key.
      await store.writeRows([eventRow('e', Date.UTC(2026, 10, 15))]);
      await store.writeRows([eventRow('e', Date.UTC(2026, 10, 15))]);
      expect(await rows(store)).toHaveLength(2);
    });

    it('a higher revision replaces, a lower one does not; in a batch the highest wins', async () => {
      const store = await fresh();
      await store.writeRows([offlineRow({ values: { n: 1 } })]);
      await store.writeRows([offlineRow({ revision: 2, values: { n: 3 } })]);
      await store.writeRows([offlineRow({ revision: 1, values: { n: 2 } })]);
      let got = await rows(store);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ revision: 2, values: { n: 3 } });
      await store.writeRows([
        offlineRow({ revision: 4, values: { n: 5 } }),
        offlineRow({ revision: 3, values: { n: 4 } }),
      ]);
      got = await rows(store);
      expect(got[0]).toMatchObject({ revision: 4, values: { n: 5 } });
    });

    it('skips provisional rows (early firings)', async () => {
      const store = await fresh();
      await store.writeRows([offlineRow({ provisional: true, values: { n: 1 } })]);
      expect(await rows(store)).toHaveLength(0);
      await store.writeRows([
        offlineRow({ values: { n: 2 } }),
        offlineRow({ entityId: 'x', provisional: true }),
      ]);
      const got = await rows(store);
      expect(got.map((r) => [r.entity_id, r.values])).toEqual([['gpt-4', { n: 2 }]]);
    });

    it('creates month partitions on demand; a second store writes into them', async () => {
      const store = await fresh();
      expect(await store.listPartitions()).toEqual([]);
      await store.writeRows([
        eventRow('a', Date.UTC(2026, 9, 31, 23, 59, 59, 999)),
        eventRow('b', Date.UTC(2026, 10, 1)),
      ]);
      expect(await store.listPartitions()).toEqual(['feature_values_p202610', 'feature_values_p202611']);
      const res = await store.client.query<{ part: string; entity_id: string }>(
        'test',
        `SELECT tableoid::regclass::text AS part, entity_id FROM "${store.schema}".feature_values ORDER BY entity_id`,
      );
      expect(res.rows.map((r) => [r.part.replace(/^.*\./, '').replaceAll('"', ''), r.entity_id])).toEqual([
        ['feature_values_p202610', 'a'],
        ['feature_values_p202611', 'b'],
      ]);
    });

    it('retention drops whole old partitions and recreates one written again', async () => {
      const store = await fresh();
      const now = Date.UTC(2026, 10, 20);
      await store.writeRows([
        eventRow('old', Date.UTC(2026, 6, 10)),
        eventRow('edge', Date.UTC(2026, 7, 25)),
        eventRow('new', Date.UTC(2026, 10, 10)),
      ]);
      // 90 days before Nov 20 is Aug 22: July ends before it; August does not.
      expect(await store.dropPartitionsOlderThan(90, now)).toEqual(['feature_values_p202607']);
      expect(await store.listPartitions()).toEqual(['feature_values_p202608', 'feature_values_p202611']);
      expect((await rows(store)).map((r) => r.entity_id)).toEqual(['edge', 'new']);
      await store.writeRows([eventRow('old2', Date.UTC(2026, 6, 11))]);
      expect(await store.listPartitions()).toContain('feature_values_p202607');
    });

    it('dead letters are keyed by (source, position): replays add nothing', async () => {
      const store = await fresh();
      const dl = (source: string, position: number, raw = '{') => ({
        source,
        position,
        line: position + 1,
        reason: 'not_json',
        detail: 'Unexpected end',
        raw,
      });
      await store.writeDeadLetters([dl('in.ndjson', 10), dl('in.ndjson', 20)]);
      await store.writeDeadLetters([
        dl('in.ndjson', 10, 'changed'),
        dl('in.ndjson', 20),
        dl('in.ndjson', 30),
      ]);
      await store.writeDeadLetters([dl('other.ndjson', 10), dl('other.ndjson', 10)]);
      const res = await store.client.query<Record<string, unknown>>(
        'test',
        `SELECT source, position::int AS position, line, reason, detail, payload
           FROM "${store.schema}".dead_letters ORDER BY source, position`,
      );
      expect(res.rows).toEqual([
        {
          source: 'in.ndjson',
          position: 10,
          line: 11,
          reason: 'not_json',
          detail: 'Unexpected end',
          payload: '{',
        },
        {
          source: 'in.ndjson',
          position: 20,
          line: 21,
          reason: 'not_json',
          detail: 'Unexpected end',
          payload: '{',
        },
        {
          source: 'in.ndjson',
          position: 30,
          line: 31,
          reason: 'not_json',
          detail: 'Unexpected end',
          payload: '{',
        },
        {
          source: 'other.ndjson',
          position: 10,
          line: 11,
          reason: 'not_json',
          detail: 'Unexpected end',
          payload: '{',
        },
      ]);
    });

    it('late events are keyed by (source, position, window): replays add nothing', async () => {
      const store = await fresh();
      const late = (position: number, window: string) => ({
        source: 'in.ndjson',
        position,
        line: 7,
        window,
        group: window,
        eventTime: Date.UTC(2026, 0, 1),
        raw: '{}',
      });
      await store.writeLateEvents([late(100, 'perf_5min'), late(100, 'perf_1hr')]);
      await store.writeLateEvents([late(100, 'perf_5min'), late(100, 'perf_1hr'), late(200, 'perf_5min')]);
      const res = await store.client.query<Record<string, unknown>>(
        'test',
        `SELECT position::int AS position, operator_id, feature_group, event_time
           FROM "${store.schema}".late_events ORDER BY position, operator_id`,
      );
      expect(res.rows).toEqual([
        {
          position: 100,
          operator_id: 'perf_1hr',
          feature_group: 'perf_1hr',
          event_time: new Date(Date.UTC(2026, 0, 1)),
        },
        {
          position: 100,
          operator_id: 'perf_5min',
          feature_group: 'perf_5min',
          event_time: new Date(Date.UTC(2026, 0, 1)),
        },
        {
          position: 200,
          operator_id: 'perf_5min',
          feature_group: 'perf_5min',
          event_time: new Date(Date.UTC(2026, 0, 1)),
        },
      ]);
    });

    it('readAt returns the latest row at or before the time, within the TTL, never a later one', async () => {
      const store = await fresh();
      const t0 = Date.UTC(2026, 10, 15, 12, 0);
      await store.writeRows([
        offlineRow({ windowStart: t0 - 300_000, windowEnd: t0, eventTime: t0 - 1, values: { n: 1 } }),
        offlineRow({ windowStart: t0, windowEnd: t0 + 300_000, eventTime: t0 + 299_999, values: { n: 2 } }),
      ]);
      expect(await store.readAt('model', 'gpt-4', 'perf_5min', 1, t0 - 2)).toBeNull();
      expect((await store.readAt('model', 'gpt-4', 'perf_5min', 1, t0 - 1))!.values).toEqual({ n: 1 });
      expect((await store.readAt('model', 'gpt-4', 'perf_5min', 1, t0 + 299_998))!.values).toEqual({ n: 1 });
      const v = await store.readAt('model', 'gpt-4', 'perf_5min', 1, t0 + 299_999);
      expect(v).toMatchObject({ values: { n: 2 }, eventTime: t0 + 299_999, revision: 0 });
      // TTL 60 s: 10 minutes after the last row nothing is young enough.
      expect(await store.readAt('model', 'gpt-4', 'perf_5min', 1, t0 + 900_000, 60)).toBeNull();
      expect((await store.readAt('model', 'gpt-4', 'perf_5min', 1, t0 + 330_000, 60))!.values).toEqual({
        n: 2,
      });
      expect(await store.readAt('model', 'gpt-4', 'perf_5min', 2, t0 + 330_000)).toBeNull();
    });
  });
}
