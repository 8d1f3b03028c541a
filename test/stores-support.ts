/**
 * Helpers for the end-to-end store tests (`stores-crash.test.ts`, `stores-outage.test.ts`): read
 * back what a `featurestream run` left in PostgreSQL and Redis, derive what it should have left
 * from the file sink, SIGKILL a run at seeded random moments, and a Redis that keeps its data
 * across a SIGKILL (for outages whose restart must not lose what was acknowledged).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { freePort, waitForPort } from '../src/shared/free-port.js';
import { join } from 'node:path';
import { setTimeout as setTimeoutP } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { expect } from 'vitest';
import { type CliResult, lines, sleep, startCli, tempDir } from './support.js';

/** The shared PostgreSQL (tests use schemas of their own). */
export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A name unique to this process and call, usable as a PostgreSQL schema or application_name
 * (anything but letters, digits and `_` in `prefix` becomes `_`).
 */
export function uniqueName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_]/g, '_')}_${process.pid}_${randomUUID().slice(0, 8)}`;
}

/**
 * The `--offline` URL of a schema, with an `application_name` so the test can find (and
 * terminate) the run's backends in `pg_stat_activity`.
 *
 * @example
 * offlineUrl('h8_crash_1', 'h8app') // 'postgres://postgres@127.0.0.1:5432/test?schema=h8_crash_1&application_name=h8app'
 */
export function offlineUrl(schema: string, applicationName = schema): string {
  return `${PG_URL}?schema=${schema}&application_name=${applicationName}`;
}

/** Drops a test schema (and everything in it). */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** A seeded PRNG (the same LCG as test/crash.test.ts), so a failing run can be replayed. */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 120_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** JSON with object keys sorted at every level, so equal values print equal. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** One line of the file sink (`--out`). */
export interface FileRow {
  readonly group: string;
  readonly entity_type: string;
  readonly entity_id: string;
  readonly version: number;
  readonly window_start: string | null;
  readonly window_end: string | null;
  readonly event_time: string;
  readonly revision: number;
  readonly provisional?: boolean;
  readonly values: Record<string, number | null>;
}

/** The rows of a file sink. */
export function readFileRows(path: string): FileRow[] {
  return lines(path).map((l) => JSON.parse(l) as FileRow);
}

const iso = (t: string | Date | null): string | null => (t === null ? null : new Date(t).toISOString());

/** A feature row as compared across stores: the columns of the brief, values canonical. */
function rowTuple(r: {
  group: string;
  entity_type: string;
  entity_id: string;
  version: number;
  window_start: string | Date | null;
  window_end: string | Date | null;
  event_time: string | Date;
  revision: number;
  values: unknown;
}): string {
  return canonicalJson([
    r.group,
    r.entity_type,
    r.entity_id,
    r.version,
    iso(r.window_start),
    iso(r.window_end),
    iso(r.event_time),
    r.revision,
    r.values,
  ]);
}

/**
 * What `feature_values` must hold after a run whose file sink holds `rows`: the final rows (no
 * provisional early firings), one per unique key — (group, entity, version, window_end,
 * event_time) — with the highest revision. As canonical tuples, sorted.
 */
export function expectedOfflineRows(rows: readonly FileRow[]): string[] {
  const best = new Map<string, FileRow>();
  for (const r of rows) {
    if (r.provisional === true) continue;
    const key = canonicalJson([
      r.group,
      r.entity_type,
      r.entity_id,
      r.version,
      iso(r.window_end),
      iso(r.event_time),
    ]);
    const prev = best.get(key);
    if (prev === undefined || r.revision > prev.revision) best.set(key, r);
  }
  return [...best.values()].map(rowTuple).sort();
}

/** The three tables of the offline store, each as sorted canonical tuples. */
export interface OfflineTables {
  readonly features: string[];
  readonly deadLetters: string[];
  readonly late: string[];
}

/**
 * Reads `feature_values` as (group, entity_type, entity_id, version, window_start, window_end,
 * event_time, revision, values), `dead_letters` as (source, position, line, reason, detail,
 * payload) and `late_events` as (source, position, line, operator_id, feature_group, event_time,
 * payload) — sorted canonical tuples, duplicates kept (a duplicate would show in the counts).
 */
export async function readOfflineTables(pool: pg.Pool, schema: string): Promise<OfflineTables> {
  const s = `"${schema}"`;
  const fv = await pool.query(
    `SELECT feature_group AS group, entity_type, entity_id, version, window_start, window_end,
            event_time, revision, "values" FROM ${s}.feature_values`,
  );
  const dl = await pool.query(
    `SELECT source, position::text AS position, line, reason, detail, payload FROM ${s}.dead_letters`,
  );
  const late = await pool.query(
    `SELECT source, position::text AS position, line, operator_id, feature_group, event_time, payload
       FROM ${s}.late_events`,
  );
  return {
    features: fv.rows.map(rowTuple).sort(),
    deadLetters: dl.rows
      .map((r) => canonicalJson([r.source, r.position, r.line, r.reason, r.detail, r.payload]))
      .sort(),
    late: late.rows
      .map((r) =>
        canonicalJson([
          r.source,
          r.position,
          r.line,
          r.operator_id,
          r.feature_group,
          iso(r.event_time),
          r.payload,
        ]),
      )
      .sort(),
  };
}

/**
 * The file sinks' dead letters and late events in the shape the offline tables can be checked
 * against (the columns both have): dead letters as (line, offset, reason, detail, raw), late
 * events as (line, window, group, event_time, raw).
 */
export function fileSideOutputs(dlPath: string, latePath: string): { deadLetters: string[]; late: string[] } {
  return {
    deadLetters: lines(dlPath)
      .map((l) => {
        const d = JSON.parse(l);
        return canonicalJson([d.line, String(d.offset), d.reason, d.detail, d.raw]);
      })
      .sort(),
    late: lines(latePath)
      .map((l) => {
        const d = JSON.parse(l);
        return canonicalJson([d.line, d.window, d.group, iso(d.event_time), d.raw]);
      })
      .sort(),
  };
}

/** The same projection of {@link readOfflineTables}' side outputs as {@link fileSideOutputs}. */
export function projectSideOutputs(t: OfflineTables): { deadLetters: string[]; late: string[] } {
  return {
    deadLetters: t.deadLetters
      .map((s) => {
        const [, position, line, reason, detail, payload] = JSON.parse(s);
        return canonicalJson([line, position, reason, detail, payload]);
      })
      .sort(),
    late: t.late
      .map((s) => {
        const [, , line, op, group, et, payload] = JSON.parse(s);
        return canonicalJson([line, op, group, et, payload]);
      })
      .sort(),
  };
}

/** One online vector as compared: event time, revision, provisional flag and values. */
export interface OnlineEntry {
  readonly eventTime: number;
  readonly revision: number;
  readonly provisional: boolean;
  readonly values: Record<string, number | null>;
}

/** `feature:{entity_type}:{entity_id}:{group}:v{version}`, the Redis online store's key. */
export function onlineKey(r: Pick<FileRow, 'entity_type' | 'entity_id' | 'group' | 'version'>): string {
  return `feature:${r.entity_type}:${r.entity_id}:${r.group}:v${r.version}`;
}

/**
 * What the online store must hold after a run whose file sink holds `rows`: for every (entity,
 * group, version) the newest row — greatest event time, then revision, a final row over a
 * provisional one of the same event time and revision — keyed by its Redis key.
 */
export function expectedOnline(rows: readonly FileRow[]): Map<string, OnlineEntry> {
  const out = new Map<string, OnlineEntry>();
  for (const r of rows) {
    const e: OnlineEntry = {
      eventTime: Date.parse(r.event_time),
      revision: r.revision,
      provisional: r.provisional === true,
      values: r.values,
    };
    const k = onlineKey(r);
    const cur = out.get(k);
    if (
      cur === undefined ||
      e.eventTime > cur.eventTime ||
      (e.eventTime === cur.eventTime &&
        (e.revision > cur.revision || (e.revision === cur.revision && cur.provisional && !e.provisional)))
    ) {
      out.set(k, e);
    }
  }
  return out;
}

/** Every `feature:*` hash of a Redis database (a `redis://HOST:PORT/DB` URL), parsed. */
export async function readOnline(url: string): Promise<Map<string, OnlineEntry>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', 'feature:*', 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const out = new Map<string, OnlineEntry>();
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const p = redis.pipeline();
      for (const k of chunk) p.hgetall(k);
      const res = (await p.exec()) ?? [];
      chunk.forEach((k, j) => {
        const [err, hash] = res[j] ?? [new Error('no reply'), null];
        if (err) throw err;
        const h = hash as Record<string, string>;
        if (h._event_time === undefined) return; // expired between SCAN and HGETALL
        const values: Record<string, number | null> = {};
        for (const [f, v] of Object.entries(h)) {
          if (f.startsWith('_')) continue;
          values[f] = v === '' ? null : Number(v);
        }
        out.set(k, {
          eventTime: Number(h._event_time),
          revision: Number(h._revision ?? 0),
          provisional: h._provisional === '1',
          values,
        });
      });
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/** An online entry as one comparable string (values with sorted keys; non-finite as null). */
function entryString(e: OnlineEntry): string {
  const values: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(e.values)) values[k] = v === null || !Number.isFinite(v) ? null : v;
  return canonicalJson({ eventTime: e.eventTime, revision: e.revision, provisional: e.provisional, values });
}

