import { describe, expect, it } from 'vitest';
import type { DecodedEvent } from '../events/types.js';
import { llmFeaturesTopology } from '../topology.js';
import type { ProcessNode, WindowNode } from '../../../../topology/nodes.js';
import { DerivedJoinOperator } from './derived-join.js';
import { modelExtract, derivedExtract, type MapContext } from './extractors.js';
import { ModelTableOperator } from './model-table.js';
import type { FeatureRow, Operator, RecordBatch } from '../../../../operators/operator.js';
import { MAPS } from '../../../../operators/functions.js';
import { SlidingWindowOperator } from '../../../../operators/sliding-window.js';
import { EventTimeSortedOperator } from '../../../../operators/event-time-sort.js';
import { compileAggregation } from '../../../../operators/aggregation.js';
import { collector } from '../../../../operators/test-support.js';

const SEC = 1000;
const MIN = 60_000;
/** A multiple of 5 min: perf_5min windows are [T0, T0 + 5 min), [T0 + 5 min, T0 + 10 min), … */
const T0 = Date.UTC(2025, 0, 15, 10);

const topo = llmFeaturesTopology();
const NODE = topo.nodes.find((n): n is ProcessNode => n.kind === 'process' && n.id === 'derived')!;
const PERF_5MIN = topo.nodes.find((n): n is WindowNode => n.kind === 'window' && n.id === 'perf_5min')!;
const MAP = MAPS.get('derived-extract')!;
const FIELDS = MAP.fields;
const ATTRS = MAP.attributes;
const HALF_LIFE = 10 * MIN;
const K = 8;

const newOp = () => new DerivedJoinOperator(NODE, FIELDS, ATTRS);

// Prompt embeddings of the tests (the stage would project the model's; any 8-dim vectors do here).
const unit = (i: number, x = 1) => Array.from({ length: 8 }, (_, j) => (j === i ? x : 0));
const EMB: Readonly<Record<string, readonly number[]>> = {
  'Summarize the quarterly report.': unit(0),
  'Translate this email into French.': unit(1),
  'Write a SQL query for monthly revenue.': [1, 1, 1, 0, 0, 0, 0, 0],
  'Classify the sentiment of this review.': unit(0, -1),
  'Explain the contract clause on liability.': [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8],
};
const CTX: MapContext = {
  lookup: (provider: string, text: string) => (provider === 'prompt-embedding' ? (EMB[text] ?? null) : null),
};
const PROMPTS = Object.keys(EMB);

// ---- events -------------------------------------------------------------------------------

function catalog(model: string, ts: number, costIn: number, costOut: number, size = 'large'): DecodedEvent {
  return {
    type: 'model_catalog',
    ts,
    body: {
      model,
      provider: 'acme',
      context_length: 128_000,
      cost_per_1k_input: costIn,
      cost_per_1k_output: costOut,
      capability_score: 0.8,
      training_cutoff: '2024-01-15',
      supports_functions: true,
      supports_vision: false,
      supports_json_mode: true,
      size_class: size,
    },
  };
}

/** A system_health report with `queue` requests queued and `remaining` of a 1000 budget left. */
function health(ts: number, queue: number, remaining: number): DecodedEvent {
  return {
    type: 'system_health',
    ts,
    body: {
      component: 'api',
      status: 'healthy',
      queue_depth: queue,
      metrics: { budget_remaining: remaining, budget_total: 1000 },
    },
  };
}

function perf(
  model: string,
  ts: number,
  latency: number,
  cost: number,
  error: string | null = null,
): DecodedEvent {
  return {
    type: 'performance_metrics',
    ts,
    body: {
      request_id: `p@${ts}`,
      model,
      latency_ms: latency,
      input_tokens: 100,
      output_tokens: 50,
      cost,
      error,
      metrics: {},
    },
  };
}

function request(id: string, ts: number, body: Record<string, unknown>): DecodedEvent {
  return { type: 'llm_request', ts, body: { request_id: id, session_id: 's', ...body } };
}

