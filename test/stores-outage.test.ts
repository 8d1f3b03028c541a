/**
 * Outage tests with the real stores (issue 4): a `featurestream run` whose Redis online store is
 * killed mid-run and restarted on the same port, or whose PostgreSQL backends are terminated
 * mid-write again and again, waits, retries and ends with the same stores as a run without
 * outage.
 *
 * The outages are driven by what the run does, not by the clock: Redis is killed once the run
 * has written a fifth of its rows, and comes back only after the run has reported the failed
 * write; PostgreSQL backends are terminated while they wait on a table lock the test holds (so
 * surely inside a write), then at random moments until the run ends.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLlmEvents } from '../src/domains/llm/generate/llm-stream.js';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { OfflineStore } from '../src/stores/offline-postgres.js';
import { PrivateRedis } from '../src/stores/private-redis.js';
import { llmFeatureSet } from '../src/domains/llm/feature-set.js';

const GROUP_TTL_SECONDS = llmFeatureSet().ttlSecondsByGroup;
import {
  DurableRedis,
  dropSchema,
  expectedOfflineRows,
  expectedOnline,
  expectOnlineEqual,
  expectSameSet,
  lcg,
  type OfflineTables,
  offlineUrl,
  type OnlineEntry,
  PG_URL,
  readFileRows,
  readOfflineTables,
  readOnline,
  uniqueName,
  waitFor,
} from './stores-support.js';
import { type CliResult, lines, runCli, sleep, startCli, summaryOf, tempDir } from './support.js';

const dir = tempDir('fs-stores-outage-');
const perfInput = join(dir, 'perf.ndjson.gz');
const llmInput = join(dir, 'llm.ndjson.gz');
const PERF_FLAGS = ['--checkpoint-interval', '50', '--batch-lines', '512'];
const LLM_FLAGS = ['--checkpoint-interval', '200', '--batch-lines', '256'];
const schemas: string[] = [];
let redis: PrivateRedis;
let admin: pg.Pool;

/** The uninterrupted llm-perf run every outage is compared with. */
let perfClean: {
  rowsPath: string;
  rows: string[];
  tables: OfflineTables;
  online: Map<string, OnlineEntry>;
  result: CliResult;
};

beforeAll(async () => {
  redis = await PrivateRedis.start();
  admin = new pg.Pool({ connectionString: PG_URL, max: 3, application_name: 'fs-h8-outage-admin' });
  await writePerfEvents(perfInput, {
    events: 100_000,
    seed: 11,
    models: 6,
    disorderMs: 150_000,
    lateFraction: 0.005,
    badFraction: 0.0005,
  });
  await writeLlmEvents(llmInput, { events: 8_000, seed: 9 });
  const clean = perfRun('clean', `${redis.url}/1`);
  const result = await runCli(clean.args);
  expect(result.code, result.stderr).toBe(0);
  perfClean = {
    rowsPath: clean.rows,
    rows: lines(clean.rows),
    tables: await readOfflineTables(admin, clean.schema),
    online: await readOnline(clean.online),
    result,
  };
  // The reference itself: PostgreSQL holds the file's rows, Redis their newest per key.
  expectSameSet(
    perfClean.tables.features,
    expectedOfflineRows(readFileRows(clean.rows)),
    'clean feature_values',
  );
  expectOnlineEqual(perfClean.online, expectedOnline(readFileRows(clean.rows)), 'clean Redis');
}, 180_000);

