import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { formatRow } from '../connectors/row-format.js';
import { formatTimestamp } from '../shared/timestamp.js';
import { exportFeatures } from '../stores/export.js';
import { runStoreCli } from './stores-main.js';
import { OfflineStore } from '../stores/offline-postgres.js';

const PG = 'postgres://postgres@127.0.0.1:5432/test';

/** Runs the store CLI, capturing stdout (bytes) and stderr. */
async function cli(...args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  const out: Buffer[] = [];
  const err: string[] = [];
  const grab =
    (sink: (b: Buffer) => void) =>
    (chunk: string | Uint8Array, enc?: unknown, cb?: unknown): boolean => {
      sink(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
      const done = typeof enc === 'function' ? enc : cb;
      if (typeof done === 'function') (done as () => void)();
      return true;
    };
  const so = process.stdout.write;
  const se = process.stderr.write;
  process.stdout.write = grab((b) => out.push(b)) as typeof process.stdout.write;
  process.stderr.write = grab((b) => err.push(b.toString())) as typeof process.stderr.write;
  try {
    const code = await runStoreCli(['node', 'featurestream', ...args]);
    return { code, stdout: Buffer.concat(out), stderr: err.join('') };
  } finally {
    process.stdout.write = so;
    process.stderr.write = se;
  }
}

const W = 300_000;
const BASE = Date.UTC(2026, 0, 15, 10, 0);

function win(
  entityId: string,
  k: number,
  version: number,
  values: Record<string, number | null>,
  revision = 0,
): FeatureRow {
  const windowStart = BASE + k * W;
  return {
    group: 'perf_5min',
    entityType: 'model',
    entityId,
    version,
    windowStart,
    windowEnd: windowStart + W,
    eventTime: windowStart + W - 1,
    revision,
    values,
  };
}

/** The data set: two models, two versions, a null, a value outside the catalog, another group. */
const ROWS: FeatureRow[] = [
  win('gpt-4', 0, 1, { latency_p95_5min: 812.5, latency_p50_5min: 400, extra_metric: 1 }),
  win('claude', 0, 1, { latency_p95_5min: 700, latency_p50_5min: null }),
  win('gpt-4', 1, 1, { latency_p95_5min: 900, latency_p50_5min: 450 }, 2),
  win('claude', 2, 1, { latency_p95_5min: 650, latency_p50_5min: 300 }),
  win('gpt-4', 1, 2, { latency_p95_5min: 1e-7, latency_p50_5min: 3.25 }),
  { ...win('gpt-4', 1, 1, { latency_p50_1hr: 5 }), group: 'perf_1hr' },
];

const SORT = (a: FeatureRow, b: FeatureRow) =>
  a.eventTime - b.eventTime ||
  a.entityType.localeCompare(b.entityType) ||
  (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0) ||
  a.version - b.version;

describe('store commands', () => {
  let admin: pg.Client;
  let schema: string;
  let dir: string;
  const offline = () => ['--offline', PG, '--schema', schema];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    schema = `fs_h5_cmd_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    dir = mkdtempSync(join(tmpdir(), 'fs-h5-cmd-'));
  });

  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('db migrate applies the migrations once', async () => {
    const first = await cli('db', 'migrate', ...offline());
    expect(first.code).toBe(0);
    expect(first.stdout.toString()).toMatch(/applied migrations 1, 2, 3/);
    const again = await cli('db', 'migrate', ...offline());
    expect(again.code).toBe(0);
    expect(again.stdout.toString()).toMatch(/up to date/);
    const store = await OfflineStore.open(`${PG}?schema=${schema}`);
    try {
      await store.writeRows(ROWS);
    } finally {
      await store.close();
    }
  });

  it('export ndjson writes exactly the file sink row format, filtered and ordered', async () => {
    const r = await cli('export', ...offline(), '--group', 'perf_5min', '--version', '1');
    expect(r.code).toBe(0);
    const expected = ROWS.filter((x) => x.group === 'perf_5min' && x.version === 1).sort(SORT);
    const lines = r.stdout.toString().split('\n');
    expect(lines.pop()).toBe('');
    // The same objects, keys in the row format's order; values in catalog order, then others.
    expect(lines.map((l) => JSON.parse(l))).toEqual(expected.map((x) => JSON.parse(formatRow(x))));
    expect(lines.map((l) => Object.keys(JSON.parse(l)))).toEqual(
      expected.map((x) => Object.keys(JSON.parse(formatRow(x)))),
    );
    expect(Object.keys(JSON.parse(lines[1]!).values)).toEqual([
      'latency_p50_5min',
      'latency_p95_5min',
      'extra_metric',
    ]);
    expect(r.stderr).toMatch(/exported 4 rows/);

    // --from (inclusive) / --to (exclusive) on event_time, all versions, small pages to a file.
    const from = formatTimestamp(BASE + 2 * W - 1);
    const to = formatTimestamp(BASE + 3 * W - 1);
    const file = join(dir, 'range.ndjson');
    const r2 = await cli(
      'export',
      ...offline(),
      '--group',
      'perf_5min',
      '--from',
      from,
      '--to',
      to,
      '--out',
      file,
    );
    expect(r2.code).toBe(0);
    const inRange = ROWS.filter(
      (x) => x.group === 'perf_5min' && x.eventTime >= BASE + 2 * W - 1 && x.eventTime < BASE + 3 * W - 1,
    ).sort(SORT);
    expect(inRange.length).toBe(2);
    const got = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(got.map((l) => JSON.parse(l))).toEqual(inRange.map((x) => JSON.parse(formatRow(x))));
  });

  it('export csv has one column per feature value: catalog order, then others sorted', async () => {
    const file = join(dir, 'perf.csv');
    const r = await cli('export', ...offline(), '--group', 'perf_5min', '--format', 'csv', '--out', file);
    expect(r.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const valueCols = ['latency_p50_5min', 'latency_p95_5min', 'extra_metric'];
    expect(lines[0]).toBe(
      [
        'group',
        'entity_type',
        'entity_id',
        'version',
        'window_start',
        'window_end',
        'event_time',
        'revision',
        ...valueCols,
      ].join(','),
    );
    const expected = ROWS.filter((x) => x.group === 'perf_5min')
      .sort(SORT)
      .map((x) =>
        [
          x.group,
          x.entityType,
          x.entityId,
          x.version,
          formatTimestamp(x.windowStart!),
          formatTimestamp(x.windowEnd!),
          formatTimestamp(x.eventTime),
          x.revision,
          ...valueCols.map((k) =>
            x.values[k] === undefined || x.values[k] === null ? '' : String(x.values[k]),
          ),
        ].join(','),
      );
    expect(lines.slice(1)).toEqual(expected);
  });

  it('export parquet reads back in DuckDB with typed columns', async () => {
    const file = join(dir, 'perf.parquet');
    const r = await cli('export', ...offline(), '--group', 'perf_5min', '--format', 'parquet', '--out', file);
    expect(r.code).toBe(0);
    // And to stdout: the same bytes.
    const viaStdout = await cli('export', ...offline(), '--group', 'perf_5min', '--format', 'parquet');
    expect(viaStdout.code).toBe(0);
    expect(viaStdout.stdout.equals(readFileSync(file))).toBe(true);

    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const types = (
        await con.runAndReadAll(
          `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`,
        )
      ).getRowObjectsJson();
      expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toMatchObject({
        group: 'VARCHAR',
        version: 'INTEGER',
        event_time: expect.stringMatching(/^TIMESTAMP/),
        latency_p95_5min: 'DOUBLE',
      });
      const got = (
        await con.runAndReadAll(
          `SELECT entity_id, version, epoch_ms(event_time) AS et, revision, latency_p50_5min, latency_p95_5min, extra_metric
             FROM read_parquet('${file}')`,
        )
      ).getRowObjectsJS();
      const expected = ROWS.filter((x) => x.group === 'perf_5min')
        .sort(SORT)
        .map((x) => ({
          entity_id: x.entityId,
          version: x.version,
          et: BigInt(x.eventTime),
          revision: x.revision,
          latency_p50_5min: x.values.latency_p50_5min ?? null,
          latency_p95_5min: x.values.latency_p95_5min ?? null,
          extra_metric: x.values.extra_metric ?? null,
        }));
      expect(got).toEqual(expected);
    } finally {
      con.closeSync();
    }
  });

  it('keyset pages of one row give the same export (ties on event_time, entity and version)', async () => {
    const store = await OfflineStore.open(`${PG}?schema=${schema}`);
    try {
      const whole = join(dir, 'whole.csv');
      const paged = join(dir, 'paged.csv');
      const a = await exportFeatures(store, { group: 'perf_5min', format: 'csv', out: whole });
      const b = await exportFeatures(store, { group: 'perf_5min', format: 'csv', out: paged, pageSize: 1 });
      expect(b.rows).toBe(a.rows);
      expect(a.rows).toBe(ROWS.filter((x) => x.group === 'perf_5min').length);
      expect(readFileSync(paged, 'utf8')).toBe(readFileSync(whole, 'utf8'));
    } finally {
      await store.close();
    }
  });

  it('export of a group with no rows gives empty ndjson and a header-only csv', async () => {
    const r = await cli('export', ...offline(), '--group', 'nothing_here');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('');
    const csv = await cli('export', ...offline(), '--group', 'nothing_here', '--format', 'csv');
    expect(csv.stdout.toString().split('\n')[0]).toMatch(/^group,entity_type,/);
  });

  it('db retention drops old partitions and prints them', async () => {
    const store = await OfflineStore.open(`${PG}?schema=${schema}`);
    const now = Date.now();
    try {
      await store.writeRows([
        { ...ROWS[0]!, entityId: 'old', windowStart: null, windowEnd: null, eventTime: Date.UTC(2020, 0, 5) },
        { ...ROWS[0]!, entityId: 'recent', windowStart: null, windowEnd: null, eventTime: now },
      ]);
    } finally {
      await store.close();
    }
    const r = await cli('db', 'retention', ...offline(), '--days', '90');
    expect(r.code).toBe(0);
    const dropped = r.stdout.toString().trim().split('\n');
    // January 2026 (ROWS) is dropped too once it is 90 days old; the current month never is.
    expect(dropped).toContain('dropped feature_values_p202001');
    const month = `${new Date(now).getUTCFullYear()}${String(new Date(now).getUTCMonth() + 1).padStart(2, '0')}`;
    expect(dropped).not.toContain(`dropped feature_values_p${month}`);
    const left = await admin.query(
      `SELECT entity_id FROM "${schema}".feature_values WHERE entity_id IN ('old', 'recent')`,
    );
    expect(left.rows.map((x) => x.entity_id)).toEqual(['recent']);
    const again = await cli('db', 'retention', ...offline(), '--days', '90');
    expect(again.stdout.toString()).toBe('no partition older than 90 days\n');
  });

  it('bad arguments exit 2 with a message naming the flag', async () => {
    const badUrl = await cli('db', 'migrate', '--offline', 'mysql://x');
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/--offline/);
    const badFormat = await cli('export', ...offline(), '--group', 'g', '--format', 'xml');
    expect(badFormat.code).toBe(2);
    const badTime = await cli('export', ...offline(), '--group', 'g', '--from', 'yesterday');
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/--from/);
    const noStore = await cli('export', '--offline', PG, '--schema', 'fs_h5_missing_schema', '--group', 'g');
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toMatch(/db migrate/);
  });
});
