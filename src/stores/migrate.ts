import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../shared/errors.js';
import type { SqlSession } from './sql-client.js';

/** One versioned migration file: `NNN_name.sql`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The migrations shipped beside this file. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/**
 * Reads `NNN_name.sql` files from a directory, in version order.
 *
 * @example
 * const migrations = loadMigrations(DEFAULT_MIGRATIONS_DIR); // [{ version: 1, name: 'init', sql: '…' }]
 */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = /^(\d+)_(.+)\.sql$/.exec(file);
    if (m === null) {
      throw new ConfigError(`migration file \`${file}\` must be named NNN_name.sql`, { field: 'migrations' });
    }
    out.push({ version: Number(m[1]), name: m[2]!, sql: readFileSync(`${dir}/${file}`, 'utf8') });
  }
  const seen = new Set<number>();
  for (const mig of out) {
    if (seen.has(mig.version)) {
      throw new ConfigError(`migration version ${mig.version} appears twice`, { field: 'migrations' });
    }
    seen.add(mig.version);
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * Applies the migrations not yet recorded in `{schema}.schema_migrations`, each in its own
 * transaction, under an advisory lock so concurrent starters do not race. Idempotent: a second
 * run applies nothing. Creates the schema if needed; migration SQL runs with `search_path` set
 * to it. Returns the versions applied.
 *
 * @example
 * const client = await openSqlClient('postgres://postgres@127.0.0.1:5432/test');
 * await client.session('migrate', (s) => migrate(s, 'features')); // [1, 2, 3] the first time, [] afterwards
 */
export async function migrate(
  client: SqlSession,
  schema: string,
  migrations: readonly Migration[] = loadMigrations(),
): Promise<number[]> {
  const s = quoteIdent(schema);
  const applied: number[] = [];
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [`featurestream-migrate:${schema}`]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`);
    const have = new Set(done.rows.map((r) => r.version));
    for (const mig of migrations) {
      if (have.has(mig.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${s}`);
        await client.exec(mig.sql);
        await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
          mig.version,
          mig.name,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
      applied.push(mig.version);
    }
  } finally {
    await client
      .query('SELECT pg_advisory_unlock(hashtext($1))', [`featurestream-migrate:${schema}`])
      .catch(() => {});
  }
  return applied;
}

/** Quotes a PostgreSQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
