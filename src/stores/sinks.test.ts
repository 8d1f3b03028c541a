import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { ConfigError, ExternalError } from '../shared/errors.js';
import { llmFeatureSet } from '../domains/llm/feature-set.js';
import { listGroupVersions } from '../registry/versions.js';
import type { DeadLetterRecord, LateRecord, RowSink } from '../runtime/sink.js';
import { OfflineStore } from './offline-postgres.js';
import { RedisOnlineStore } from './online-redis.js';
import { openOnlineStore } from './online-store.js';
import { PrivateRedis } from './private-redis.js';
import { createStoreSinks } from './sinks.js';
import { featureSetOf } from '../registry/feature-set.js';

const FEATURE_CATALOG = llmFeatureSet().features;

const PG = 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });
const T = Date.UTC(2026, 10, 15, 12, 5);

function row(entityId: string, revision: number, values: Record<string, number | null>): FeatureRow {
  return {
    group: 'perf_5min',
    entityType: 'model',
    entityId,
    version: 1,
    windowStart: T - 300_000,
    windowEnd: T,
    eventTime: T - 1,
    revision,
    values,
  };
}

const deadLetter = (position: number): DeadLetterRecord => ({
  source: 'events.ndjson',
  position,
  line: position / 10,
  reason: 'not_json',
  detail: 'Unexpected token',
  raw: `{bad ${position}`,
});

const late = (position: number, window: string): LateRecord => ({
  source: 'events.ndjson',
  position,
  line: 3,
  window,
  group: window,
  eventTime: T - 3_600_000,
  raw: '{"late":true}',
});

const all = (sinks: RowSink[], f: (s: RowSink) => Promise<void> | undefined) =>
  Promise.all(sinks.map((s) => f(s)));

/** What the sink test reads back once the sinks are closed. */
interface Readback {
  onlineValues(entityId: string): Promise<Record<string, number | null> | null>;
  offline: OfflineStore;
  close(): Promise<void>;
}

/**
 * The same replay scenario on each pair of stores: write, replay everything, write a higher
 * revision; then (after the sinks are closed, as after a run) check both stores.
 */
function sinkConformance(
  name: string,
  setup: () => Promise<{
    online: string;
    offline: string;
    keyPrefix?: string;
    readback: () => Promise<Readback>;
    cleanup: () => Promise<void>;
  }>,
): void {
  describe(`store sinks: ${name}`, () => {
    it('are idempotent under replay: same revision no-op, higher replaces; dead letters and late events once', async () => {
      const env = await setup();
      try {
        const sinks = await createStoreSinks({
          featureSet: featureSetOf(),
          online: env.online,
          offline: env.offline,
          topologyName: 'h5-test-topology',
          logger,
          ...(env.keyPrefix === undefined ? {} : { keyPrefix: env.keyPrefix }),
        });
        expect(sinks.map((s) => s.name).sort()).toEqual(
          [
            `offline:${env.offline.startsWith('embedded') ? 'embedded' : 'postgres'}`,
            `online:${env.online.startsWith('embedded') ? 'embedded' : 'redis'}`,
          ].sort(),
        );
        const batch = [row('a', 0, { n: 1 }), row('b', 0, { n: 2 })];
        const dls = [deadLetter(10), deadLetter(20)];
        const lates = [late(30, 'perf_5min'), late(30, 'perf_1hr')];
        for (let pass = 0; pass < 2; pass++) {
          // pass 1 is the replay after a restart from a checkpoint: the same records again.
          await all(sinks, (s) => s.write(batch));
          await all(sinks, (s) => s.writeDeadLetters?.(dls));
          await all(sinks, (s) => s.writeLate?.(lates));
          await all(sinks, (s) => s.flush());
        }
        await all(sinks, (s) => s.write([row('a', 1, { n: 10 }), row('b', 0, { n: 99 })]));
        await all(sinks, (s) => s.flush());
        await all(sinks, (s) => s.close());

        const rb = await env.readback();
        try {
          expect(await rb.onlineValues('a')).toEqual({ n: 10 });
          expect(await rb.onlineValues('b')).toEqual({ n: 2 });
          const s = `"${rb.offline.schema}"`;
          const fv = await rb.offline.client.query<{ entity_id: string; revision: number; values: unknown }>(
            'test',
            `SELECT entity_id, revision, "values" FROM ${s}.feature_values ORDER BY entity_id`,
          );
          expect(fv.rows).toEqual([
            { entity_id: 'a', revision: 1, values: { n: 10 } },
            { entity_id: 'b', revision: 0, values: { n: 2 } },
          ]);
          const dl = await rb.offline.client.query<{ position: number; payload: string }>(
            'test',
            `SELECT position::int AS position, payload FROM ${s}.dead_letters ORDER BY position`,
          );
          expect(dl.rows).toEqual([
            { position: 10, payload: '{bad 10' },
            { position: 20, payload: '{bad 20' },
          ]);
          const le = await rb.offline.client.query<{ n: number }>(
            'test',
            `SELECT count(*)::int AS n FROM ${s}.late_events`,
          );
          expect(le.rows[0]!.n).toBe(2);
          const versions = await listGroupVersions(rb.offline.client);
          expect(versions.map((v) => [v.group, v.version, v.topology])).toEqual([
            ['perf_5min', 1, 'h5-test-topology'],
          ]);
          const reg = await rb.offline.client.query<{ n: number }>(
            'test',
            `SELECT count(*)::int AS n FROM ${s}.feature_registry WHERE active`,
          );
          expect(reg.rows[0]!.n).toBe(FEATURE_CATALOG.length);
        } finally {
          await rb.close();
        }
      } finally {
        await env.cleanup();
      }
    });
  });
}

