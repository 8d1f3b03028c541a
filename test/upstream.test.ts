/**
 * The upstream collector's events, exactly as its Rust structs serialise them
 * (src/domains/llm/events/fixtures/collector.ndjson: all five collector types, nanosecond and offset
 * timestamps, nulls for `Option`s, floats for integers), through the full `llm-features`
 * topology; and the feature registry as the CLI lists it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lines, ROOT, runCli, summaryOf, tempDir } from './support.js';

const FIXTURE = join(ROOT, 'src/domains/llm/events/fixtures/collector.ndjson');

interface Row {
  group: string;
  entity_type: string;
  entity_id: string;
  window_start: string | null;
  event_time: string;
  revision: number;
  values: Record<string, number | null>;
}

async function run(input: string, dir: string) {
  const out = join(dir, 'rows.ndjson');
  const deadLetters = join(dir, 'dead-letters.ndjson');
  const r = await runCli([
    'run',
    '--topology',
    'llm-features',
    '--input',
    input,
    '--out',
    out,
    '--dead-letters',
    deadLetters,
    '--state-dir',
    join(dir, 'state'),
    '--embedding-cache',
    join(dir, 'embeddings'),
    '--workers',
    '2',
    '--summary-json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return {
    summary: summaryOf(r),
    rows: lines(out).map((l) => JSON.parse(l) as Row),
    deadLetters: lines(deadLetters),
  };
}

const fixture = lines(FIXTURE).map((l) => JSON.parse(l) as Record<string, unknown>);
const ofType = (type: string) => fixture.filter((e) => e.type === type);

describe('the upstream collector fixture through llm-features', () => {
  let result: Awaited<ReturnType<typeof run>>;
  const group = (g: string) => result.rows.filter((r) => r.group === g);

  beforeAll(async () => {
    result = await run(FIXTURE, tempDir('fs-upstream-'));
  });

  it('holds all five collector types and is read without a dead letter', () => {
    expect(new Set(fixture.map((e) => e.type))).toEqual(
      new Set([
        'performance_metrics',
        'user_feedback',
        'model_response',
        'system_health',
        'experiment_result',
      ]),
    );
    expect(result.summary.eventsRead).toBe(fixture.length);
    expect(result.summary.deadLetters).toBe(0);
    expect(result.deadLetters).toEqual([]);
  });

  it('feeds performance_metrics into perf_5min, perf_1hr and timeout_5min, one key per model', () => {
    const models = [...new Set(ofType('performance_metrics').map((e) => e.model as string))].sort();
    expect(models).toHaveLength(3);
    for (const g of ['perf_5min', 'perf_1hr', 'timeout_5min']) {
      expect([...new Set(group(g).map((r) => r.entity_id))].sort(), g).toEqual(models);
    }
    // gpt-4: one successful call of 1234.5 ms, 100 → 250 tokens, 0.0125 USD, 1 retry
    const gpt4 = group('perf_5min').find((r) => r.entity_id === 'gpt-4')!;
    expect(gpt4.window_start).toBe('2025-01-15T10:30:00.000Z');
    expect(gpt4.values).toMatchObject({
      latency_p95_5min: 1234.5,
      success_rate_5min: 1,
      avg_cost_per_request_5min: 0.0125,
      token_efficiency_5min: 250 / 100,
      retry_rate_5min: 1,
    });
    // claude: "upstream timeout after 30000ms" is a failure and a timeout
    const claude = (g: string) => group(g).find((r) => r.entity_id === 'claude-3-5-sonnet')!.values;
    expect(claude('perf_5min')).toMatchObject({
      success_rate_5min: 0,
      error_rate_5min: 1,
      retry_rate_5min: 2,
    });
    expect(claude('timeout_5min').recent_timeout_rate_5min).toBe(1);
    // gpt-4o-mini: 0 input tokens has no token efficiency (null, not NaN or ∞)
    expect(
      group('perf_5min').find((r) => r.entity_id === 'gpt-4o-mini')!.values.token_efficiency_5min,
    ).toBeNull();
  });

  it('feeds user_feedback into feedback_session (per session) and feedback_1hr (per user, when set)', () => {
    const sessions = group('feedback_session');
    expect(sessions.map((r) => r.entity_id)).toEqual(['session123']);
    // ratings 4.5 and null; task_completed true, false; dwell 42.7 and null
    expect(sessions[0]!.values).toMatchObject({
      avg_user_rating_session: 4.5,
      task_completion_rate_session: (1 + 0) / 2,
      avg_response_time_user: 42.7,
    });
    // the second feedback has user_id null: only user456 has feedback_1hr rows
    const hourly = group('feedback_1hr');
    expect(hourly.length).toBeGreaterThan(0);
    expect(new Set(hourly.map((r) => r.entity_id))).toEqual(new Set(['user456']));
    // metadata.response_copied = "true" counts as copied
    for (const r of hourly) expect(r.values.copy_paste_rate_1hr).toBe(1);
  });

  it('feeds system_health into context (per component), CTX_007 from the status', () => {
    const ctx = new Map(group('context').map((r) => [r.entity_id, r]));
    expect([...ctx.keys()].sort()).toEqual(['api-server', 'gpt-4']);
    const api = ctx.get('api-server')!.values;
    expect(api.model_availability).toBe(1); // healthy
    expect(ctx.get('gpt-4')!.values.model_availability).toBe(0); // degraded
    // 2147483648 / 8589934592, 12 / 64, 420.5 / 1000
    expect([api.system_load_memory, api.concurrent_requests, api.available_budget_ratio]).toEqual([
      0.25,
      12 / 64,
      420.5 / 1000,
    ]);
    expect(api.queue_depth_requests).toBeCloseTo(Math.log(1 + 3) / Math.log(1001), 12);
    // the degraded report has every metric null: so are its values
    const gpt4 = ctx.get('gpt-4')!.values;
    for (const k of [
      'system_load_cpu',
      'system_load_memory',
      'queue_depth_requests',
      'api_quota_remaining',
    ]) {
      expect(gpt4[k], k).toBeNull();
    }
  });

  // BUG (src/domains/llm/features/context.ts, instantMs via contextFeatures): CTX_006 reads a numeric
  // metrics.budget_reset_at as epoch *milliseconds*, but the collector writes epoch *seconds*
  // (its `metrics` map is HashMap<String, f64>; this fixture has 1736985600.0 =
  // 2025-01-16T00:00:00Z) and so does our own generator (src/domains/llm/generate/llm-stream.ts:
  // `budget_reset_at: new F64(((day + 1) * DAY) / 1000)`). The value is taken as a time in
  // January 1970, always in the past, so CTX_006 is 0 for every collector report. Expected for
  // the 10:30:00 report: 13.5 h until midnight / 24 = 0.5625.
  it('reads the collector’s budget_reset_at (epoch seconds) for CTX_006', () => {
    const api = group('context').find((r) => r.entity_id === 'api-server')!.values;
    const reset = 1736985600 * 1000;
    expect(reset).toBe(Date.parse('2025-01-16T00:00:00Z'));
    expect(api.time_until_budget_reset).toBeCloseTo(
      (reset - Date.parse('2025-01-15T10:30:00Z')) / 3_600_000 / 24,
      12,
    );
  });

  it('writes no rows for the types no feature reads, and no derived rows without llm_request events', () => {
    expect(new Set(result.rows.map((r) => r.group))).toEqual(
      new Set(['perf_5min', 'perf_1hr', 'timeout_5min', 'feedback_session', 'feedback_1hr', 'context']),
    );
    expect(result.summary.rowsWritten).toBe(result.rows.length);
  });

  it('joins the collector’s performance_metrics into the derived features of a later llm_request', async () => {
    const dir = tempDir('fs-upstream-');
    const input = join(dir, 'events.ndjson');
    // an llm_request for gpt-4 after the fixture's last event (the experiment_result at
    // 11:00−05:00 = 16:00Z; an earlier one would be behind the watermark, late for the
    // processors), so the 10:30 window has fired
    const request = {
      type: 'llm_request',
      id: '0f8fad5b-d9cb-469f-a165-70867728950e',
      timestamp: '2025-01-15T16:10:00Z',
      request_id: 'req-after',
      session_id: 'session123',
      user_id: 'user456',
      model: 'gpt-4',
      priority: 5,
    };
    writeFileSync(
      input,
      `${readFileSync(FIXTURE, 'utf8')}${JSON.stringify(request)}\n${JSON.stringify({ ...request, id: 'x', timestamp: '2025-01-15T16:11:00Z', request_id: 'req-last' })}\n`,
    );
    const r = await run(input, dir);
    expect(r.summary.deadLetters).toBe(0);
    const derived = new Map(r.rows.filter((x) => x.group === 'derived').map((x) => [x.entity_id, x.values]));
    expect([...derived.keys()].sort()).toEqual(['req-after', 'req-last']);
    // the clock before the request is the fixture's greatest event time (the experiment_result
    // at 11:00−05:00 = 16:00Z), so every perf window has fired by then
    const after = derived.get('req-after')!;
    // DRV_003 of gpt-4: success 1 / avg cost 0.0125
    expect(after.quality_cost_ratio).toBeCloseTo(1 / 0.0125, 9);
    // DRV_002 over the three models (avg cost 0.0125, 0.002436, 0; p95 1234.5, 30000, 0):
    // gpt-4's cost norm 1, latency norm 1234.5 / 30000
    expect(after.cost_latency_score).toBeCloseTo((1 + 1234.5 / 30_000) / 2, 12);
    // DRV_010: gpt-4o-mini (0 USD, 0 ms, success 1) dominates both others and is the frontier;
    // gpt-4 normalised is (1, 1234.5 / 30000, 0): ε = max of those = 1
    expect(after.pareto_efficiency_score).toBe(1);
    // DRV_009: a second use of gpt-4 a minute later
    expect(derived.get('req-last')!.model_fatigue_score).toBeGreaterThan(after.model_fatigue_score!);
  });
});

describe('featurestream features list --json', () => {
  it('prints the 65 catalog features with id, name and group', async () => {
    const r = await runCli(['features', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ id: string; name: string; group: string }>;
    expect(list).toHaveLength(65);
    const groups = new Set([
      'request',
      'model_static',
      'perf_5min',
      'perf_1hr',
      'feedback_session',
      'feedback_1hr',
      'context',
      'timeout_5min',
      'derived',
    ]);
    for (const f of list) {
      expect(f.id, JSON.stringify(f)).toMatch(/^(REQ|MDL|PERF|FDBK|CTX|DRV)_\d{3}$/);
      expect(typeof f.name).toBe('string');
      expect(f.name.length).toBeGreaterThan(0);
      expect(groups.has(f.group), f.group).toBe(true);
    }
    expect(new Set(list.map((f) => f.id)).size).toBe(65);
    const count = (prefix: string) => list.filter((f) => f.id.startsWith(prefix)).length;
    expect([
      count('REQ_'),
      count('MDL_'),
      count('PERF_'),
      count('FDBK_'),
      count('CTX_'),
      count('DRV_'),
    ]).toEqual([15, 10, 12, 8, 10, 10]);
    expect(list.find((f) => f.id === 'CTX_008')).toMatchObject({
      name: 'recent_timeout_rate_5min',
      group: 'timeout_5min',
    });
    expect(list.find((f) => f.id === 'REQ_014')).toMatchObject({ name: 'session_depth', group: 'request' });
  });
});
