/**
 * End to end: a small hand-written stream of all the event types the catalog reads, through
 * `featurestream run --topology llm-features`; at least one value of every feature the engine
 * computes (windows and keyed processors) checked against arithmetic written out here.
 *
 * The stream (2025-01-15, a Wednesday; file order = arrival order; the clock is the greatest event
 * time so far, the watermarks are clock − 2 min − 1 ms):
 *
 * ```
 * 09:00     model_catalog model-a (0.01 / 0.03 per 1k, large), model-b (0.002 / 0.006, small)
 * 10:00     system_health healthy, queue 10, budget 250/1000
 * 10:00:10  perf a 100 ms          10:00:20 perf b 50 ms
 * 10:01     llm_request r1 (s1, u1, a, prompt)
 * 10:01:30  perf a 200             10:02 system_health degraded, queue 100, budget 200/1000
 * 10:02:10  perf a 300             10:02:20 perf a 1000 "upstream timeout"    10:03 perf b 60
 * 10:03:30  llm_request r2 (s1, u1, b, prompt, follow_up)
 * 10:04     perf a 400             10:05:30 perf a 500
 * 10:06     llm_request r4 (s2, u2, a, no prompt)   10:06 system_health healthy, queue 0, budget 900
 * 10:04     user_feedback on r2 (2 min behind the clock)
 * 10:07     perf a 700 "rate limited"
 * 10:02:30  user_feedback on r1 (4.5 min behind: feedback_1hr [09:05, 10:05) has fired → revision 1)
 * 10:08     perf b 80              10:08 user_feedback on r4
 * 10:12     llm_request r5 (s2, u2, b, prompt, follow_up)
 * 10:20     system_health healthy, queue 1000, budget 0/1000
 * 10:35     llm_request r3 (s1, u1, a, prompt) — 31 min after s1's last event (10:04): a new session
 * 10:36     user_feedback on r3
 * ```
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { llmFeatureSet } from '../src/domains/llm/feature-set.js';
import { lines, runCli, summaryOf, tempDir } from './support.js';

const GROUPS = llmFeatureSet().groups;

const DAY = 86_400_000;
const MIN = 60_000;
const at = (hms: string) => `2025-01-15T${hms}Z`;
const ms = (hms: string) => Date.parse(at(hms));
/** The output's form of a time: RFC 3339 with milliseconds. */
const iso = (hms: string) => new Date(ms(hms)).toISOString();

let seq = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;

const catalog = (
  model: string,
  provider: string,
  ctx: number,
  costIn: number,
  costOut: number,
  cap: number,
  cutoff: string,
  size: string,
) => ({
  type: 'model_catalog',
  id: uuid(),
  timestamp: at('09:00:00'),
  model,
  provider,
  context_length: ctx,
  cost_per_1k_input: costIn,
  cost_per_1k_output: costOut,
  capability_score: cap,
  training_cutoff: cutoff,
  supports_functions: true,
  supports_vision: false,
  supports_json_mode: true,
  size_class: size,
});
const health = (hms: string, status: string, queue: number, remaining: number) => ({
  type: 'system_health',
  id: uuid(),
  timestamp: at(hms),
  component: 'api-gateway',
  status,
  cpu_usage: 0.5,
  memory_usage: 1000,
  active_requests: 8,
  queue_depth: queue,
  error_rate: 0.01,
  metrics: {
    memory_limit: 4000,
    max_concurrency: 32,
    budget_remaining: remaining,
    budget_total: 1000,
    budget_reset_at: 1736985600, // 2025-01-16T00:00:00Z in seconds, as the collector writes it
    api_quota_remaining: 0.9,
    region_load: 0.3,
  },
});
const perf = (hms: string, model: string, latency: number, cost: number, error: string | null = null) => ({
  type: 'performance_metrics',
  id: uuid(),
  timestamp: at(hms),
  request_id: uuid(),
  model,
  config_id: null,
  latency_ms: latency,
  input_tokens: 100,
  output_tokens: 50,
  cost,
  quality_score: null,
  error,
  metrics: { retries: 0 },
});
const request = (hms: string, id: string, session: string, user: string, model: string, extra: object) => ({
  type: 'llm_request',
  id: uuid(),
  timestamp: at(hms),
  request_id: id,
  session_id: session,
  user_id: user,
  model,
  ...extra,
});
const feedback = (hms: string, requestId: string, session: string, user: string, extra: object) => ({
  type: 'user_feedback',
  id: uuid(),
  timestamp: at(hms),
  user_id: user,
  session_id: session,
  request_id: requestId,
  task_completed: false,
  response_edited: false,
  response_regenerated: false,
  response_saved: false,
  response_shared: false,
  metadata: {},
  ...extra,
});

