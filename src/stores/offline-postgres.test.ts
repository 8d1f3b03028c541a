import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ExternalError } from '../shared/errors.js';
import { offlineRow, runOfflineConformance } from './offline-conformance.js';
import { OfflineStore } from './offline-postgres.js';
import { EmbeddedSqlClient, PostgresSqlClient, parseOfflineSpec } from './sql-client.js';

const CONN = 'postgres://postgres@127.0.0.1:5432/test';

const uniqueSchema = () => `fs_h5_${randomUUID().replaceAll('-', '').slice(0, 16)}`;

let admin: pg.Client;
let shared: PGlite;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: CONN });
  await admin.connect();
  shared = await PGlite.create();
});

afterAll(async () => {
  await admin.end();
  await shared.close();
});

runOfflineConformance('postgres', async () => {
  const schema = uniqueSchema();
  const store = new OfflineStore(new PostgresSqlClient(CONN, schema, { retryDeadlineMs: 20_000 }));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
});

// One in-memory PGlite for the suite (starting one takes seconds); a schema per test.
runOfflineConformance('embedded (PGlite)', async () => {
  const schema = uniqueSchema();
  const store = new OfflineStore(EmbeddedSqlClient.wrap(shared, schema));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await shared.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
});

describe('OfflineStore on PostgreSQL', () => {
  it('keeps the original constructor form', async () => {
    const schema = uniqueSchema();
    const store = new OfflineStore({ connectionString: CONN, schema });
    try {
      await store.migrate();
      await store.writeRows([offlineRow()]);
      expect(await store.listPartitions()).toEqual(['feature_values_p202611']);
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('retries on a new connection after its backends were terminated (pg_terminate_backend)', async () => {
    const schema = uniqueSchema();
    const appName = `fs-h5-${randomUUID().slice(0, 8)}`;
    const store = await OfflineStore.open(`${CONN}?schema=${schema}&application_name=${appName}`, {
      retryDeadlineMs: 20_000,
    });
    try {
      await store.migrate();
      await store.writeRows([offlineRow({ entityId: 'before' })]);
      const before = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
        appName,
      ]);
      expect(before.rows.length).toBeGreaterThan(0);
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [appName],
      );
      expect(killed.rows.every((r) => r.ok === true)).toBe(true);

      await store.writeRows([offlineRow({ entityId: 'after-1' }), offlineRow({ entityId: 'after-2' })]);
      const got = await admin.query(`SELECT entity_id FROM "${schema}".feature_values ORDER BY 1`);
      expect(got.rows.map((r) => r.entity_id)).toEqual(['after-1', 'after-2', 'before']);
      const after = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
        appName,
      ]);
      const oldPids = new Set(before.rows.map((r) => r.pid));
      expect(after.rows.some((r) => !oldPids.has(r.pid))).toBe(true);
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('an unreachable server fails with ExternalError once the retry deadline passes', async () => {
    const store = await OfflineStore.open('postgres://postgres@127.0.0.1:1/test', { retryDeadlineMs: 300 });
    try {
      const err = await store.migrate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as ExternalError).retryable).toBe(true);
      expect(store.retries).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});

describe('parseOfflineSpec', () => {
  it('accepts postgres URLs with a schema parameter, embedded and embedded:DIR', () => {
    expect(parseOfflineSpec('postgres://postgres@127.0.0.1:5432/test?schema=abc&application_name=x')).toEqual(
      {
        kind: 'postgres',
        connectionString: 'postgres://postgres@127.0.0.1:5432/test?application_name=x',
        schema: 'abc',
      },
    );
    expect(parseOfflineSpec('embedded')).toMatchObject({ kind: 'embedded', schema: 'public' });
    expect(parseOfflineSpec('embedded:/tmp/x')).toEqual({
      kind: 'embedded',
      dir: '/tmp/x',
      schema: 'public',
    });
  });

  it.each([
    'mysql://localhost/db',
    'postgres://',
    'postgres://host:99999/db',
    'embedded:',
    '',
    'postgres://h/db?schema=bad-name',
  ])('rejects %j with a ConfigError naming the flag', (spec) => {
    const err = (() => {
      try {
        parseOfflineSpec(spec);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('--offline');
    expect((err as ConfigError).message).toContain('--offline');
  });
});

describe('OfflineStore embedded in a directory', () => {
  it('persists across reopen and allows one opener at a time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-h5-offline-'));
    try {
      const a = await OfflineStore.open(`embedded:${dir}`);
      await a.migrate();
      await a.writeRows([offlineRow({ values: { n: 42 } })]);
      const second = await OfflineStore.open(`embedded:${dir}`).catch((e: unknown) => e);
      expect(second).toBeInstanceOf(ExternalError);
      expect((second as Error).message).toMatch(/one opener at a time/);
      await a.close();

      const b = await OfflineStore.open(`embedded:${dir}`);
      try {
        expect(await b.migrate()).toEqual([]);
        const v = await b.readAt('model', 'gpt-4', 'perf_5min', 1, offlineRow().eventTime);
        expect(v?.values).toEqual({ n: 42 });
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