/** One source partition: the `derived-extract` records of the events, each with the greatest event time before it. */
class Stream {
  clock = Number.NEGATIVE_INFINITY;
  /** `key`: the attribute the records are keyed by (`all` for the join, `model` for perf_5min). */
  constructor(private readonly key = 'all') {}
  batch(events: readonly DecodedEvent[]): RecordBatch {
    const width = FIELDS.length;
    const values = new Float64Array(events.length * width);
    const attrs: string[] = [];
    const keys: string[] = [];
    const clocks: number[] = [];
    events.forEach((e, i) => {
      const r = derivedExtract(e, CTX)!;
      values.set(r.values, i * width);
      for (const name of ATTRS) attrs.push(r.attrs[name]!);
      keys.push(r.attrs[this.key]!);
      clocks.push(this.clock);
      this.clock = Math.max(this.clock, e.ts);
    });
    return {
      count: events.length,
      width,
      keys,
      attrs,
      attrWidth: ATTRS.length,
      ts: Float64Array.from(events.map((e) => e.ts)),
      clock: Float64Array.from(clocks),
      values,
      refs: Int32Array.from(events.map((_, i) => i)),
    };
  }
}

/** Feeds the events as one batch, then the end-of-batch watermark (or +∞: end of input); returns the rows. */
function run(
  op: Operator,
  events: readonly DecodedEvent[],
  stream = new Stream(),
  end = false,
): FeatureRow[] {
  const c = collector();
  op.processBatch(stream.batch(events), c.out);
  op.onWatermark?.(end ? Number.POSITIVE_INFINITY : stream.clock, c.out);
  return c.rows;
}

const byId = (rows: readonly FeatureRow[]) => new Map(rows.map((r) => [r.entityId, r.values]));
const PERF_BASED = [
  'cost_latency_score',
  'quality_cost_ratio',
  'load_adjusted_latency',
  'pareto_efficiency_score',
] as const;
/** CTX_003 of a queue depth. */
const queueNorm = (q: number) => Math.min(1, Math.log(1 + q) / Math.log(1001));
const cosine = (a: readonly number[], b: readonly number[]) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    dot += x * b[i]!;
    na += x * x;
    nb += b[i]! * b[i]!;
  });
  return dot / Math.sqrt(na * nb);
};
const fatigue = (count: number) => count / (count + 10);