const EVENTS = [
  catalog('model-a', 'acme', 100_000, 0.01, 0.03, 0.9, '2024-01-15', 'large'),
  catalog('model-b', 'beta', 8_000, 0.002, 0.006, 0.6, '2023-01-15', 'small'),
  health('10:00:00', 'healthy', 10, 250),
  perf('10:00:10', 'model-a', 100, 0.01),
  perf('10:00:20', 'model-b', 50, 0.001),
  request('10:01:00', 'r1', 's1', 'u1', 'model-a', {
    prompt: 'Summarize the attached contract about the patient diagnosis in three bullet points.',
    prompt_tokens: 50,
    output_length: 'short',
    task_type: 'summarize',
    language: 'en',
    priority: 8,
    user_tier: 'pro',
    follow_up: false,
  }),
  perf('10:01:30', 'model-a', 200, 0.02),
  health('10:02:00', 'degraded', 100, 200),
  perf('10:02:10', 'model-a', 300, 0.03),
  perf('10:02:20', 'model-a', 1000, 0.05, 'upstream timeout after 1000ms'),
  perf('10:03:00', 'model-b', 60, 0.003),
  request('10:03:30', 'r2', 's1', 'u1', 'model-b', {
    prompt: 'Write a Python function that parses the invoice dates and returns them sorted.',
    max_tokens: 800,
    task_type: 'generate',
    priority: 4,
    user_tier: 'pro',
    follow_up: true,
  }),
  perf('10:04:00', 'model-a', 400, 0.04),
  perf('10:05:30', 'model-a', 500, 0.02),
  request('10:06:00', 'r4', 's2', 'u2', 'model-a', { max_tokens: 2000, priority: 10, user_tier: 'free' }),
  health('10:06:00', 'healthy', 0, 900),
  feedback('10:04:00', 'r2', 's1', 'u1', { rating: 5, response_regenerated: true, dwell_time_seconds: 60 }),
  perf('10:07:00', 'model-a', 700, 0.04, 'rate limited'),
  feedback('10:02:30', 'r1', 's1', 'u1', {
    rating: 4,
    liked: true,
    task_completed: true,
    dwell_time_seconds: 30,
    metadata: { response_copied: 'true' },
  }),
  perf('10:08:00', 'model-b', 80, 0.002),
  feedback('10:08:00', 'r4', 's2', 'u2', {
    rating: 2,
    liked: false,
    task_completed: true,
    dwell_time_seconds: 10,
    response_saved: true,
  }),
  request('10:12:00', 'r5', 's2', 'u2', 'model-b', {
    prompt: 'Classify this customer email as spam or not spam.',
    prompt_tokens: 20,
    output_length: 'short',
    task_type: 'classify',
    priority: 2,
    user_tier: 'free',
    follow_up: true,
  }),
  health('10:20:00', 'healthy', 1000, 0),
  request('10:35:00', 'r3', 's1', 'u1', 'model-a', {
    prompt: 'Summarize the attached contract in three bullet points.',
    prompt_tokens: 12,
    output_length: 'long',
    task_type: 'summarize',
    priority: 6,
    user_tier: 'pro',
    follow_up: false,
  }),
  feedback('10:36:00', 'r3', 's1', 'u1', {
    rating: 3,
    liked: true,
    task_completed: true,
    dwell_time_seconds: 20,
  }),
];

