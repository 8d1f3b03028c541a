/**
 * Crash test with the real stores (issue 4): `featurestream run --online redis://… --offline
 * postgres://…` SIGKILLed at seeded random moments and restarted with the same --state-dir until
 * it finishes leaves PostgreSQL (`feature_values`, `dead_letters`, `late_events`) equal to an
 * uninterrupted run's, and Redis holding, for every (entity, group), the newest row of the file
 * sink.
 *
 * Kills (see `runWithKills`): one during start-up, then N at seeded random moments after each
 * attempt has committed a checkpoint of its own, so every restart resumes mid-job and replays
 * from its checkpoint rows the stores may already hold (written before the kill, not committed).
 *
 * Each scenario runs twice against its own stores: an uninterrupted run (PostgreSQL schema A,
 * Redis DB a) and the killed one (schema B, DB b), on a private redis-server and throwaway
 * schemas of the shared PostgreSQL.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLlmEvents } from '../src/domains/llm/generate/llm-stream.js';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { PrivateRedis } from '../src/stores/private-redis.js';
import { llmFeatureSet } from '../src/domains/llm/feature-set.js';

const GROUP_TTL_SECONDS = llmFeatureSet().ttlSecondsByGroup;
import {
  dropSchema,
  expectedOfflineRows,
  expectedOnline,
  expectOnlineEqual,
  expectSameSet,
  fileSideOutputs,
  offlineUrl,
  PG_URL,
  projectSideOutputs,
  readFileRows,
  readOfflineTables,
  readOnline,
  runWithKills,
  timedRun,
  uniqueName,
} from './stores-support.js';
import { lines, summaryOf, tempDir } from './support.js';

const dir = tempDir('fs-stores-crash-');
const perfInput = join(dir, 'perf.ndjson.gz');
const llmInput = join(dir, 'llm.ndjson.gz');
const schemas: string[] = [];
let redis: PrivateRedis;
let admin: pg.Pool;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  admin = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'fs-h8-crash-admin' });
  await writePerfEvents(perfInput, {
    events: 100_000,
    seed: 3,
    models: 6,
    disorderMs: 150_000,
    lateFraction: 0.005,
    badFraction: 0.0005,
  });
  await writeLlmEvents(llmInput, { events: 8_000, seed: 5 });
}, 120_000);

afterAll(async () => {
  for (const s of schemas) await dropSchema(admin, s).catch(() => {});
  await admin?.end();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Scenario {
  readonly topology: 'llm-perf' | 'llm-features';
  readonly input: string;
  /** Extra CLI flags (batching, checkpoint interval). */
  readonly flags: readonly string[];
  readonly kills: number;
  readonly seed: number;
  /** Redis databases of the clean and the killed run. */
  readonly dbs: readonly [number, number];
  /** Give each run its own prompt-embedding cache. */
  readonly embeddingCache: boolean;
}

interface RunPaths {
  readonly tag: string;
  readonly rows: string;
  readonly dl: string;
  readonly late: string;
  readonly schema: string;
  readonly online: string;
  readonly stateDir: string;
  args(workers: number): string[];
}

function runPaths(s: Scenario, tag: string, db: number): RunPaths {
  const base = join(dir, `${s.topology}-${tag}`);
  const schema = uniqueName(`h8_${tag}`);
  schemas.push(schema);
  const online = `${redis.url}/${db}`;
  const rows = `${base}-rows.ndjson`;
  const dl = `${base}-dl.ndjson`;
  const late = `${base}-late.ndjson`;
  return {
    tag,
    rows,
    dl,
    late,
    schema,
    online,
    stateDir: `${base}-state`,
    args: (workers) => [
      'run',
      '--topology',
      s.topology,
      '--input',
      s.input,
      '--out',
      rows,
      '--dead-letters',
      dl,
      '--late-events',
      late,
      '--state-dir',
      `${base}-state`,
      '--online',
      online,
      '--offline',
      offlineUrl(schema),
      '--workers',
      String(workers),
      ...(s.embeddingCache ? ['--embedding-cache', `${base}-embeddings`] : []),
      ...s.flags,
      '--summary-json',
    ],
  };
}

/** A key may be missing from Redis when its group's TTL is shorter than the run has been going. */
function expiredSince(started: number): (key: string) => boolean {
  return (key) => {
    const group = key.split(':').at(-2) ?? '';
    const ttl = GROUP_TTL_SECONDS[group];
    return ttl !== undefined && ttl * 1000 < Date.now() - started;
  };
}

