import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support.js';
import { InUseError } from '../shared/errors.js';
import { EmbeddedSqlClient } from './sql-client.js';

/** PostgreSQL's cluster id: initdb draws a new one; a copied data directory keeps its own. */
async function systemId(c: EmbeddedSqlClient): Promise<string> {
  const r = await c.query<{ id: string }>(
    'id',
    'SELECT system_identifier::text AS id FROM pg_control_system()',
  );
  return r.rows[0]!.id;
}

describe('EmbeddedSqlClient', () => {
  it('reads a snapshot of a directory another opener holds, when asked, and removes it on close', async () => {
    const dir = join(tempDir('fs-pglite-snap-'), 'db');
    const holder = await EmbeddedSqlClient.open(dir);
    const snapshots = () => readdirSync(tmpdir()).filter((f) => f.startsWith('featurestream-snapshot-'));
    try {
      await holder.query('t', 'CREATE TABLE kept (x int)');
      await holder.query('t', 'INSERT INTO kept VALUES (7), (8)');
      // Without the option: one opener at a time.
      await expect(EmbeddedSqlClient.open(dir)).rejects.toBeInstanceOf(InUseError);
      const told: string[] = [];
      const before = snapshots();
      const reader = await EmbeddedSqlClient.open(dir, { snapshotIfInUse: (e) => told.push(e.message) });
      try {
        expect(told).toHaveLength(1);
        expect(told[0]).toMatch(/already open in this process/);
        expect(reader.description).toMatch(/a snapshot/);
        const rows = await reader.query<{ x: number }>('t', 'SELECT x FROM kept ORDER BY x');
        expect(rows.rows.map((r) => r.x)).toEqual([7, 8]);
        // What the reader does stays in its copy.
        await reader.query('t', 'DELETE FROM kept');
      } finally {
        await reader.close();
      }
      expect(snapshots()).toEqual(before);
      expect((await holder.query<{ n: number }>('t', 'SELECT count(*)::int AS n FROM kept')).rows[0]!.n).toBe(
        2,
      );
    } finally {
      await holder.close();
    }
  }, 60_000);

  it('starts new directories and memory from the build’s template data directory, not initdb', async () => {
    // The build makes dist/assets/pglite-template.tar.gz (scripts/pglite-template.mjs).
    expect(existsSync(new URL('../../dist/assets/pglite-template.tar.gz', import.meta.url))).toBe(true);
    const a = await EmbeddedSqlClient.open(join(tempDir('fs-pglite-a-'), 'db'));
    const b = await EmbeddedSqlClient.open(join(tempDir('fs-pglite-b-'), 'db'));
    const m = await EmbeddedSqlClient.open(null);
    try {
      const ids = [await systemId(a), await systemId(b), await systemId(m)];
      // Two initdb runs would give two ids; the template gives every new database its one id.
      expect(new Set(ids).size).toBe(1);
      await a.query('t', 'CREATE TABLE t (x int)');
      await a.query('t', 'INSERT INTO t VALUES (1)');
      expect((await b.query('t', "SELECT to_regclass('public.t') AS t")).rows[0]).toEqual({ t: null });
    } finally {
      await Promise.all([a.close(), b.close(), m.close()]);
    }
  }, 60_000);

  it('reopens a directory with what it holds, and empties it only when asked', async () => {
    const dir = join(tempDir('fs-pglite-c-'), 'db');
    const first = await EmbeddedSqlClient.open(dir);
    await first.query('t', 'CREATE TABLE kept (x int)');
    await first.query('t', 'INSERT INTO kept VALUES (7)');
    await first.close();
    const again = await EmbeddedSqlClient.open(dir);
    expect((await again.query('t', 'SELECT x FROM kept')).rows).toEqual([{ x: 7 }]);
    await again.close();
    const emptied = await EmbeddedSqlClient.open(dir, { emptySchema: true });
    expect((await emptied.query('t', "SELECT to_regclass('public.kept') AS t")).rows[0]).toEqual({ t: null });
    await emptied.close();
  }, 60_000);

  it('runs initdb when the template cannot be loaded, and the database works', async () => {
    const good = await EmbeddedSqlClient.open(null);
    const templateId = await systemId(good);
    await good.close();
    const broken = join(tempDir('fs-pglite-t-'), 'broken.tar.gz');
    writeFileSync(broken, 'not a tarball');
    const before = process.env.FEATURESTREAM_PGLITE_TEMPLATE;
    process.env.FEATURESTREAM_PGLITE_TEMPLATE = broken;
    try {
      const dir = join(tempDir('fs-pglite-d-'), 'db');
      const c = await EmbeddedSqlClient.open(dir);
      try {
        // initdb draws a cluster id of its own: not the template's.
        expect(await systemId(c)).not.toBe(templateId);
        await c.query('t', 'CREATE TABLE t (x int)');
        await c.query('t', 'INSERT INTO t VALUES (3)');
        expect((await c.query('t', 'SELECT x FROM t')).rows).toEqual([{ x: 3 }]);
      } finally {
        await c.close();
      }
    } finally {
      if (before === undefined) delete process.env.FEATURESTREAM_PGLITE_TEMPLATE;
      else process.env.FEATURESTREAM_PGLITE_TEMPLATE = before;
    }
  }, 60_000);
});
