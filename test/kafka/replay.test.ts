/**
 * `featurestream replay --kafka` (issue 13) against the project's test broker (test/kafka/mockbroker): a live
 * `run --kafka` writes version 1 and commits its group's offsets; a replay over an inner range
 * reads the topic from offsets found by timestamp, in its own consumer group, and writes version
 * 2. Every window ending inside the range equals version 1, nothing outside it is written as
 * version 2, version 1 is untouched, and the live group's committed offsets are the same before
 * and after (admin `fetchOffsets`). A replay SIGKILLed after a checkpoint resumes to the same rows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, lcg, offlineUrl, PG_URL, uniqueName, waitFor } from '../stores-support.js';
import { runCli, startCli, tempDir } from '../support.js';
import { KAFKA_ENTRY, produce, startBroker, startRunner, type TestBroker, testKafka } from './broker.js';

const schema = uniqueName('fs_kreplay');
const pool = new pg.Pool({ connectionString: PG_URL });
const dir = tempDir('fs-kafka-replay-');
const TOPIC = 'perf-events';
const GROUP = 'live-perf';
const START = Date.parse('2025-01-15T00:00:00Z');
const FROM = '2025-01-15T03:00:00Z';
const TO = '2025-01-15T05:00:00Z';
const MODELS = ['gpt-4o', 'claude-3-5-sonnet', 'llama-3-70b'];
const EVENTS = 8_400;
let broker: TestBroker;

/**
 * 7 hours of performance events, one every ~3 s, out of order by up to ±60 s (inside the
 * windows' 2-minute bound, so the rows do not depend on how partitions interleave). Each
 * message's timestamp is its event time, as a collector stamping CreateTime gives.
 */
function messages(): Message[] {
  const rnd = lcg(29);
  const out: Message[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const ts = START + i * 3_000 + Math.floor((rnd() - 0.5) * 120_000);
    const model = MODELS[Math.floor(rnd() * MODELS.length)]!;
    const value = JSON.stringify({
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
    });
    out.push({ key: `e-${i}`, value, timestamp: String(ts) });
  }
  return out;
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

const liveOffsets = async () => {
  const admin = testKafka(broker).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    return t!.partitions.map((p) => `${p.partition}:${p.offset}`).sort();
  } finally {
    await admin.disconnect();
  }
};

const replayArgs = (version: number, stateDir: string, extra: string[] = []) => [
  'replay',
  '--topology',
  'llm-perf',
  '--kafka',
  broker.bootstrap,
  '--topic',
  TOPIC,
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
let offsetsBefore: string[] = [];
let summary: {
  scan: { linesRead: number; linesKept: number; stoppedEarly: boolean };
  kafka: { group: string; partitions: { partition: number; start: string; end: string; seek: string }[] };
};

beforeAll(async () => {
  broker = await startBroker(1, [`${TOPIC}:4`]);
  await produce(broker, TOPIC, messages());
  const live = startRunner([
    KAFKA_ENTRY,
    'run',
    '--topology',
    'llm-perf',
    '--kafka',
    broker.bootstrap,
    '--topic',
    TOPIC,
    '--group',
    GROUP,
    '--offline',
    offlineUrl(schema),
    '--state-dir',
    join(dir, 'live-state'),
    '--workers',
    '1',
    '--checkpoint-interval',
    '300',
    '--fetch-max-wait',
    '100',
    '--session-timeout',
    '5000',
    '--heartbeat-interval',
    '500',
    '--stop-at-end',
    '--summary-json',
  ]);
  const r = await live.result;
  expect(r.code, r.stderr).toBe(0);
  v1Before = await rowsOf(1);
  offsetsBefore = await liveOffsets();
  const replay = await runCli(replayArgs(2, join(dir, 'state-v2'), ['--summary-json']));
  expect(replay.code, replay.stderr).toBe(0);
  summary = JSON.parse(replay.stdout.trim().split('\n').at(-1)!);
}, 240_000);

afterAll(async () => {
  await broker?.stop();
  await dropSchema(pool, schema);
  await pool.end();
});

describe('replay --kafka', () => {
  it('the live run committed its offsets; the replay left them as they were', async () => {
    // --stop-at-end: the live group committed the end of every partition (EVENTS in all).
    const committed = offsetsBefore.map((p) => Number(p.split(':')[1]));
    expect(committed.every((o) => o > 0)).toBe(true);
    expect(committed.reduce((a, b) => a + b, 0)).toBe(EVENTS);
    expect(await liveOffsets()).toEqual(offsetsBefore);
    expect(summary.kafka.group).not.toBe(GROUP);
  });

  it('asks offsets for times; stops each partition once the range is settled', () => {
    // The test broker (librdkafka's mock cluster) answers every timestamp with the end offset
    // (measured: even time 0 on a full partition), so the replay detects that and reads from the
    // first offset; src/replay/kafka-scan.test.ts covers a broker that looks offsets up by time.
    expect(summary.kafka.partitions).toHaveLength(4);
    for (const p of summary.kafka.partitions) expect(p).toMatchObject({ start: '0', seek: 'log-start' });
    expect(summary.scan.linesRead).toBeLessThan(EVENTS);
    expect(summary.scan.stoppedEarly).toBe(true);
    expect(summary.scan.linesKept).toBeGreaterThan(0);
  });

  it('writes v2 for exactly the windows ending inside the range, equal to the live v1', async () => {
    const from = Date.parse(FROM);
    const to = Date.parse(TO);
    const v1 = await rowsOf(1);
    const v2 = await rowsOf(2);
    const inRange = v1.filter((r) => r.event_time.getTime() >= from && r.event_time.getTime() < to);
    expect(inRange.filter((r) => r.feature_group === 'perf_5min')).toHaveLength(24 * 3);
    expect(inRange.filter((r) => r.feature_group === 'perf_1hr')).toHaveLength(24 * 3);
    for (const r of v2) {
      expect(r.window_end!.getTime()).toBeGreaterThan(from);
      expect(r.window_end!.getTime()).toBeLessThanOrEqual(to);
    }
    expect(strip(v2)).toEqual(strip(inRange));
    expect(strip(v1)).toEqual(strip(v1Before));
    expect(v1.length).toBeGreaterThan(inRange.length);
  });

  it('--dry-run prints the offsets per partition and reads nothing', async () => {
    const r = await runCli([...replayArgs(4, join(dir, 'state-v4')), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/seeks {9}to the first message with timestamp ≥ 2025-01-15T01:56:00.000Z/);
    expect(r.stdout.match(/partition \d: offsets \[\d+, \d+\)/g)).toHaveLength(4);
    expect(existsSync(join(dir, 'state-v4'))).toBe(false);
    expect(await liveOffsets()).toEqual(offsetsBefore);
  });

  it('a replay killed after a checkpoint resumes to the same rows', async () => {
    const state = join(dir, 'state-v3');
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
    expect(again.stdout).toMatch(/resumed from checkpoint \d+/);
    expect(strip(await rowsOf(3))).toEqual(strip(await rowsOf(2)));
    expect(await liveOffsets()).toEqual(offsetsBefore);
  }, 120_000);
});
