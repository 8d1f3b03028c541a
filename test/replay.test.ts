/**
 * `featurestream replay` (issue 13): a live run writes version 1; a replay over an inner range
 * writes version 2 beside it. Every window that ends inside the range is equal in both, nothing
 * outside the range is written as v2 and v1 is untouched; a replay SIGKILLed after a checkpoint
 * and run again ends with the same rows as the uninterrupted one; `diff` summarises the two.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, lcg, offlineUrl, PG_URL, uniqueName, waitFor } from './stores-support.js';
import { runCli, startCli, tempDir } from './support.js';

const schema = uniqueName('fs_replay');
const pool = new pg.Pool({ connectionString: PG_URL });
const dir = tempDir('fs-replay-');
const input = join(dir, 'events.ndjson');
const START = Date.parse('2025-01-15T00:00:00Z');
const FROM = '2025-01-15T03:00:00Z';
const TO = '2025-01-15T05:00:00Z';
const MODELS = ['gpt-4o', 'claude-3-5-sonnet', 'llama-3-70b'];

/**
 * 7 hours of performance events, one every ~3 s with up to ±60 s of disorder, 1 % of them 4–8
 * minutes late (some within the windows' lateness, some beyond it: both late paths run).
 */
function writeEvents(): void {
  const rnd = lcg(13);
  const out: string[] = [];
  for (let i = 0; i < 8_400; i++) {
    let ts = START + i * 3_000 + Math.floor((rnd() - 0.5) * 120_000);
    if (rnd() < 0.01) ts -= 240_000 + Math.floor(rnd() * 240_000);
    const model = MODELS[Math.floor(rnd() * MODELS.length)]!;
    out.push(
      JSON.stringify({
        type: 'performance_metrics',
        id: `e-${i}`,
        timestamp: new Date(ts).toISOString(),
        request_id: `r-${i}`,
        model,
        config_id: null,
        latency_ms: Math.round(200 + rnd() * 3000),
        input_tokens: 100 + Math.floor(rnd() * 400),
        output_tokens: 50 + Math.floor(rnd() * 600),
        cost: Math.round(rnd() * 1e5) / 1e7,
        quality_score: Math.round(rnd() * 1000) / 1000,
        error: rnd() < 0.03 ? 'timeout' : null,
        metrics: { retries: 0, ttft_ms: Math.round(rnd() * 500) },
      }),
    );
  }
  writeFileSync(input, `${out.join('\n')}\n`);
}

interface StoredRow {
  feature_group: string;
  entity_id: string;
  version: number;
  window_start: Date | null;
  window_end: Date | null;
  event_time: Date;
  revision: number;
  values: Record<string, unknown>;
}

const rowsOf = async (version: number): Promise<StoredRow[]> =>
  (
    await pool.query<StoredRow>(
      `SELECT feature_group, entity_id, version, window_start, window_end, event_time, revision, "values"
         FROM ${schema}.feature_values WHERE version = $1
        ORDER BY feature_group, entity_id, window_end, event_time`,
      [version],
    )
  ).rows;
const strip = (rows: StoredRow[]) => rows.map(({ version: _v, ...rest }) => JSON.stringify({ ...rest }));

const replayArgs = (version: number, stateDir: string, extra: string[] = []) => [
  'replay',
  '--topology',
  'llm-perf',
  '--input',
  input,
  '--from',
  FROM,
  '--to',
  TO,
  '--feature-version',
  String(version),
  '--offline',
  offlineUrl(schema),
  '--state-dir',
  stateDir,
  '--workers',
  '1',
  ...extra,
];

let v1Before: StoredRow[] = [];

beforeAll(async () => {
  writeEvents();
  const live = await runCli([
    'run',
    '--topology',
    'llm-perf',
    '--input',
    input,
    '--out',
    join(dir, 'rows-v1.ndjson'),
    '--offline',
    offlineUrl(schema),
    '--workers',
    '1',
  ]);
  expect(live.code, live.stderr).toBe(0);
  v1Before = await rowsOf(1);
  const r = await runCli(replayArgs(2, join(dir, 'state-v2')));
  expect(r.code, r.stderr).toBe(0);
  // Not a terminal: plain progress lines.
  expect(r.stderr).toMatch(/replay: run: \d+% [\d,]+ events [\d,]+ events\/s eta/);
}, 240_000);

afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