let admin: pg.Client;
let redisAdmin: Redis;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  redisAdmin = new Redis(REDIS);
});

afterAll(async () => {
  await admin.end();
  redisAdmin.disconnect();
});

const newSchema = () => `fs_h5_sink_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const dropSchema = (schema: string) => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
async function dropKeys(prefix: string): Promise<void> {
  const keys = await redisAdmin.keys(`${prefix}*`);
  if (keys.length > 0) await redisAdmin.del(...keys);
}

sinkConformance('Redis + PostgreSQL', async () => {
  const schema = newSchema();
  const keyPrefix = `fs-h5-sink:${randomUUID()}:`;
  return {
    online: REDIS,
    offline: `${PG}?schema=${schema}`,
    keyPrefix,
    readback: async () => {
      const online = new RedisOnlineStore({ connection: REDIS, keyPrefix });
      const offline = await OfflineStore.open(`${PG}?schema=${schema}`);
      return {
        onlineValues: async (id) => (await online.read('model', id, 'perf_5min', 1))?.values ?? null,
        offline,
        close: async () => {
          await online.close();
          await offline.close();
        },
      };
    },
    cleanup: async () => {
      await dropSchema(schema);
      await dropKeys(keyPrefix);
    },
  };
});

sinkConformance('embedded LevelDB + embedded PGlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-h5-sinks-'));
  return {
    online: `embedded:${join(dir, 'online')}`,
    offline: `embedded:${join(dir, 'offline')}`,
    // Opened only after the sinks closed: a later `serve` process reads what the run wrote.
    readback: async () => {
      const online = await openOnlineStore(`embedded:${join(dir, 'online')}`);
      const offline = await OfflineStore.open(`embedded:${join(dir, 'offline')}`);
      return {
        onlineValues: async (id) => (await online.read('model', id, 'perf_5min', 1))?.values ?? null,
        offline,
        close: async () => {
          await online.close();
          await offline.close();
        },
      };
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('createStoreSinks', () => {
  it.each([
    [{ online: 'memcached://x' }, '--online'],
    [{ online: 'redis://' }, '--online'],
    [{ offline: 'mysql://x/db' }, '--offline'],
    [{ offline: 'postgres://h:0/db' }, '--offline'],
    [{ online: 'embedded:', offline: 'embedded' }, '--online'],
  ])('fails at start with a ConfigError naming the flag for %j', async (flags, flag) => {
    const err = await createStoreSinks({
      featureSet: featureSetOf(),
      ...flags,
      topologyName: 't',
      logger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(flag);
    expect((err as Error).message.startsWith(`${flag}:`)).toBe(true);
  });

  it('checks both values before opening anything', async () => {
    const schema = newSchema();
    const err = await createStoreSinks({
      featureSet: featureSetOf(),
      online: 'nope',
      offline: `${PG}?schema=${schema}`,
      topologyName: 't',
      logger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const exists = await admin.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [
      schema,
    ]);
    expect(exists.rowCount).toBe(0);
  });

  it('unreachable stores fail at start with an ExternalError naming the flag', async () => {
    const redisDown = await createStoreSinks({
      featureSet: featureSetOf(),
      online: 'redis://127.0.0.1:1',
      topologyName: 't',
      logger,
      startTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(redisDown).toBeInstanceOf(ExternalError);
    expect((redisDown as Error).message).toMatch(/^--online[: ]/);
    const pgDown = await createStoreSinks({
      featureSet: featureSetOf(),
      offline: 'postgres://postgres@127.0.0.1:1/test',
      topologyName: 't',
      logger,
      startTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(pgDown).toBeInstanceOf(ExternalError);
    expect((pgDown as Error).message).toMatch(/^--offline[: ]/);
  });

  it('Redis outage: a sink write in flight blocks, retries and completes when Redis is back', async () => {
    const redis = await PrivateRedis.start();
    try {
      const [sink] = await createStoreSinks({
        featureSet: featureSetOf(),
        online: redis.url,
        topologyName: 't',
        logger,
      });
      const own = new Redis(redis.url);
      await own.call('CLIENT', 'PAUSE', '60000', 'WRITE'); // the write below is surely in flight
      own.disconnect();
      const rows = Array.from({ length: 500 }, (_, i) => row(`o${i}`, 0, { i }));
      let settled = false;
      const writing = sink!.write(rows).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 200));
      await redis.stop();
      await new Promise((r) => setTimeout(r, 500));
      expect(settled).toBe(false);
      await redis.start();
      await writing;
      await sink!.flush();
      await sink!.close();
      const check = new Redis(redis.url);
      try {
        expect(await check.dbsize()).toBe(500);
      } finally {
        check.disconnect();
      }
    } finally {
      await redis.stop();
    }
  });

  it('PostgreSQL: a write whose backend is terminated mid-write (pg_terminate_backend) is retried and lands once', async () => {
    const schema = newSchema();
    const appName = `fs-h5-sink-${randomUUID().slice(0, 8)}`;
    const [sink] = await createStoreSinks({
      featureSet: featureSetOf(),
      offline: `${PG}?schema=${schema}&application_name=${appName}`,
      topologyName: 't',
      logger,
      syncRegistry: false,
    });
    const locker = new pg.Client({ connectionString: PG });
    await locker.connect();
    try {
      await sink!.write([row('before', 0, { n: 0 })]); // creates the partition, registers the version
      // Hold a lock so the next write waits inside the server, then kill its backend there.
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".feature_values IN EXCLUSIVE MODE`);
      const writing = sink!.write([row('x', 0, { n: 1 }), row('y', 0, { n: 2 })]);
      for (;;) {
        const waiting = await admin.query(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [appName],
        );
        if (waiting.rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const killed = await admin.query(
        'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) k',
        [appName],
      );
      expect(killed.rows[0].n).toBeGreaterThan(0);
      await locker.query('COMMIT');
      await writing;
      await sink!.write([row('x', 0, { n: 1 })]); // and a replay of it
      await sink!.flush();
      const got = await admin.query(`SELECT entity_id FROM "${schema}".feature_values ORDER BY 1`);
      expect(got.rows.map((r) => r.entity_id)).toEqual(['before', 'x', 'y']);
    } finally {
      await locker.end();
      await sink!.close();
      await dropSchema(schema);
    }
  });
});