interface Row {
  group: string;
  entity_type: string;
  entity_id: string;
  version: number;
  window_start: string | null;
  window_end: string | null;
  event_time: string;
  revision: number;
  values: Record<string, number | null>;
}

const dir = tempDir('fs-features-');
const input = join(dir, 'events.ndjson');
const embeddingCache = join(dir, 'embeddings');

async function runWith(workers: number): Promise<{ rows: string[]; summary: ReturnType<typeof summaryOf> }> {
  const out = join(dir, `rows-${workers}.ndjson`);
  const r = await runCli([
    'run',
    '--topology',
    'llm-features',
    '--input',
    input,
    '--out',
    out,
    '--dead-letters',
    join(dir, `dl-${workers}.ndjson`),
    '--state-dir',
    join(dir, `state-${workers}`),
    '--embedding-cache',
    embeddingCache,
    '--workers',
    String(workers),
    '--summary-json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return { rows: lines(out), summary: summaryOf(r) };
}

let raw: string[] = [];
let rows: Row[] = [];
let summary: ReturnType<typeof summaryOf>;

beforeAll(async () => {
  writeFileSync(input, `${EVENTS.map((e) => JSON.stringify(e)).join('\n')}\n`);
  ({ rows: raw, summary } = await runWith(1));
  rows = raw.map((l) => JSON.parse(l) as Row);
});

const ofGroup = (group: string) => rows.filter((r) => r.group === group);
/** The one row of a per-event group for an entity. */
const one = (group: string, entity: string): Record<string, number | null> => {
  const found = ofGroup(group).filter((r) => r.entity_id === entity);
  expect(found, `${group} ${entity}`).toHaveLength(1);
  return found[0]!.values;
};
/** The last revision of a window's row. */
const windowRow = (group: string, entity: string, start: string): Row => {
  const found = ofGroup(group)
    .filter((r) => r.entity_id === entity && r.window_start === iso(start))
    .sort((a, b) => a.revision - b.revision);
  expect(found.length, `${group} ${entity} ${start}`).toBeGreaterThan(0);
  return found.at(-1)!;
};
/** REQ_014 of a count. */
const depth = (n: number) => Math.log(1 + n) / Math.log(101);
/** CTX_003 of a queue depth. */
const queueNorm = (q: number) => Math.min(1, Math.log(1 + q) / Math.log(1001));
/** DRV_009 of a decayed count (half-life 10 min, half saturation 10). */
const fatigue = (count: number) => count / (count + 10);
const decay = (dtMs: number) => 2 ** (-dtMs / (10 * MIN));

describe('llm-features end to end (hand-written stream)', () => {
  it('reads every event without dead letters and writes rows of all 9 groups', () => {
    expect(summary.eventsRead).toBe(EVENTS.length);
    expect(summary.deadLetters).toBe(0);
    expect(summary.lateEvents).toBe(0);
    expect(new Set(rows.map((r) => r.group))).toEqual(new Set(GROUPS.map((g) => g.group)));
    expect(summary.rowsWritten).toBe(rows.length);
  });

  it('gives each row its group’s catalog entity type, and per-event rows no window and the event’s time', () => {
    const entity = new Map(GROUPS.map((g) => [g.group, g.entity]));
    for (const r of rows) expect(r.entity_type, r.group).toBe(entity.get(r.group as never));
    const times = new Map<string, string>();
    for (const e of EVENTS) {
      if (e.type === 'llm_request') times.set((e as { request_id: string }).request_id, e.timestamp);
    }
    for (const group of ['request', 'derived']) {
      const gr = ofGroup(group);
      expect(gr.map((r) => r.entity_id).sort(), group).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
      for (const r of gr) {
        expect([r.window_start, r.window_end], r.entity_id).toEqual([null, null]);
        expect(r.event_time).toBe(new Date(Date.parse(times.get(r.entity_id)!)).toISOString());
      }
    }
    const healthTimes = EVENTS.filter((e) => e.type === 'system_health').map((e) =>
      new Date(Date.parse(e.timestamp)).toISOString(),
    );
    const context = ofGroup('context');
    expect(context.map((r) => r.event_time)).toEqual(healthTimes);
    for (const r of context) {
      expect([r.entity_id, r.window_start, r.window_end]).toEqual(['api-gateway', null, null]);
    }
  });

  it('writes no NaN: every value is a finite number or null, and null where inputs are missing', () => {
    for (const r of rows) {
      for (const [k, v] of Object.entries(r.values)) {
        if (v !== null) expect(Number.isFinite(v), `${r.group} ${r.entity_id} ${k}`).toBe(true);
      }
    }
    // r4 has no prompt and no prompt_tokens
    const req4 = one('request', 'r4');
    expect([req4.prompt_length, req4.prompt_char_count, req4.prompt_complexity, req4.prompt_domain]).toEqual([
      null,
      null,
      null,
      null,
    ]);
    const drv4 = one('derived', 'r4');
    for (let i = 1; i <= 8; i++) expect(drv4[`prompt_embedding_${i}`]).toBeNull();
    expect(drv4.prompt_similarity_to_avg).toBeNull();
    expect(drv4.user_behavior_cluster).toBeNull();
    // FDBK_003 counts only feedback with `liked` set: u1's feedback on r2 has none, so the
    // window [09:05, 10:05) reads 1/1 from the other one (see the feedback_1hr test).
    expect(windowRow('feedback_1hr', 'u1', '09:05:00').revision).toBe(0);
  });

  it('model_static: MDL_002/MDL_003 over the catalog maxima, MDL_005 at the row time', () => {
    const a = one('model_static', 'model-a');
    // Fed in event-time order, model-b is re-emitted when model-a's announcement raises the
    // maxima at the same instant: the latest row holds the catalog maxima.
    const b = ofGroup('model_static')
      .filter((r) => r.entity_id === 'model-b')
      .at(-1)!.values;
    expect([a.model_cost_per_1k_input, a.model_cost_per_1k_output]).toEqual([0.01 / 0.01, 0.03 / 0.03]);
    expect(b.model_cost_per_1k_input).toBeCloseTo(0.002 / 0.01, 12);
    expect(b.model_cost_per_1k_output).toBeCloseTo(0.006 / 0.03, 12);
    // 2024-01-15 → 2025-01-15T09:00: 366 days (2024 is a leap year) and 9 h
    expect(a.model_training_cutoff_age).toBeCloseTo((366 + 9 / 24) / 365, 12);
    expect(b.model_training_cutoff_age).toBeCloseTo((ms('09:00:00') - Date.UTC(2023, 0, 15)) / DAY / 365, 12);
    expect(a.model_context_length).toBeCloseTo(Math.log(100_000) / Math.log(200_000), 12);
  });

  it('context: CTX_007 is the share of healthy reports in (t − 5 min, t]', () => {
    const byTime = new Map(ofGroup('context').map((r) => [r.event_time, r.values]));
    const avail = (hms: string) => byTime.get(iso(hms))!.model_availability;
    expect(avail('10:00:00')).toBe(1); // {10:00 H}
    expect(avail('10:02:00')).toBe(1 / 2); // {10:00 H, 10:02 D}
    expect(avail('10:06:00')).toBe(1 / 2); // (10:01, 10:06]: {10:02 D, 10:06 H}
    expect(avail('10:20:00')).toBe(1); // (10:15, 10:20]: {10:20 H}
    expect(byTime.get(iso('10:02:00'))!.queue_depth_requests).toBeCloseTo(queueNorm(100), 12);
  });

  it('timeout_5min: CTX_008 = timeouts / events per model and 5 minutes', () => {
    expect(windowRow('timeout_5min', 'model-a', '10:00:00').values.recent_timeout_rate_5min).toBe(1 / 5);
    // "rate limited" is an error but no timeout
    expect(windowRow('timeout_5min', 'model-a', '10:05:00').values.recent_timeout_rate_5min).toBe(0 / 2);
    expect(windowRow('timeout_5min', 'model-b', '10:00:00').values.recent_timeout_rate_5min).toBe(0 / 2);
  });

  it('perf_5min: PERF_001 / 006 / 009 / 010 of model-a’s first window', () => {
    const v = windowRow('perf_5min', 'model-a', '10:00:00').values;
    // latencies 100, 200, 300, 1000, 400 → sorted 100 200 300 400 1000; nearest rank ⌈0.5·5⌉ = 3
    expect(v.latency_p50_5min).toBe(300);
    expect(v.latency_p95_5min).toBe(1000); // ⌈0.95·5⌉ = 5
    expect(v.success_rate_5min).toBe(4 / 5);
    expect(v.error_rate_5min).toBe(1 / 5);
    expect(v.avg_cost_per_request_5min).toBeCloseTo((0.01 + 0.02 + 0.03 + 0.05 + 0.04) / 5, 12);
    expect(v.throughput_qps_5min).toBeCloseTo(5 / 300, 12);
    // perf_1hr [09:10, 10:10) holds all 7 of model-a's events: 100 200 300 1000✗ 400 500 700✗
    const w = windowRow('perf_1hr', 'model-a', '09:10:00').values;
    expect(w.success_rate_1hr).toBe(5 / 7);
    expect(w.latency_p50_1hr).toBe(400); // sorted 100 200 300 400 500 700 1000, rank ⌈3.5⌉ = 4
  });

  it('request: REQ_014 counts the requests of the session, restarting after the 31-minute pause', () => {
    expect(one('request', 'r1').session_depth).toBe(depth(1));
    expect(one('request', 'r2').session_depth).toBe(depth(2));
    // s1's last event before r3 is the feedback at 10:04; r3 at 10:35 is 31 min later
    expect(one('request', 'r3').session_depth).toBe(depth(1));
    expect(one('request', 'r4').session_depth).toBe(depth(1));
    expect(one('request', 'r5').session_depth).toBe(depth(2));
    expect(one('request', 'r1').request_priority).toBe(8 / 10);
  });

  it('feedback_session: FDBK_001 / 005 / 006 / 008 per session (the late feedback included)', () => {
    const s1a = windowRow('feedback_session', 's1', '10:01:00');
    expect(s1a.window_end).toBe(iso('10:34:00')); // last event 10:04 + 30 min
    expect(s1a.values).toEqual({
      avg_user_rating_session: (5 + 4) / 2,
      task_completion_rate_session: (0 + 1) / 2,
      avg_response_time_user: (60 + 30) / 2,
      follow_up_rate_session: (0 + 1) / 2, // r1 follow_up false, r2 true
    });
    expect(windowRow('feedback_session', 's1', '10:35:00').values).toEqual({
      avg_user_rating_session: 3,
      task_completion_rate_session: 1,
      avg_response_time_user: 20,
      follow_up_rate_session: 0,
    });
    expect(windowRow('feedback_session', 's2', '10:06:00').values).toEqual({
      avg_user_rating_session: 2,
      task_completion_rate_session: 1,
      avg_response_time_user: 10,
      follow_up_rate_session: (0 + 1) / 2, // r4 has no follow_up (false), r5 true
    });
  });

  it('feedback_1hr: FDBK_002 / 003 / 004 / 007 per user; feedback late by less than the 10-min bound is in the first firing', () => {
    // [09:05, 10:05): the 10:02:30 feedback arrives after the 10:04 one, but within the feedback
    // windows' 10-minute out-of-orderness bound, so the window fires once with both.
    const early = ofGroup('feedback_1hr')
      .filter((r) => r.entity_id === 'u1' && r.window_start === iso('09:05:00'))
      .sort((a, b) => a.revision - b.revision);
    expect(early.map((r) => r.revision)).toEqual([0]);
    expect(early[0]!.values).toEqual({
      avg_user_rating_1hr: (5 + 4) / 2,
      thumbs_up_ratio_1hr: 1 / 1, // liked set only on the 10:02:30 feedback
      regeneration_rate_1hr: (1 + 0) / 2,
      copy_paste_rate_1hr: (0 + 1) / 2, // metadata.response_copied "true"
    });
    // [10:00, 11:00) holds all three of u1's feedback (10:02:30, 10:04, 10:36)
    const all = windowRow('feedback_1hr', 'u1', '10:00:00').values;
    expect(all.avg_user_rating_1hr).toBe((4 + 5 + 3) / 3);
    expect(all.thumbs_up_ratio_1hr).toBe(2 / 2);
    expect(all.regeneration_rate_1hr).toBeCloseTo((0 + 1 + 0) / 3, 12);
    expect(all.copy_paste_rate_1hr).toBeCloseTo((1 + 0 + 0) / 3, 12);
    // u2: response_saved counts as copied when metadata has no response_copied
    expect(windowRow('feedback_1hr', 'u2', '10:05:00').values).toEqual({
      avg_user_rating_1hr: 2,
      thumbs_up_ratio_1hr: 0,
      regeneration_rate_1hr: 0,
      copy_paste_rate_1hr: 1,
    });
  });

  it('derived: the join sees only fired perf windows, the latest context, the catalog, and the history', () => {
    const d = (id: string) => one('derived', id);
    const perfBased = [
      'cost_latency_score',
      'quality_cost_ratio',
      'load_adjusted_latency',
      'pareto_efficiency_score',
    ];
    // r1 (10:01), r2 (10:03:30), r4 (clock 10:05:30): no perf_5min window has fired yet
    for (const id of ['r1', 'r2', 'r4']) for (const n of perfBased) expect(d(id)[n], `${id} ${n}`).toBeNull();

    // r5 (model-b, 10:12; processors see their records in event-time order, so the join's clock
    // is the request's own time: watermark 10:12 − 2 min ≥ 10:10): [10:05, 10:10) fired for both.
    // b: p95 80, success 1, avg cost 0.002; a: p95 700, success 0.5, avg cost 0.03
    expect(d('r5').quality_cost_ratio).toBeCloseTo(1 / 0.002, 9); // DRV_003
    expect(d('r5').cost_latency_score).toBe(0); // DRV_002: b is the cheapest and fastest
    expect(d('r5').pareto_efficiency_score).toBe(0); // DRV_010: b dominates a
    // DRV_008 with the 10:06 report (queue 0): 80 × (1 + 0)
    expect(d('r5').load_adjusted_latency).toBe(80 * (1 + queueNorm(0)));

    // r3 (model-a, clock 10:20): [10:05, 10:10) fired; a: {500 ok 0.02, 700 error 0.04}
    expect(d('r3').quality_cost_ratio).toBeCloseTo(1 / 2 / ((0.02 + 0.04) / 2), 9);
    expect(d('r3').cost_latency_score).toBe(1); // a: dearest (0.03 vs 0.002) and slowest (700 vs 80)
    expect(d('r3').pareto_efficiency_score).toBe(1);
    // the 10:20 report: queue 1000 → CTX_003 = 1
    expect(d('r3').load_adjusted_latency).toBeCloseTo(700 * (1 + queueNorm(1000)), 9);

    // DRV_007 = priority × (1 − budget ratio) of the latest report before the request
    expect(d('r1').time_pressure_indicator).toBeCloseTo(0.8 * (1 - 250 / 1000), 12);
    expect(d('r2').time_pressure_indicator).toBeCloseTo(0.4 * (1 - 200 / 1000), 12);
    expect(d('r4').time_pressure_indicator).toBeCloseTo(1.0 * (1 - 200 / 1000), 12); // 10:06 report comes after r4
    expect(d('r5').time_pressure_indicator).toBeCloseTo(0.2 * (1 - 900 / 1000), 12);
    expect(d('r3').time_pressure_indicator).toBeCloseTo(0.6 * (1 - 0 / 1000), 12);

    // DRV_009: decayed uses of the model up to and including this one (half-life 10 min)
    expect(d('r1').model_fatigue_score).toBeCloseTo(fatigue(1), 12);
    expect(d('r2').model_fatigue_score).toBeCloseTo(fatigue(1), 12);
    expect(d('r4').model_fatigue_score).toBeCloseTo(fatigue(decay(5 * MIN) + 1), 12);
    expect(d('r5').model_fatigue_score).toBeCloseTo(fatigue(decay(8.5 * MIN) + 1), 12);
    expect(d('r3').model_fatigue_score).toBeCloseTo(fatigue(decay(34 * MIN) + decay(29 * MIN) + 1), 12);

    // DRV_006: the first 8 distinct user means open clusters in order: r1 (u1) 0, r2 (u1's new
    // mean) 1, r5 (u2; r4 had no prompt) 2, r3 (u1's new mean) 3 — over k = 8
    expect([d('r1'), d('r2'), d('r5'), d('r3')].map((v) => v.user_behavior_cluster)).toEqual([
      0 / 8,
      1 / 8,
      2 / 8,
      3 / 8,
    ]);
  });

  it('derived: DRV_001 is the prompt embedding and DRV_004 its cosine to the mean of the earlier ones', () => {
    const emb = (id: string) =>
      Array.from({ length: 8 }, (_, i) => one('derived', id)[`prompt_embedding_${i + 1}`]!);
    const cos = (a: number[], b: number[]) => {
      const dot = a.reduce((s, x, i) => s + x * b[i]!, 0);
      return dot / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
    };
    const mean = (vs: number[][]) => vs[0]!.map((_, i) => vs.reduce((s, v) => s + v[i]!, 0) / vs.length);
    for (const id of ['r1', 'r2', 'r5', 'r3']) {
      expect(
        emb(id).every((x) => Number.isFinite(x)),
        id,
      ).toBe(true);
      expect(Math.hypot(...emb(id)), id).toBeGreaterThan(0);
    }
    // prompts in arrival order: r1, r2, (r4 none), r5, r3
    expect(one('derived', 'r1').prompt_similarity_to_avg).toBeNull();
    expect(one('derived', 'r2').prompt_similarity_to_avg).toBeCloseTo(cos(emb('r2'), emb('r1')), 6);
    expect(one('derived', 'r5').prompt_similarity_to_avg).toBeCloseTo(
      cos(emb('r5'), mean([emb('r1'), emb('r2')])),
      6,
    );
    expect(one('derived', 'r3').prompt_similarity_to_avg).toBeCloseTo(
      cos(emb('r3'), mean([emb('r1'), emb('r2'), emb('r5')])),
      6,
    );
  });

  it('derived: DRV_005 is the weighted dot product of the request and model_static features', () => {
    // model-a is the priciest model: MDL_002 = MDL_003 = 1, so the two price components are 0.
    const a = one('model_static', 'model-a');
    for (const id of ['r1', 'r3', 'r4']) {
      const r = one('request', id);
      const pairs: Array<[number, number | null | undefined, number | null | undefined]> = [
        [0.2, r.prompt_length, a.model_context_length],
        [0.25, r.prompt_complexity, a.model_capability_score],
        [0.15, r.prompt_domain, a.model_capability_score],
        [0.15, r.expected_output_length, 1 - a.model_cost_per_1k_output!],
        [0.15, r.request_priority == null ? null : 1 - r.request_priority, 1 - a.model_cost_per_1k_input!],
        [0.1, r.user_tier, a.model_size_class],
      ];
      for (const [, x, y] of pairs) expect(x === undefined || y === undefined, id).toBe(false);
      const present = pairs.filter(([, x, y]) => x !== null && y !== null);
      const expected =
        present.reduce((s, [w, x, y]) => s + w * x! * y!, 0) / present.reduce((s, [w]) => s + w, 0);
      expect(one('derived', id).model_fit_score, id).toBeCloseTo(expected, 12);
    }
    // r4: only REQ_004 = 1, REQ_008 = 1 and REQ_015 = 0 are known: (0.15·1·0 + 0.15·0·0 + 0.1·0·1) / 0.4
    expect(one('derived', 'r4').model_fit_score).toBe(0);
  });

  it('gives the same rows with 2 workers as with 1', async () => {
    const two = await runWith(2);
    expect(two.summary.deadLetters).toBe(0);
    expect([...two.rows].sort()).toEqual([...raw].sort());
  });
});
