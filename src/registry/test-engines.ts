import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { OfflineStore } from '../stores/offline-postgres.js';
import { EmbeddedSqlClient, PostgresSqlClient } from '../stores/sql-client.js';

const CONN = 'postgres://postgres@127.0.0.1:5432/test';

/** A migrated store in a throw-away schema, and how to drop it. */
export interface TestStore {
  readonly store: OfflineStore;
  drop(): Promise<void>;
}

/**
 * The two offline engines for registry tests: PostgreSQL at 127.0.0.1:5432 and one in-memory
 * PGlite, each giving migrated stores in fresh schemas. Call at the top level of a test file.
 *
 * @example
 * for (const engine of registryTestEngines()) describe(engine.name, () => { … await engine.fresh() … });
 */
export function registryTestEngines(): Array<{ name: string; fresh: () => Promise<TestStore> }> {
  let admin: pg.Client | null = null;
  let lite: PGlite | null = null;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: CONN });
    await admin.connect();
    lite = await PGlite.create();
  });
  afterAll(async () => {
    await admin?.end();
    await lite?.close();
  });
  const schemaName = () => `fs_h5_reg_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  return [
    {
      name: 'postgres',
      fresh: async () => {
        const schema = schemaName();
        const store = new OfflineStore(new PostgresSqlClient(CONN, schema, { retryDeadlineMs: 20_000 }));
        await store.migrate();
        return {
          store,
          drop: async () => {
            await store.close();
            await admin!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          },
        };
      },
    },
    {
      name: 'embedded',
      fresh: async () => {
        const schema = schemaName();
        const store = new OfflineStore(EmbeddedSqlClient.wrap(lite!, schema));
        await store.migrate();
        return {
          store,
          drop: async () => {
            await store.close();
            await lite!.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          },
        };
      },
    },
  ];
}