async function crashScenario(s: Scenario): Promise<void> {
  const clean = runPaths(s, 'clean', s.dbs[0]);
  const crash = runPaths(s, 'crash', s.dbs[1]);

  const t0 = Date.now();
  const timed = await timedRun(clean.args(2), clean.stateDir);
  const cleanRun = timed.result;
  expect(cleanRun.code, cleanRun.stderr).toBe(0);

  const t1 = Date.now();
  const { kills, final } = await runWithKills({
    args: (attempt) => crash.args(attempt % 2 === 0 ? 2 : 1),
    stateDir: crash.stateDir,
    clean: timed,
    kills: s.kills,
    seed: s.seed,
  });
  expect(kills).toBeGreaterThanOrEqual(s.kills);
  expect(summaryOf(final).resumedFrom, 'the last attempt resumed from a checkpoint').not.toBeNull();

  // The file sinks first: the engine's own guarantee, on which the store expectations rest.
  expectSameSet(lines(crash.rows), lines(clean.rows), 'file rows');
  const a = summaryOf(cleanRun);
  const b = summaryOf(final);
  expect(b.eventsRead).toBe(a.eventsRead);
  expect(b.rowsWritten).toBe(a.rowsWritten);
  expect(b.deadLetters).toBe(a.deadLetters);
  expect(b.lateEvents).toBe(a.lateEvents);

  // PostgreSQL: the killed run's tables equal the uninterrupted run's, which hold the file's rows.
  const cleanTables = await readOfflineTables(admin, clean.schema);
  const crashTables = await readOfflineTables(admin, crash.schema);
  const fileRows = readFileRows(clean.rows);
  expectSameSet(cleanTables.features, expectedOfflineRows(fileRows), 'clean: feature_values vs file rows');
  expect(cleanTables.features.length).toBeGreaterThan(0);
  expect(cleanTables.deadLetters.length).toBeGreaterThan(0);
  expectSameSet(crashTables.features, cleanTables.features, 'feature_values');
  expectSameSet(crashTables.deadLetters, cleanTables.deadLetters, 'dead_letters');
  expectSameSet(crashTables.late, cleanTables.late, 'late_events');
  expect(crashTables.deadLetters.length).toBe(a.deadLetters);
  expect(crashTables.late.length).toBe(a.lateEvents);
  const files = fileSideOutputs(crash.dl, crash.late);
  const stored = projectSideOutputs(crashTables);
  expectSameSet(stored.deadLetters, files.deadLetters, 'dead_letters vs the dead-letter file');
  expectSameSet(stored.late, files.late, 'late_events vs the late-event file');

  // Redis: the newest row of every (entity, group) — and the same as the uninterrupted run's.
  const expected = expectedOnline(readFileRows(crash.rows));
  const expired = expectOnlineEqual(await readOnline(crash.online), expected, 'killed run', expiredSince(t1));
  expectOnlineEqual(await readOnline(clean.online), expected, 'clean run', expiredSince(t0));
  console.info(
    `${s.topology}: a start-up kill and ${kills} more; the last attempt resumed from checkpoint ${b.resumedFrom}; ` +
      `${cleanTables.features.length} feature_values, ${cleanTables.deadLetters.length} dead letters, ` +
      `${cleanTables.late.length} late events, ${expected.size} Redis keys (${expired} expired by TTL)`,
  );
}

describe('crash and restore with the PostgreSQL and Redis stores', () => {
  it('llm-perf, 100k events, SIGKILLed ≥ 3 times: stores equal an uninterrupted run', async () => {
    await crashScenario({
      topology: 'llm-perf',
      input: perfInput,
      flags: ['--checkpoint-interval', '50', '--batch-lines', '512'],
      kills: 3,
      seed: 4242,
      dbs: [1, 2],
      embeddingCache: false,
    });
  }, 240_000);

  it('llm-features (all groups), 8k events, SIGKILLed twice: stores equal an uninterrupted run', async () => {
    await crashScenario({
      topology: 'llm-features',
      input: llmInput,
      flags: ['--checkpoint-interval', '200', '--batch-lines', '256'],
      kills: 2,
      seed: 777,
      dbs: [3, 4],
      embeddingCache: true,
    });
  }, 300_000);
});