/**
 * Asserts that `actual` (read from Redis) holds exactly `expected`: the same keys, and per key the
 * same `_event_time`, revision and values. A key may be missing only when `mayHaveExpired(key)`
 * (its group's TTL is shorter than the test has been running); a key present must be equal.
 * Returns how many keys were let off as expired.
 */
export function expectOnlineEqual(
  actual: ReadonlyMap<string, OnlineEntry>,
  expected: ReadonlyMap<string, OnlineEntry>,
  what: string,
  mayHaveExpired: (key: string) => boolean = () => false,
): number {
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  expect(extra, `${what}: keys in Redis that no row explains`).toEqual([]);
  const absent = [...expected.keys()].filter((k) => !actual.has(k));
  const missing = absent.filter((k) => !mayHaveExpired(k));
  expect(missing, `${what}: keys missing from Redis`).toEqual([]);
  const wrong: string[] = [];
  for (const [k, a] of actual) {
    const e = expected.get(k)!;
    if (entryString(a) !== entryString(e))
      wrong.push(`${k}\n  redis:    ${entryString(a)}\n  expected: ${entryString(e)}`);
  }
  expect(wrong.slice(0, 5), `${what}: ${wrong.length} keys differ from the latest row`).toEqual([]);
  expect(actual.size, `${what}: key count`).toBeGreaterThan(0);
  return absent.length;
}