afterAll(async () => {
  for (const s of schemas) await dropSchema(admin, s).catch(() => {});
  await admin?.end();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly rows: string;
  readonly schema: string;
  readonly appName: string;
  readonly online: string;
  readonly args: string[];
}

function makeRun(
  topology: string,
  input: string,
  flags: readonly string[],
  tag: string,
  online: string,
  embeddingCache: string | null,
): Run {
  const base = join(dir, `${topology}-${tag}`);
  const schema = uniqueName(`h8_${tag}`);
  const appName = uniqueName('fs_h8_app');
  schemas.push(schema);
  return {
    rows: `${base}-rows.ndjson`,
    schema,
    appName,
    online,
    args: [
      'run',
      '--topology',
      topology,
      '--input',
      input,
      '--out',
      `${base}-rows.ndjson`,
      '--dead-letters',
      `${base}-dl.ndjson`,
      '--late-events',
      `${base}-late.ndjson`,
      '--state-dir',
      `${base}-state`,
      '--online',
      online,
      '--offline',
      offlineUrl(schema, appName),
      '--workers',
      '2',
      ...(embeddingCache === null ? [] : ['--embedding-cache', embeddingCache]),
      ...flags,
      '--summary-json',
    ],
  };
}

const perfRun = (tag: string, online: string) =>
  makeRun('llm-perf', perfInput, PERF_FLAGS, tag, online, null);

/** Starts a run and keeps its stderr readable while it runs. */
function startWatched(args: readonly string[]) {
  const child = startCli(args);
  let stderr = '';
  child.stderr?.on('data', (d: string) => {
    stderr += d;
  });
  return Object.assign(child, { stderrSoFar: () => stderr });
}

/**
 * Kills Redis once the run has put a fifth of the clean run's rows (by bytes) in its file sink,
 * keeps it down until the run has logged a failed online write (and 2 s more), then restarts it
 * on the same port. Returns the run's result.
 */
async function redisOutage(
  args: readonly string[],
  rowsPath: string,
  cleanRowsPath: string,
  server: { stop(): Promise<void>; start(): Promise<void> },
): Promise<CliResult> {
  const child = startWatched(args);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const target = Math.max(1, Math.floor(statSync(cleanRowsPath).size / 5));
  try {
    await waitFor('the run to write a fifth of its rows', () => {
      expect(exited(), `the run ended before the outage: ${child.stderrSoFar()}`).toBe(false);
      return existsSync(rowsPath) && statSync(rowsPath).size >= target ? true : undefined;
    });
    await server.stop();
    await waitFor('the run to report the online store unreachable', () => {
      expect(exited(), `the run ended while Redis was down: ${child.stderrSoFar()}`).toBe(false);
      return /"sink":"online:redis".*store unreachable; retrying/.test(child.stderrSoFar())
        ? true
        : undefined;
    });
    await sleep(2_000);
    // Still blocked: the run cannot finish while its online writes fail.
    expect(exited(), `the run ended while Redis was down: ${child.stderrSoFar()}`).toBe(false);
  } catch (err) {
    child.kill('SIGKILL'); // it would wait for Redis forever
    await server.start();
    throw err;
  }
  await server.start();
  const result = await child.result;
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** A key may be missing from Redis when its group's TTL is shorter than the run has been going. */
function expiredSince(started: number): (key: string) => boolean {
  return (key) => {
    const ttl = GROUP_TTL_SECONDS[key.split(':').at(-2) ?? ''];
    return ttl !== undefined && ttl * 1000 < Date.now() - started;
  };
}

describe('store outages during `featurestream run`', () => {
  it('Redis killed mid-run and restarted empty on its port: the run waits, retries and leaves the newest row of every entity/group', async () => {
    const run = perfRun('redis-outage', `${redis.url}/2`);
    const result = await redisOutage(run.args, run.rows, perfClean.rowsPath, redis);
    expectSameSet(lines(run.rows), perfClean.rows, 'file rows');
    // The restarted server lost everything written before the outage; what the run wrote after
    // it must still be the newest row of every (entity, group): llm-perf fires every model's
    // last windows at the end of the input.
    const online = await readOnline(run.online);
    expectOnlineEqual(online, expectedOnline(readFileRows(run.rows)), 'Redis after the outage');
    expectOnlineEqual(online, perfClean.online, 'Redis vs the run without outage');
    const tables = await readOfflineTables(admin, run.schema);
    expectSameSet(tables.features, perfClean.tables.features, 'feature_values');
    expect(summaryOf(result).rowsWritten).toBe(summaryOf(perfClean.result).rowsWritten);
  }, 180_000);

  it('Redis (with persistence) killed mid-run and restarted: llm-features leaves every key equal to a run without outage', async () => {
    const durable = await DurableRedis.start();
    try {
      const cache = join(dir, 'embeddings');
      const t0 = Date.now();
      const clean = makeRun('llm-features', llmInput, LLM_FLAGS, 'llm_clean', durable.url(1), cache);
      const cleanResult = await runCli(clean.args);
      expect(cleanResult.code, cleanResult.stderr).toBe(0);
      const cleanOnline = await readOnline(clean.online);

      const t1 = Date.now();
      const run = makeRun('llm-features', llmInput, LLM_FLAGS, 'llm_outage', durable.url(2), cache);
      await redisOutage(run.args, run.rows, clean.rows, durable);
      expectSameSet(lines(run.rows), lines(clean.rows), 'file rows');
      const expected = expectedOnline(readFileRows(run.rows));
      const online = await readOnline(run.online);
      // Every request, session and user key written before, during and after the outage.
      expectOnlineEqual(online, expected, 'Redis after the outage', expiredSince(t1));
      expectOnlineEqual(cleanOnline, expected, 'Redis without outage', expiredSince(t0));
      const tables = await readOfflineTables(admin, run.schema);
      const cleanTables = await readOfflineTables(admin, clean.schema);
      expectSameSet(tables.features, cleanTables.features, 'feature_values');
      expectSameSet(tables.deadLetters, cleanTables.deadLetters, 'dead_letters');
    } finally {
      await durable.destroy();
    }
  }, 300_000);

  it('PostgreSQL backends terminated mid-write, again and again: the run completes and the tables equal a run without outage', async () => {
    const run = perfRun('pg-outage', `${redis.url}/3`);
    // Migrated beforehand, so the test can lock the tables before the run starts.
    const store = await OfflineStore.open(offlineUrl(run.schema, uniqueName('fs_h8_migrate')));
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
    const s = `"${run.schema}"`;
    const terminate = async (onlyWaiting: boolean): Promise<number> => {
      const r = await admin.query(
        `SELECT count(*)::int AS n FROM (
           SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = $1 ${onlyWaiting ? "AND wait_event_type = 'Lock'" : ''}) k`,
        [run.appName],
      );
      return r.rows[0].n as number;
    };
    const locker = await admin.connect();
    let child: ReturnType<typeof startWatched> | null = null;
    let midWrite = 0;
    let anywhere = 0;
    try {
      await locker.query('BEGIN');
      await locker.query(
        `LOCK TABLE ${s}.feature_values, ${s}.dead_letters, ${s}.late_events IN ACCESS EXCLUSIVE MODE`,
      );
      const c = startWatched(run.args);
      child = c;
      const exited = () => c.exitCode !== null || c.signalCode !== null;
      // Three times: the run's write waits on our lock, inside its transaction; kill its backend
      // there. The retry comes back on a new connection and waits again.
      for (let i = 0; i < 3; i++) {
        midWrite += await waitFor('a write of the run to wait on the lock', async () => {
          expect(exited(), `the run ended while its tables were locked: ${c.stderrSoFar()}`).toBe(false);
          const n = await terminate(true);
          return n > 0 ? n : undefined;
        });
      }
      await locker.query('COMMIT');
      // Then at seeded random moments until the run ends, whatever the backends are doing.
      const rand = lcg(2024);
      while (!exited()) {
        await Promise.race([c.result, sleep(100 + rand() * 400)]);
        if (!exited()) anywhere += await terminate(false);
      }
    } catch (err) {
      child?.kill('SIGKILL');
      throw err;
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      locker.release();
    }
    const result = await child!.result;
    expect(result.code, result.stderr).toBe(0);
    expect(midWrite).toBeGreaterThanOrEqual(3);
    expect(result.stderr).toMatch(/"sink":"offline:postgres".*store unreachable; retrying/);
    console.info(`pg outage: ${midWrite} backends killed mid-write, ${anywhere} more at random moments`);

    expectSameSet(lines(run.rows), perfClean.rows, 'file rows');
    const tables = await readOfflineTables(admin, run.schema);
    expectSameSet(tables.features, perfClean.tables.features, 'feature_values');
    expectSameSet(tables.deadLetters, perfClean.tables.deadLetters, 'dead_letters');
    expectSameSet(tables.late, perfClean.tables.late, 'late_events');
    expectOnlineEqual(await readOnline(run.online), perfClean.online, 'Redis');
  }, 180_000);
});
