import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support.js';
import { ExternalError, InUseError } from '../shared/errors.js';
import { freePort } from '../shared/free-port.js';
import { EmbeddedSqlClient, PostgresSqlClient } from './sql-client.js';

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

describe('PostgresSqlClient: refused, unreachable, restarted', () => {
  const PG = 'postgres://postgres@127.0.0.1:5432/test';

  it('a refused connection fails on the first attempt, naming the URL, and is not retried', async () => {
    const port = await freePort(); // nothing listens there
    const retries: number[] = [];
    const c = new PostgresSqlClient(`postgres://postgres@127.0.0.1:${port}/test`, 'public', {
      retryDeadlineMs: 60_000,
      refusedIsFinal: true,
      onRetry: (_err, attempt) => retries.push(attempt),
    });
    try {
      const err = await c.query('probe', 'SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as ExternalError).retryable).toBe(false);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^--offline postgres://postgres@127\\.0\\.0\\.1:${port}/test: connection refused \\(.*ECONNREFUSED.*\\): no PostgreSQL listens there; is it running, and are the host and port right\\?$`,
        ),
      );
      expect(retries).toEqual([]);
      expect(c.retries).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('once it has connected, a refusal is an outage (a restart): retried until the server is back', async () => {
    // A TCP proxy in front of the real server, closed for a while: refused, as during a restart.
    const port = await freePort();
    const sockets = new Set<Socket>();
    const open = () => {
      const server = createServer((inbound) => {
        const outbound = connect(5432, '127.0.0.1');
        sockets.add(inbound).add(outbound);
        inbound.pipe(outbound).pipe(inbound);
        const drop = () => {
          inbound.destroy();
          outbound.destroy();
        };
        inbound.on('error', drop).on('close', drop);
        outbound.on('error', drop).on('close', drop);
      });
      return new Promise<Server>((res) => server.listen(port, '127.0.0.1', () => res(server)));
    };
    let proxy = await open();
    const retries: unknown[] = [];
    const c = new PostgresSqlClient(PG.replace(':5432', `:${port}`), 'public', {
      retryDeadlineMs: 60_000,
      refusedIsFinal: true,
      onRetry: (err) => retries.push(err),
    });
    try {
      expect((await c.query<{ x: number }>('probe', 'SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
      await new Promise<void>((res) => proxy.close(() => res()));
      for (const s of sockets) s.destroy();
      const again = c.query<{ x: number }>('probe', 'SELECT 2 AS x');
      while (!retries.some((e) => (e as { code?: string }).code === 'ECONNREFUSED'))
        await new Promise((res) => setTimeout(res, 20));
      proxy = await open();
      expect((await again).rows).toEqual([{ x: 2 }]);
      expect(c.retries).toBeGreaterThan(0);
    } finally {
      await c.close();
      proxy.close();
      for (const s of sockets) s.destroy();
    }
  });

  it('a server that accepts and never answers is retried with a line while it waits, then fails naming the URL and what to check', async () => {
    const silent = createServer({ pauseOnConnect: true });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as AddressInfo).port;
    const notices: string[] = [];
    const c = new PostgresSqlClient(`postgres://postgres:secret@127.0.0.1:${port}/test`, 'public', {
      retryDeadlineMs: 2_000,
      refusedIsFinal: true,
      onWaiting: (m) => notices.push(m),
    });
    try {
      const err = await c.query('probe', 'SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^--offline postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/test: PostgreSQL not reachable within 2000 ms \\(connected, but no answer to the startup message\\): check the host and port, that it is PostgreSQL that listens there`,
        ),
      );
      expect((err as Error).message).not.toContain('secret');
      expect(c.retries).toBeGreaterThan(0);
      expect(notices.length).toBeGreaterThan(0);
      expect(notices[0]).toMatch(
        /^still waiting for --offline postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/test: connected, but no answer/,
      );
    } finally {
      await c.close();
      silent.close();
    }
  }, 20_000);
});