/** Asserts two lists are the same multiset and hold no duplicate. */
export function expectSameSet(actual: readonly string[], expected: readonly string[], what: string): void {
  expect(new Set(actual).size, `${what}: duplicates`).toBe(actual.length);
  expect(actual.length, `${what}: count`).toBe(expected.length);
  expect([...actual].sort(), what).toEqual([...expected].sort());
}

/** The id of the last checkpoint committed in a state dir (0 when none). */
export function committedCheckpoint(stateDir: string): number {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'checkpoint.json'), 'utf8')) as { id: number }).id;
  } catch {
    return 0; // none yet (the record is replaced by rename: never read half-written)
  }
}

/** A finished uninterrupted run, with how long it took and when it first committed. */
export interface TimedRun {
  readonly result: CliResult;
  readonly ms: number;
  /** Time from spawn to the first committed checkpoint (start-up: stores, pool, models). */
  readonly firstCheckpointMs: number;
}

/** Runs `featurestream run ARGS` to its end, timing it and its first checkpoint in `stateDir`. */
export async function timedRun(args: readonly string[], stateDir: string): Promise<TimedRun> {
  const t0 = Date.now();
  const child = startCli(args);
  let first: number | null = null;
  let exited = false;
  const watch = waitFor('the first checkpoint', () => {
    if (first === null && committedCheckpoint(stateDir) > 0) first = Date.now() - t0;
    return first !== null || exited ? true : undefined;
  });
  const result = await child.result;
  exited = true;
  await watch;
  const ms = Date.now() - t0;
  return { result, ms, firstCheckpointMs: first ?? ms };
}

/** Options of {@link runWithKills}. */
export interface KillPlan {
  /** The CLI arguments of attempt `n` (0-based). */
  readonly args: (attempt: number) => string[];
  /** The runs' `--state-dir`, watched for committed checkpoints. */
  readonly stateDir: string;
  /** The uninterrupted run of the same job (the kill moments scale with it). */
  readonly clean: TimedRun;
  /** Kills after progress (see {@link runWithKills}). */
  readonly kills: number;
  readonly seed: number;
  readonly maxAttempts?: number;
}