describe('replay', () => {
  it('writes v2 for exactly the windows ending inside the range, equal to v1', async () => {
    const from = Date.parse(FROM);
    const to = Date.parse(TO);
    const v1 = await rowsOf(1);
    const v2 = await rowsOf(2);
    const inRange = v1.filter((r) => r.event_time.getTime() >= from && r.event_time.getTime() < to);
    // 2 h of 5-minute windows and 5-minute slides of the hourly window, for 3 models.
    expect(inRange.filter((r) => r.feature_group === 'perf_5min')).toHaveLength(24 * 3);
    expect(inRange.filter((r) => r.feature_group === 'perf_1hr')).toHaveLength(24 * 3);
    for (const r of v2) {
      expect(r.window_end!.getTime()).toBeGreaterThan(from);
      expect(r.window_end!.getTime()).toBeLessThanOrEqual(to);
    }
    expect(strip(v2)).toEqual(strip(inRange));
    // The windows outside the range are untouched: v1 is as the live run left it.
    expect(strip(v1)).toEqual(strip(v1Before));
    expect(v1.length).toBeGreaterThan(inRange.length);
    // The late events of the run really exercise revisions and the late path inside the range.
    expect(inRange.some((r) => r.revision > 0)).toBe(true);
  });

  it('registers v2 beside v1', async () => {
    const q = await pool.query<{ p: string }>(
      `SELECT feature_group || ':v' || version AS p FROM ${schema}.feature_group_versions ORDER BY 1`,
    );
    expect(q.rows.map((r) => r.p)).toEqual(['perf_1hr:v1', 'perf_1hr:v2', 'perf_5min:v1', 'perf_5min:v2']);
  });

  it('a replay killed after a checkpoint resumes to the same rows', async () => {
    const state = join(dir, 'state-v3');
    // Small batches, a checkpoint after each: the kill lands with most of the run still to do.
    const child = startCli(replayArgs(3, state, ['--checkpoint-interval', '0', '--batch-lines', '25']));
    await waitFor('a replay checkpoint', () =>
      existsSync(join(state, 'run', 'checkpoint.json')) ? true : undefined,
    );
    child.kill('SIGKILL');
    const killed = await child.result;
    expect(killed.signal).toBe('SIGKILL');
    const again = await runCli(replayArgs(3, state));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/scan reused/);
    // A resume from a checkpoint, not a finished run found again (that would prove nothing).
    expect(killed.stdout).not.toMatch(/featurestream replay/);
    expect(again.stdout).toMatch(/resumed from checkpoint \d+/);
    expect(again.stdout).not.toMatch(/already complete/);
    expect(strip(await rowsOf(3))).toEqual(strip(await rowsOf(2)));
  }, 120_000);

  it('diff: no change inside the range; outside it the rows are only in v1', async () => {
    const inside = await runCli([
      'diff',
      '--offline',
      offlineUrl(schema),
      '--group',
      'perf_5min',
      '--versions',
      '1,2',
      '--from',
      FROM,
      '--to',
      TO,
      '--json',
    ]);
    expect(inside.code, inside.stderr).toBe(0);
    const d = JSON.parse(inside.stdout) as {
      rowsA: number;
      rowsB: number;
      onlyA: number;
      features: { feature: string; paired: number; changed: number; meanAbsChange: number | null }[];
    };
    expect(d.rowsA).toBe(72);
    expect(d.rowsB).toBe(72);
    expect(d.onlyA).toBe(0);
    expect(d.features.length).toBeGreaterThan(5);
    for (const f of d.features) {
      expect(f.changed, f.feature).toBe(0);
      expect(f.paired).toBe(72);
    }
    const whole = await runCli([
      'diff',
      '--offline',
      offlineUrl(schema),
      '--group',
      'perf_5min',
      '--versions',
      '1,2',
      '--from',
      '2025-01-14',
      '--to',
      '2025-01-16',
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/only in v1: [1-9]\d*, only in v2: 0/);
    expect(whole.stdout).toMatch(/latency_p50_5min/);
    // One value changed in v3 (the resumed replay's copy of v2): counted, with its exact change.
    await pool.query(
      `UPDATE ${schema}.feature_values SET "values" = jsonb_set("values", '{latency_p50_5min}',
              to_jsonb(("values"->>'latency_p50_5min')::float8 + 12.5))
        WHERE ctid = (SELECT ctid FROM ${schema}.feature_values
                       WHERE version = 3 AND feature_group = 'perf_5min' ORDER BY event_time LIMIT 1)`,
    );
    const changed = await runCli([
      'diff',
      '--offline',
      offlineUrl(schema),
      '--group',
      'perf_5min',
      '--versions',
      '2,3',
      '--from',
      FROM,
      '--to',
      TO,
      '--json',
    ]);
    expect(changed.code, changed.stderr).toBe(0);
    const p50 = (JSON.parse(changed.stdout) as typeof d).features.find(
      (f) => f.feature === 'latency_p50_5min',
    )!;
    expect(p50).toMatchObject({ paired: 72, changed: 1 });
    expect(p50.meanAbsChange).toBeCloseTo(12.5 / 72, 9);
  });

  it('two replays cannot share a state dir', async () => {
    // The lock of a live holder (this test process) in the state dir: the replay must refuse it.
    const state = join(dir, 'state-locked');
    mkdirSync(state, { recursive: true });
    const stamp = { pid: process.pid, started: new Date().toISOString(), host: hostname() };
    writeFileSync(join(state, 'featurestream.lock'), `${JSON.stringify(stamp)}\n`);
    const r = await runCli(replayArgs(5, state));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(`replay state dir .*state-locked is in use by featurestream pid ${process.pid}`),
    );
    expect(existsSync(join(state, 'replay.json'))).toBe(false);
    expect(await rowsOf(5)).toEqual([]);
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const r = await runCli([...replayArgs(4, join(dir, 'state-v4')), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('reads         events with event time ≥ 2025-01-15T01:58:00.000Z');
    expect(existsSync(join(dir, 'state-v4'))).toBe(false);
    expect(await rowsOf(4)).toEqual([]);
  });

  it('export --version reads the chosen version', async () => {
    const r = await runCli([
      'export',
      '--offline',
      offlineUrl(schema),
      '--group',
      'perf_1hr',
      '--version',
      '2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows).toHaveLength(72);
    expect(rows.every((l) => JSON.parse(l).version === 2)).toBe(true);
  });
});