describe('derived-join operator (derived group, DRV_001–DRV_010)', () => {
  it('is configured as the catalog says (half-life 10 min, k = 8, the perf_5min window)', () => {
    expect(NODE.params).toMatchObject({ fatigueHalfLife: HALF_LIFE, clusters: K });
  });

  it('before any perf window fired: perf-based values null; model-based present when the catalog has the model', () => {
    const rows = run(newOp(), [
      catalog('a', T0 - MIN, 0.01, 0.03),
      health(T0, 9, 250),
      perf('a', T0 + 10 * SEC, 100, 0.01),
      request('r1', T0 + MIN, { model: 'a', priority: 8, max_tokens: 100, user_tier: 'pro' }),
      request('r2', T0 + 2 * MIN, { model: 'unknown', priority: 8 }),
    ]);
    expect(rows.map((r) => r.entityId)).toEqual(['r1', 'r2']);
    const v = byId(rows);
    for (const id of ['r1', 'r2'])
      for (const name of PERF_BASED) expect(v.get(id)![name], `${id} ${name}`).toBeNull();
    // DRV_005 with a catalog of one model (MDL_002 = MDL_003 = 1, size large = 1): the present
    // components are expected_output_length 0 (max_tokens ≤ 256) × (1 − 1), (1 − 0.8) × (1 − 1)
    // and user_tier 0.5 × 1, weights 0.15, 0.15, 0.10.
    expect(v.get('r1')!.model_fit_score).toBeCloseTo(
      (0.15 * 0 * 0 + 0.15 * 0.2 * 0 + 0.1 * 0.5 * 1) / 0.4,
      12,
    );
    expect(v.get('r2')!.model_fit_score).toBeNull();
    // DRV_007 = priority × (1 − budget ratio) from the latest system_health
    expect(v.get('r1')!.time_pressure_indicator).toBeCloseTo(0.8 * (1 - 250 / 1000), 12);
    // DRV_009: the model's first use
    expect(v.get('r1')!.model_fatigue_score).toBeCloseTo(fatigue(1), 12);
    expect(v.get('r2')!.model_fatigue_score).toBeCloseTo(fatigue(1), 12);
    // no prompt: no embedding, no similarity
    expect(v.get('r1')!.prompt_embedding_1).toBeNull();
    expect(v.get('r1')!.prompt_similarity_to_avg).toBeNull();
    expect(rows[0]).toMatchObject({
      group: 'derived',
      entityType: 'request',
      version: 1,
      windowStart: null,
      windowEnd: null,
      eventTime: T0 + MIN,
      revision: 0,
    });
    expect(Object.keys(rows[0]!.values).sort()).toEqual(
      NODE.features.flatMap((f) => f.values ?? [f.name]).sort(),
    );
  });

  // Model a's window [T0, T0 + 5 min): latencies 100, 200, 300, 400, the 300 one failed, costs
  // 0.01 … 0.04. Model b's: latencies 50, 60, both ok, costs 0.001, 0.003.
  const window1 = [
    perf('a', T0 + 10 * SEC, 100, 0.01),
    perf('b', T0 + 20 * SEC, 50, 0.001),
    perf('a', T0 + MIN, 200, 0.02),
    perf('a', T0 + 2 * MIN, 300, 0.03, 'upstream timeout'),
    perf('b', T0 + 3 * MIN, 60, 0.003),
    perf('a', T0 + 4 * MIN, 400, 0.04),
  ];
  const A = { p95: 400, success: 3 / 4, avgCost: (0.01 + 0.02 + 0.03 + 0.04) / 4 };
  const B = { p95: 60, success: 1, avgCost: (0.001 + 0.003) / 2 };

  it('joins the latest fired perf_5min window once the watermark is past its end (clock ≥ end + 2 min)', () => {
    const events = [
      catalog('a', T0 - MIN, 0.01, 0.03),
      ...window1,
      health(T0 + 6 * MIN, 9, 250),
      perf('b', T0 + 7 * MIN - 1, 70, 0.002),
      // clock T0 + 7 min − 1: watermark T0 + 5 min − 2 < end − 1: not fired yet
      request('early', T0 + 7 * MIN, { model: 'a', priority: 8 }),
      // clock T0 + 7 min: watermark T0 + 5 min − 1 = end − 1: fired
      request('late', T0 + 7 * MIN + 1, { model: 'a', priority: 8 }),
    ];
    const v = byId(run(newOp(), events));
    for (const name of PERF_BASED) expect(v.get('early')![name], name).toBeNull();
    const late = v.get('late')!;
    // DRV_003 = success_rate_5min / avg_cost_per_request_5min
    expect(late.quality_cost_ratio).toBeCloseTo(A.success / A.avgCost, 9);
    // DRV_008 = latency_p95_5min × (1 + queue_depth_requests), queue 9 → ln 10 / ln 1001
    expect(late.load_adjusted_latency).toBeCloseTo(A.p95 * (1 + queueNorm(9)), 9);
    // DRV_007 = request_priority × (1 − available_budget_ratio)
    expect(late.time_pressure_indicator).toBeCloseTo(0.8 * (1 - 0.25), 12);

    // … and those are exactly what the perf_5min group fires for the same records
    const group = run(
      new SlidingWindowOperator(PERF_5MIN, FIELDS),
      events.filter((e) => e.type === 'performance_metrics'),
      new Stream('model'),
      true,
    ).find((r) => r.entityId === 'a' && r.windowStart === T0)!;
    expect(group.values.latency_p95_5min).toBe(A.p95);
    expect(late.quality_cost_ratio).toBe(
      group.values.success_rate_5min! / group.values.avg_cost_per_request_5min!,
    );
    expect(late.load_adjusted_latency).toBe(group.values.latency_p95_5min! * (1 + queueNorm(9)));
  });

  it('compares the models with a fired window: DRV_002 over the catalog norms, DRV_010 the Pareto distance', () => {
    const rows = run(newOp(), [
      ...window1,
      perf('a', T0 + 7 * MIN, 500, 0.02),
      request('ra', T0 + 8 * MIN, { model: 'a' }),
      request('rb', T0 + 8 * MIN, { model: 'b' }),
      request('rc', T0 + 8 * MIN, { model: 'c' }),
    ]);
    const v = byId(rows);
    // a is the dearest and slowest: cost norm (A − B) / (A − B) = 1, latency norm 1 → 1; b: 0
    expect(v.get('ra')!.cost_latency_score).toBe((1 + 1) / 2);
    expect(v.get('rb')!.cost_latency_score).toBe((0 + 0) / 2);
    // b is better in cost, latency and success: b is the frontier, a at distance 1
    expect(v.get('ra')!.pareto_efficiency_score).toBe(1);
    expect(v.get('rb')!.pareto_efficiency_score).toBe(0);
    expect(v.get('rb')!.quality_cost_ratio).toBeCloseTo(B.success / B.avgCost, 9);
    // c has no fired window
    for (const name of PERF_BASED) expect(v.get('rc')![name], name).toBeNull();
  });

  it('replaces a model’s perf side with its next fired window', () => {
    const rows = run(newOp(), [
      ...window1,
      perf('a', T0 + 5 * MIN, 900, 0.5, 'boom'),
      perf('a', T0 + 6 * MIN, 700, 0.5),
      perf('b', T0 + 12 * MIN, 50, 0.001),
      request('r', T0 + 12 * MIN, { model: 'a' }),
    ]);
    // window [T0 + 5, T0 + 10 min) of a: p95 of {900, 700} = 900, success 1/2, avg cost 0.5
    expect(byId(rows).get('r')!.quality_cost_ratio).toBeCloseTo(0.5 / 0.5, 12);
  });

  it('uses the context with the greatest event time (an older report arriving later is ignored)', () => {
    const rows = run(newOp(), [
      health(T0 + 2 * MIN, 0, 900),
      health(T0 + MIN, 0, 100),
      request('r', T0 + 3 * MIN, { model: 'a', priority: 5 }),
      health(T0 + 4 * MIN, 0, 500),
      request('s', T0 + 5 * MIN, { model: 'a', priority: 5 }),
    ]);
    const v = byId(rows);
    expect(v.get('r')!.time_pressure_indicator).toBeCloseTo(0.5 * (1 - 0.9), 12);
    expect(v.get('s')!.time_pressure_indicator).toBeCloseTo(0.5 * (1 - 0.5), 12);
  });

  it('emits DRV_001 as the prompt embedding, and DRV_004 as the cosine to the mean of the earlier prompts', () => {
    const [p1, p2, p3, p4] = PROMPTS as [string, string, string, string];
    const rows = run(newOp(), [
      request('r1', T0, { prompt: p1 }),
      request('r2', T0 + SEC, { prompt: p2 }),
      request('none', T0 + 2 * SEC, {}),
      request('r3', T0 + 3 * SEC, { prompt: p3 }),
      request('r4', T0 + 4 * SEC, { prompt: p4 }),
    ]);
    const v = byId(rows);
    for (const [id, p] of [
      ['r1', p1],
      ['r2', p2],
      ['r3', p3],
      ['r4', p4],
    ] as const) {
      expect(
        Array.from({ length: 8 }, (_, i) => v.get(id)![`prompt_embedding_${i + 1}`]),
        id,
      ).toEqual(EMB[p]);
    }
    for (let i = 1; i <= 8; i++) expect(v.get('none')![`prompt_embedding_${i}`]).toBeNull();
    expect(v.get('r1')!.prompt_similarity_to_avg).toBeNull();
    expect(v.get('none')!.prompt_similarity_to_avg).toBeNull();
    expect(v.get('r2')!.prompt_similarity_to_avg).toBeCloseTo(cosine(EMB[p2]!, EMB[p1]!), 12); // 0
    // the prompt-less request did not move the centroid: mean of e1, e2 = (½, ½, 0, …)
    const mean12 = EMB[p1]!.map((x, i) => (x + EMB[p2]![i]!) / 2);
    expect(v.get('r3')!.prompt_similarity_to_avg).toBeCloseTo(cosine(EMB[p3]!, mean12), 12); // 1/√1.5
    const mean123 = EMB[p1]!.map((x, i) => (x + EMB[p2]![i]! + EMB[p3]![i]!) / 3);
    expect(v.get('r4')!.prompt_similarity_to_avg).toBeCloseTo(cosine(EMB[p4]!, mean123), 12); // −2/3
    expect(v.get('r4')!.prompt_similarity_to_avg).toBeCloseTo(-2 / 3, 12);
  });

  it('lets DRV_009 grow with repeated use of a model and decay with the half-life, per model', () => {
    const rows = run(newOp(), [
      request('a1', T0, { model: 'a' }),
      request('a2', T0 + MIN, { model: 'a' }),
      request('b1', T0 + MIN, { model: 'b' }),
      request('a3', T0 + 2 * MIN, { model: 'a' }),
      request('a4', T0 + 62 * MIN, { model: 'a' }),
      request('none', T0 + 63 * MIN, {}),
    ]);
    const v = byId(rows);
    const f = (id: string) => v.get(id)!.model_fatigue_score!;
    expect(f('a1')).toBeLessThan(f('a2'));
    expect(f('a2')).toBeLessThan(f('a3'));
    // the decayed count of uses up to and including this one: Σ 2^(−Δt / 10 min)
    const decay = (dt: number) => 2 ** (-dt / HALF_LIFE);
    expect(f('a1')).toBeCloseTo(fatigue(1), 12);
    expect(f('a2')).toBeCloseTo(fatigue(decay(MIN) + 1), 12);
    expect(f('a3')).toBeCloseTo(fatigue(decay(2 * MIN) + decay(MIN) + 1), 12);
    expect(f('b1')).toBeCloseTo(fatigue(1), 12);
    // an hour later the three earlier uses have nearly decayed away
    expect(f('a4')).toBeCloseTo(fatigue(decay(62 * MIN) + decay(61 * MIN) + decay(60 * MIN) + 1), 12);
    expect(f('a4')).toBeLessThan(f('a2'));
    expect(v.get('none')!.model_fatigue_score).toBeNull();
  });

  it('assigns DRV_006 by online k-means over the user’s running mean: cluster / 8', () => {
    const [p1, p2, p3] = PROMPTS as [string, string, string];
    const full = (prompt: string, priority: number) => ({
      prompt,
      prompt_tokens: 40,
      output_length: 'medium',
      task_type: 'summarize',
      priority,
      user_tier: 'pro',
    });
    const rows = run(newOp(), [
      request('u1-1', T0, { user_id: 'u1', ...full(p1, 5) }),
      request('u1-2', T0 + SEC, { user_id: 'u1', ...full(p2, 9) }),
      request('u2-1', T0 + 2 * SEC, { user_id: 'u2', ...full(p3, 1) }),
      // the same request as u1's first: u3's mean equals centroid 0
      request('u3-1', T0 + 3 * SEC, { user_id: 'u3', ...full(p1, 5) }),
      // no priority: the user's vector is incomplete
      request('u4-1', T0 + 4 * SEC, { user_id: 'u4', prompt: p1 }),
      // no user
      request('anon', T0 + 5 * SEC, full(p1, 5)),
    ]);
    const v = byId(rows);
    // the first k distinct vectors open clusters 0, 1, 2 in order
    expect(v.get('u1-1')!.user_behavior_cluster).toBe(0 / K);
    expect(v.get('u1-2')!.user_behavior_cluster).toBe(1 / K);
    expect(v.get('u2-1')!.user_behavior_cluster).toBe(2 / K);
    expect(v.get('u3-1')!.user_behavior_cluster).toBe(0 / K);
    expect(v.get('u4-1')!.user_behavior_cluster).toBeNull();
    expect(v.get('anon')!.user_behavior_cluster).toBeNull();
  });

  // BUG (operators/derived-join.ts, onModel / onRequest): the join stores the MDL values of the
  // `derived-extract` record, where catalog-extract computed MDL_002/MDL_003 with the model's own
  // prices as the "catalog maximum" (extractors.ts modelExtract: modelStaticFeatures(b,
  // { costIn, costOut }, …)), so every priced model reads 1. The raw prices it also stores
  // (cost_in, cost_out) are never used. DRV_005 therefore sees 1 − 1 = 0 for the two price
  // components of every model instead of 1 − (price / catalog max) as in the model_static row.
  // Here: model b costs 0.2 of the maximum, DRV_005 should be
  // (0.15·1·(1 − 0.2) + 0.15·1·(1 − 0.2) + 0.10·0·0) / 0.4 = 0.6; the join gives 0.
  it('scores DRV_005 against the model_static values of the model (prices over the catalog maximum)', () => {
    const catalogEvents = [
      catalog('a', T0 - 2 * MIN, 0.01, 0.03),
      catalog('b', T0 - MIN, 0.002, 0.006, 'small'),
    ];
    // the model_static group's rows for the same announcements
    const staticOp = new ModelTableOperator(
      topo.nodes.find((n): n is ProcessNode => n.kind === 'process' && n.id === 'model_static')!,
      MAPS.get('catalog-extract')!.fields,
      MAPS.get('catalog-extract')!.attributes,
    );
    const c = collector();
    const width = MAPS.get('catalog-extract')!.fields.length;
    const recs = catalogEvents.map((e) => modelExtract(e)!);
    staticOp.processBatch(
      {
        count: recs.length,
        width,
        keys: recs.map(() => 'catalog'),
        attrs: recs.flatMap((r) => [r.attrs.catalog!, r.attrs.model!]),
        attrWidth: 2,
        ts: Float64Array.from(catalogEvents.map((e) => e.ts)),
        clock: Float64Array.from([Number.NEGATIVE_INFINITY, catalogEvents[0]!.ts]),
        values: Float64Array.from(recs.flatMap((r) => [...r.values])),
        refs: Int32Array.from([0, 1]),
      },
      c.out,
    );
    const b = c.rows.filter((r) => r.entityId === 'b').at(-1)!.values;
    expect([b.model_cost_per_1k_input, b.model_cost_per_1k_output, b.model_size_class]).toEqual([
      0.2, 0.2, 0,
    ]);

    const rows = run(newOp(), [
      ...catalogEvents,
      // no prompt: only REQ_004 (max_tokens > 1024 → 1), REQ_008 (0) and REQ_015 (free 0) are set
      request('r', T0, { model: 'b', max_tokens: 2000, priority: 0, user_tier: 'free' }),
    ]);
    const expected =
      (0.15 * 1 * (1 - b.model_cost_per_1k_output!) +
        0.15 * (1 - 0) * (1 - b.model_cost_per_1k_input!) +
        0.1 * 0 * b.model_size_class!) /
      (0.15 + 0.15 + 0.1);
    expect(expected).toBeCloseTo(0.6, 12);
    expect(byId(rows).get('r')!.model_fit_score).toBeCloseTo(expected, 12);
  });

  it('scores a request against the catalog as it is at the request: a later, pricier model rescales the prices of the others', () => {
    const before = [catalog('a', T0 - 2 * MIN, 0.01, 0.03), catalog('b', T0 - MIN, 0.002, 0.006, 'small')];
    const pricier = catalog('c', T0 + MIN, 0.04, 0.12);
    const req = (id: string, ts: number) =>
      request(id, ts, { model: 'b', max_tokens: 2000, priority: 0, user_tier: 'free' });
    // One instance sees the new model between two requests for b; the reference sees it from the start.
    const op = newOp();
    const stream = new Stream();
    const first = byId(run(op, [...before, req('r1', T0)], stream)).get('r1')!;
    const second = byId(run(op, [pricier, req('r2', T0 + 2 * MIN)], stream)).get('r2')!;
    const reference = byId(
      run(newOp(), [...before, pricier, req('r2', T0 + 2 * MIN)], new Stream(), true),
    ).get('r2')!;
    expect(second.model_fit_score).toBe(reference.model_fit_score);
    // b's prices over a greater maximum are smaller: its fit for a low-priority, long answer grows.
    expect(second.model_fit_score!).toBeGreaterThan(first.model_fit_score!);
  });

  it('gives identical rows after checkpoint → restore mid-stream as an uninterrupted instance', () => {
    const [p1, p2, p3, p4, p5] = PROMPTS as [string, string, string, string, string];
    const user = (u: string, prompt: string, priority: number) => ({
      user_id: u,
      prompt,
      prompt_tokens: 30 + priority,
      output_length: 'short',
      task_type: 'classify',
      priority,
      user_tier: 'enterprise',
    });
    const events: DecodedEvent[] = [
      catalog('a', T0 - MIN, 0.01, 0.03),
      health(T0, 10, 400),
      ...window1.slice(0, 3),
      request('r1', T0 + 90 * SEC, { model: 'a', ...user('u1', p1, 3) }),
      catalog('b', T0 + 100 * SEC, 0.002, 0.006, 'small'),
      ...window1.slice(3),
      request('r2', T0 + 4 * MIN + 30 * SEC, { model: 'b', ...user('u2', p2, 7) }),
      perf('a', T0 + 6 * MIN, 800, 0.05),
      health(T0 + 6 * MIN, 50, 100),
      perf('b', T0 + 7 * MIN, 90, 0.004),
      request('r3', T0 + 7 * MIN + SEC, { model: 'a', ...user('u1', p3, 9) }),
      perf('a', T0 + 5 * MIN + 30 * SEC, 600, 0.02, 'timeout'), // out of order, within the bound
      request('r4', T0 + 8 * MIN, { model: 'b', ...user('u3', p4, 1) }),
      perf('b', T0 + 12 * MIN, 40, 0.001),
      health(T0 + 11 * MIN, 0, 1000), // the newest context from here on
      request('r5', T0 + 12 * MIN + SEC, { model: 'a', ...user('u2', p5, 5) }),
      request('r6', T0 + 13 * MIN, { model: 'c' }),
      request('r7', T0 + 13 * MIN + SEC, { model: 'a', ...user('u1', p1, 3) }),
    ];
    const straight = run(newOp(), events);
    expect(straight).toHaveLength(7);
    // the stream reaches every kind of value, so the comparison below covers them
    for (const name of NODE.features.flatMap((f) => f.values ?? [f.name])) {
      expect(
        straight.some((r) => r.values[name] !== null),
        name,
      ).toBe(true);
    }
    for (let cut = 1; cut < events.length; cut++) {
      const stream = new Stream();
      const first = newOp();
      const store = new Map<string, string>();
      const save = (changes: ReadonlyMap<string, string | null>) => {
        for (const [k, v] of changes) {
          if (v === null) store.delete(k);
          else store.set(k, v);
        }
      };
      // two incremental checkpoints before the cut
      const before = run(first, events.slice(0, Math.ceil(cut / 2)), stream);
      save(first.onCheckpoint());
      before.push(...run(first, events.slice(Math.ceil(cut / 2), cut), stream));
      save(first.onCheckpoint());
      const restored = newOp();
      restored.onStart(store);
      const after = run(restored, events.slice(cut), stream);
      expect([...before, ...after], `cut at ${cut}`).toEqual(straight);
    }
  });

  it('behind the event-time sort: performance records skip its buffer and give the same rows and late records as when they wait in it', () => {
    // A seeded disordered stream of every kind (perf records up to 14 min behind: some beyond
    // the 10-min sort bound, i.e. late), fed in batches, checkpointed and restored midway.
    let seed = 99;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const models = ['a', 'b', 'c'];
    const events: DecodedEvent[] = [catalog('a', T0, 0.01, 0.03), catalog('b', T0, 0.002, 0.006, 'small')];
    for (let i = 0; i < 1_500; i++) {
      const now = T0 + i * 2 * SEC;
      const m = models[Math.floor(rand() * 3)]!;
      const x = rand();
      if (x < 0.6) {
        const behind = rand() < 0.05 ? rand() * 14 * MIN : rand() * 90 * SEC;
        events.push(
          perf(
            m,
            Math.round(now - behind),
            50 + rand() * 900,
            rand() * 0.05,
            rand() < 0.1 ? 'timeout' : null,
          ),
        );
      } else if (x < 0.9) {
        events.push(
          request(`r${i}`, Math.round(now - rand() * 60 * SEC), {
            model: m,
            user_id: `u${i % 7}`,
            prompt: PROMPTS[i % PROMPTS.length],
            prompt_tokens: 20 + (i % 50),
            output_length: 'short',
            task_type: 'classify',
            priority: 1 + (i % 9),
            user_tier: 'enterprise',
          }),
        );
      } else if (x < 0.97) events.push(health(now, Math.floor(rand() * 100), Math.floor(rand() * 1000)));
      else events.push(catalog(m, now, 0.001 + rand() * 0.02, 0.003 + rand() * 0.06));
    }
    const BOUND = 10 * MIN;
    /** The join with the bypass hidden: every record waits in the sort (as before the bypass). */
    const sortedAll = (): Operator => {
      const op = newOp();
      return {
        id: op.id,
        tables: op.tables,
        processBatch: (b, out) => op.processBatch(b, out),
        onWatermark: (c, out) => op.onWatermark(c, out),
        onStart: (e) => op.onStart(e),
        onCheckpoint: () => op.onCheckpoint(),
      };
    };
    const runAll = (make: () => Operator, cut: number | null) => {
      const c = collector();
      const stream = new Stream();
      let op = new EventTimeSortedOperator(make(), BOUND);
      const store = new Map<string, string>();
      for (let start = 0; start < events.length; start += 97) {
        if (cut !== null && start >= cut && start < cut + 97) {
          for (const [k, v] of op.onCheckpoint()) {
            if (v === null) store.delete(k);
            else store.set(k, v);
          }
          op = new EventTimeSortedOperator(make(), BOUND);
          op.onStart(store);
        }
        const b = stream.batch(events.slice(start, start + 97));
        const refs = b.refs.map((r) => r + start);
        op.processBatch({ ...b, refs }, c.out);
        op.onWatermark(stream.clock, c.out);
      }
      op.onWatermark(Number.POSITIVE_INFINITY, c.out);
      return { rows: c.rows, late: c.late };
    };
    const waited = runAll(sortedAll, null);
    const bypassed = runAll(newOp, null);
    expect(waited.rows.length).toBeGreaterThan(400);
    expect(waited.late.length).toBeGreaterThan(5);
    // some requests saw a fired perf window
    expect(waited.rows.filter((r) => r.values.pareto_efficiency_score !== null).length).toBeGreaterThan(100);
    expect(bypassed).toEqual(waited);
    expect(runAll(newOp, 776)).toEqual(waited);

    // A clock jump inside a run of performance records releases a request that must see the
    // run's earlier records: the run is handed over before the release.
    const jump = [
      request('r0', T0 + 8 * MIN, { model: 'a' }),
      perf('a', T0 + MIN, 300, 0.01),
      perf('a', T0 + 25 * MIN, 400, 0.02),
      perf('a', T0 + 26 * MIN, 500, 0.03),
    ];
    const once = (op: Operator) => {
      const c = collector();
      const sorted = new EventTimeSortedOperator(op, BOUND);
      sorted.processBatch(new Stream().batch(jump), c.out);
      return c.rows;
    };
    const r0 = once(newOp());
    expect(r0.map((r) => r.entityId)).toEqual(['r0']);
    expect(r0[0]!.values.quality_cost_ratio).not.toBeNull();
    expect(r0).toEqual(once(sortedAll()));
  });

  it('restores a checkpoint whose private perf window holds the whole perf_5min accumulators (before it was narrowed)', () => {
    const events: DecodedEvent[] = [
      catalog('a', T0 - MIN, 0.01, 0.03),
      health(T0, 10, 400),
      perf('a', T0 + MIN, 300, 0.01),
      perf('a', T0 + 2 * MIN, 500, 0.03, 'timeout'),
      perf('b', T0 + 3 * MIN, 90, 0.004),
      request('r1', T0 + 4 * MIN, { model: 'a' }),
      perf('a', T0 + 6 * MIN, 800, 0.05),
      request('r2', T0 + 8 * MIN, { model: 'a' }),
      perf('b', T0 + 9 * MIN, 40, 0.002),
      request('r3', T0 + 13 * MIN, { model: 'b' }),
      request('r4', T0 + 14 * MIN, { model: 'a' }),
    ];
    const stream = new Stream();
    const first = newOp();
    run(first, events.slice(0, 7), stream);
    const saved = first.onCheckpoint();
    // The same checkpoint as the whole window would have written it: every perf_5min slot.
    const whole = compileAggregation(PERF_5MIN.features, FIELDS).slots;
    const narrow = compileAggregation(
      PERF_5MIN.features.filter((f) =>
        ['latency_p95_5min', 'success_rate_5min', 'avg_cost_per_request_5min'].includes(f.name),
      ),
      FIELDS,
    ).slots;
    expect(narrow.length).toBeLessThan(whole.length);
    const wide = new Map<string, string>();
    let widened = 0;
    for (const [k, v] of saved) {
      if (v === null) continue;
      // A build that wrote whole panes stored them as format version 1 of the window's table.
      if (k === 'w/@version/k') {
        wide.set(k, '1');
        continue;
      }
      if (!k.startsWith('w/k/')) {
        wide.set(k, v);
        continue;
      }
      const st = JSON.parse(v) as { p: Array<[number, unknown[]]> };
      st.p = st.p.map(([start, acc]) => {
        const full: unknown[] = whole.map((w) => (w.kind === 'count' || w.kind === 'n' ? 7 : [1, 2]));
        narrow.forEach((n, i) => {
          full[whole.findIndex((w) => w.kind === n.kind && w.field === n.field)] = acc[i];
        });
        widened++;
        return [start, full];
      });
      wide.set(k, JSON.stringify(st));
    }
    expect(widened).toBeGreaterThan(0);
    const fromOwn = newOp();
    fromOwn.onStart(new Map([...saved].filter((e): e is [string, string] => e[1] !== null)));
    const fromWide = newOp();
    fromWide.onStart(wide);
    const rest = events.slice(7);
    const a = run(fromOwn, rest, Object.assign(new Stream(), { clock: stream.clock }), true);
    const b = run(fromWide, rest, Object.assign(new Stream(), { clock: stream.clock }), true);
    expect(a.some((r) => r.values.quality_cost_ratio !== null)).toBe(true);
    expect(b).toEqual(a);
  });
});