/** What {@link runWithKills} did. */
export interface KilledRun {
  /** Kills that landed after the attempt had committed a checkpoint. */
  readonly kills: number;
  /** The result of the attempt that finished. */
  readonly final: CliResult;
}

/**
 * Runs `featurestream run`, SIGKILLing it at seeded random moments, and restarts it until it
 * finishes. The first attempt is killed during start-up: at a random moment before the clean run's
 * first checkpoint (stores being opened and migrated, the registry synced, the pool and models
 * loaded). Each of the next `kills` attempts is killed at a random moment after it has committed a
 * checkpoint of its own — so every kill lands in the middle of processing (between checkpoints,
 * during sink writes, during a commit) and the job surely advances — at most a `(kills + 2)`th of
 * the clean run's processing time later, so the kills land before the end. The attempt after
 * them runs to its end.
 */
export async function runWithKills(plan: KillPlan): Promise<KilledRun> {
  const rand = lcg(plan.seed);
  const budget = Math.max(100, plan.clean.ms - plan.clean.firstCheckpointMs) / (plan.kills + 2);
  let kills = 0;
  for (let attempt = 0; attempt < (plan.maxAttempts ?? 40); attempt++) {
    const before = committedCheckpoint(plan.stateDir);
    const child = startCli(plan.args(attempt));
    const exited = () => child.exitCode !== null || child.signalCode !== null;
    const abort = new AbortController();
    const wait = (ms: number) => setTimeoutP(ms, null, { signal: abort.signal });
    let moment: Promise<null> | null = null;
    if (attempt === 0) moment = wait(rand() * plan.clean.firstCheckpointMs);
    else if (kills < plan.kills) {
      moment = waitFor(
        'a checkpoint of this attempt',
        () => (exited() || committedCheckpoint(plan.stateDir) > before ? true : undefined),
        600_000,
        10,
      ).then(() => wait(rand() * budget));
    }
    const done = await Promise.race([child.result, ...(moment === null ? [] : [moment])]);
    abort.abort();
    moment?.catch(() => {}); // aborted
    if (done !== null) {
      expect(done.code, done.stderr).toBe(0);
      return { kills, final: done };
    }
    child.kill('SIGKILL');
    const r = await child.result;
    if (r.signal !== 'SIGKILL') {
      // It finished just before the kill.
      expect(r.code, r.stderr).toBe(0);
      return { kills, final: r };
    }
    if (attempt > 0) kills++;
  }
  throw new Error(`no attempt finished in ${plan.maxAttempts ?? 40}`);
}

/**
 * A redis-server of the test's own on a free port that keeps its data across a SIGKILL: AOF with
 * `appendfsync always`, so every write it acknowledged is on disk before the reply. `stop()`
 * SIGKILLs it (an outage), `start()` brings it back on the same port with its data — a real
 * Redis restart, unlike `src/stores/private-redis.ts` whose restart is empty.
 *
 * @example
 * const redis = await DurableRedis.start();
 * await redis.stop();  // outage
 * await redis.start(); // back, data intact
 * await redis.destroy();
 */
export class DurableRedis {
  private proc: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** Starts a server on a free port with its files in a new temp dir. */
  static async start(): Promise<DurableRedis> {
    const r = new DurableRedis(await freePort(), tempDir('fs-redis-'));
    await r.start();
    return r;
  }

  /** `redis://127.0.0.1:PORT/DB`. */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  /** Starts (again) on the same port, with the data it had, and waits until it listens. */
  async start(): Promise<void> {
    if (this.proc !== null && this.proc.exitCode === null) return;
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    this.proc = proc;
    await waitForPort(this.port, 'redis-server');
    // Listening precedes loading the AOF: wait until it answers commands.
    const probe = new Redis(this.url(), { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await waitFor(
        'redis-server to load its data',
        async () => {
          try {
            if (probe.status !== 'ready') await probe.connect();
            return (await probe.ping()) === 'PONG' ? true : undefined;
          } catch {
            return undefined;
          }
        },
        20_000,
        50,
      );
    } finally {
      probe.disconnect();
    }
  }

  /** Stops the server for good and removes its files. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** SIGKILLs the server (what it acknowledged is kept on disk). */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (proc === null || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }
}
