import {
  modelTableNorm,
  costLatencyScore,
  DecayedCounter,
  loadAdjustedLatency,
  modelFitScore,
  modelFitVector,
  OnlineKMeans,
  type ParetoPoint,
  paretoDistance,
  qualityCostRatio,
  RunningCentroid,
  requestFitVector,
  timePressure,
} from '../features/derived.js';
import {
  type KeyedStateTable,
  keyedTable,
  type OperatorTables,
  scopeTables,
  TableOperator,
  type TableCodec,
  type ValueTable,
  valueTable,
  WATERMARK_CODEC,
  withStep,
} from '../../../../operators/index.js';
import type { ProcessNode, WindowNode } from '../../../../topology/index.js';
import { DERIVED_KIND, EMBEDDING_DIMS, MODEL_VALUES, REQUEST_VALUES } from './extractors.js';
import type { Emitter, FeatureRow, RecordBatch, StateTableSpec } from '../../../../operators/index.js';
import { watermarkFor } from '../../../../operators/index.js';
import { createWindowOperator, type WindowOperator } from '../../../../operators/index.js';
import { compileAggregation } from '../../../../operators/index.js';
import { InternalError } from '../../../shared/errors.js';

/** Parameters of the `derived-join` processor. */
export interface DerivedJoinParams {
  /** The perf_5min window the join reads its performance side from (same spec as the group's). */
  readonly perfWindow: Omit<WindowNode, 'kind' | 'id' | 'inputs'>;
  /** DRV_009's half-life, ms. */
  readonly fatigueHalfLife: number;
  /** DRV_006's k. */
  readonly clusters: number;
}

/** The latest fired perf_5min window of a model. */
interface PerfSide {
  windowEnd: number;
  revision: number;
  p95: number | null;
  success: number | null;
  avgCost: number | null;
}

/** The perf_5min values the join reads (PERF_002, PERF_006, PERF_009). */
const PERF_SIDE = new Set(['latency_p95_5min', 'success_rate_5min', 'avg_cost_per_request_5min']);

/** The request features that form a user's behaviour vector (DRV_006): running mean per user. */
const USER_VECTOR = [
  'prompt_length',
  'prompt_complexity',
  'expected_output_length',
  'task_type_classification',
  'prompt_domain',
  'request_priority',
  'user_tier',
] as const;

interface UserState {
  n: number;
  mean: number[];
}

/**
 * The `derived` group (catalog A6): one row per `llm_request`, entity `request`, no window. A
 * stream–table join: each request is joined with the latest `model_static` entry of its model
 * (the catalog table), the latest *fired* `perf_5min` window of its model, and the latest context
 * (the `system_health` report with the greatest event time, system-wide), all as of the request's
 * place in the stream. Keyed by a constant: one shard holds the tables (the catalog and the
 * contexts are small; the Pareto frontier, the prompt centroid and the k-means centroids are
 * global by definition), as Flink would run a parallelism-1 co-process or Kafka Streams a
 * global-table join.
 *
 * The performance side is materialised here by running the same perf_5min window over the
 * same records (a private window instance whose rows update the table and are not emitted), so
 * the join sees exactly what the perf_5min group fires, at the same watermark.
 */
export class DerivedJoinOperator extends TableOperator {
  readonly id: string;
  readonly tables: readonly StateTableSpec[];
  private readonly params: DerivedJoinParams;
  private readonly perfWindow: WindowOperator;
  private readonly f: Readonly<Record<string, number>>;
  private readonly modelAttr: number;
  private readonly userAttr: number;
  private readonly requestAttr: number;
  private readonly valueNames: readonly string[];
  /** Positions in the record layout, read per record (no lookup by name). */
  private readonly at: {
    readonly kind: number;
    readonly request: readonly number[];
    readonly emb: readonly number[];
    readonly model: readonly number[];
    readonly costIn: number;
    readonly costOut: number;
    readonly queue: number;
    readonly budget: number;
  };
  /** A row's values before the join fills them: every value name, null, in the catalog's order. */
  private readonly blankValues: Readonly<Record<string, number | null>>;
  /**
   * What the request rows read of the tables, derived once per change of the table rather than per
   * request: the perf side (per model: DRV_002 and DRV_010 over the models with a fired window)
   * and the catalog (per model: the model_static values, prices over the catalog maximum). Null
   * when the table changed since.
   */
  private perfView: Map<string, { costLatency: number | null; pareto: number | null }> | null = null;
  private catalogView: Map<string, (number | null)[] | null> | null = null;

  // Tables (keyed state of the one key, checkpointed per entry): the model table by model
  // (`cat/<model>`), the latest fired perf_5min window by model, users' running means, fatigue.
  private models!: KeyedStateTable<number[]>;
  private perf!: KeyedStateTable<PerfSide>;
  private users!: KeyedStateTable<UserState>;
  private fatigue!: KeyedStateTable<DecayedCounter>;
  // Single values, checkpointed when changed.
  private context: { ts: number; queue: number; budget: number } | null = null;
  private centroid: RunningCentroid;
  private kmeans: OnlineKMeans;
  private wm = Number.NEGATIVE_INFINITY;
  private readonly dirty = new Set<'wm' | 'ctx' | 'centroid' | 'kmeans'>();
  private wmTable!: ValueTable<number>;
  private ctxTable!: ValueTable<{ ts: number; queue: number; budget: number }>;
  private centroidTable!: ValueTable<RunningCentroid>;
  private kmeansTable!: ValueTable<OnlineKMeans>;

  constructor(
    private readonly node: ProcessNode,
    fields: readonly string[],
    attributes: readonly string[],
  ) {
    super();
    this.id = node.id;
    this.params = node.params as unknown as DerivedJoinParams;
    // Only the three values the join reads: the same window computes nothing else for it.
    const perfFeatures = this.params.perfWindow.features.filter((f) => PERF_SIDE.has(f.name));
    const slotsFromFull = slotMapping(this.params.perfWindow, perfFeatures, fields);
    this.perfWindow = createWindowOperator(
      {
        ...this.params.perfWindow,
        features: perfFeatures,
        kind: 'window',
        id: `${node.id}.perf`,
        inputs: [],
      } as WindowNode,
      fields,
    );
    this.f = Object.fromEntries(fields.map((n, i) => [n, i]));
    this.modelAttr = attributes.indexOf('model');
    this.userAttr = attributes.indexOf('user_id');
    this.requestAttr = attributes.indexOf('request_id');
    this.valueNames = node.features.flatMap((x) => x.values ?? [x.name]);
    const at = (name: string): number => {
      const i = this.f[name];
      if (i === undefined) throw new InternalError(`derived-join: the record layout has no field ${name}`);
      return i;
    };
    this.at = {
      kind: at('kind'),
      request: REQUEST_VALUES.map(at),
      emb: Array.from({ length: EMBEDDING_DIMS }, (_, i) => at(`emb_${i + 1}`)),
      model: MODEL_VALUES.map(at),
      costIn: at('cost_in'),
      costOut: at('cost_out'),
      queue: at('queue_depth_requests'),
      budget: at('available_budget_ratio'),
    };
    this.blankValues = Object.fromEntries(this.valueNames.map((n) => [n, null]));
    this.centroid = new RunningCentroid(EMBEDDING_DIMS);
    this.kmeans = new OnlineKMeans(this.params.clusters, USER_VECTOR.length);
    this.tables = [
      keyedTable<number[]>('cat', CATALOG_CODEC),
      keyedTable<PerfSide>('perf', jsonCodec<PerfSide>()),
      keyedTable<UserState>('user', jsonCodec<UserState>()),
      keyedTable<DecayedCounter>('fatigue', DecayedCounter.codec),
      valueTable<number>('wm', WATERMARK_CODEC),
      valueTable('ctx', CONTEXT_CODEC),
      valueTable<RunningCentroid>('centroid', RunningCentroid.codec),
      valueTable<OnlineKMeans>('kmeans', OnlineKMeans.codec),
      // The private perf_5min window's own tables, under `w/`; its panes get one more step on
      // their chain: narrowed to the slots the join reads (see narrowPanes).
      scopeTables(
        'w',
        this.perfWindow.tables.map((t) =>
          t.kind === 'keyed' && t.name === 'k'
            ? keyedTable(
                'k',
                withStep(t.codec, (raw) => narrowPanes(raw, slotsFromFull)),
              )
            : t,
        ),
      ),
    ];
    this.attachOwn();
  }

  protected bind(tables: OperatorTables): void {
    this.models = tables.keyed('cat');
    this.perf = tables.keyed('perf');
    this.users = tables.keyed('user');
    this.fatigue = tables.keyed('fatigue');
    this.wmTable = tables.value('wm');
    this.ctxTable = tables.value('ctx');
    this.centroidTable = tables.value('centroid');
    this.kmeansTable = tables.value('kmeans');
    this.perfWindow.attach(tables.scope('w'));
  }

  processBatch(batch: RecordBatch, out: Emitter): void {
    const { width, values, attrs, attrWidth } = batch;
    const kindAt = this.at.kind;
    // Performance records go to the private window in contiguous runs (keyed by model).
    let runStart = -1;
    for (let r = 0; r < batch.count; r++) {
      const base = r * width;
      const kind = values[base + kindAt]!;
      if (kind === DERIVED_KIND.perf) {
        if (runStart < 0) runStart = r;
        continue;
      }
      if (runStart >= 0) {
        this.feedPerf(batch, runStart, r);
        runStart = -1;
      }
      this.advance(batch.clock[r]!);
      const ts = batch.ts[r]!;
      const ab = r * attrWidth;
      if (kind === DERIVED_KIND.model) this.onModel(attrs[ab + this.modelAttr]!, ts, values, base);
      else if (kind === DERIVED_KIND.health) this.onHealth(ts, values, base);
      else if (kind === DERIVED_KIND.request) out.row(this.onRequest(attrs, ab, ts, values, base));
    }
    if (runStart >= 0) this.feedPerf(batch, runStart, batch.count);
  }

  /**
   * Performance records only feed the private perf_5min window, whose result does not depend on
   * their order (exact sums, nearest-rank quantiles) and which only the sorted stream's clock
   * fires: they need no place in the event-time sort. A record the sort lets through is never
   * behind that window's watermark (it is ahead of everything released), so the window sees the
   * same records at the same firings as when they waited in the sort.
   */
  isUnordered(values: Float64Array, offset: number): boolean {
    return values[offset + this.at.kind] === DERIVED_KIND.perf;
  }

  processUnordered(batch: RecordBatch, _out: Emitter): void {
    this.feedPerf(batch, 0, batch.count);
  }

  onWatermark(clock: number, _out: Emitter): void {
    this.advance(clock);
  }

  /** Moves the private window's watermark (firing what closed) before a non-perf record. */
  private advance(clock: number): void {
    const wm = watermarkFor(clock, this.params.perfWindow.outOfOrderness);
    if (wm > this.wm) {
      this.wm = wm;
      this.dirty.add('wm');
    }
    this.perfWindow.onWatermark(clock, this.capture);
  }

  private readonly capture: Emitter = {
    row: (row: FeatureRow) => {
      const prev = this.perf.get(row.entityId);
      const end = row.windowEnd ?? Number.NEGATIVE_INFINITY;
      if (
        prev !== undefined &&
        (prev.windowEnd > end || (prev.windowEnd === end && prev.revision > row.revision))
      )
        return;
      this.perfView = null;
      this.perf.set(row.entityId, {
        windowEnd: end,
        revision: row.revision,
        p95: row.values.latency_p95_5min ?? null,
        success: row.values.success_rate_5min ?? null,
        avgCost: row.values.avg_cost_per_request_5min ?? null,
      });
    },
    // Late records are reported by the perf_5min group itself.
    late: () => {},
  };

  private feedPerf(batch: RecordBatch, start: number, end: number): void {
    const n = end - start;
    const keys: string[] = new Array(n);
    for (let i = 0; i < n; i++) keys[i] = batch.attrs[(start + i) * batch.attrWidth + this.modelAttr]!;
    this.perfWindow.processBatch(
      {
        count: n,
        width: batch.width,
        keys,
        attrs: [],
        attrWidth: 0,
        ts: batch.ts.subarray(start, end),
        clock: batch.clock.subarray(start, end),
        values: batch.values.subarray(start * batch.width, end * batch.width),
        refs: batch.refs.subarray(start, end),
      },
      this.capture,
    );
  }

  private onModel(model: string, ts: number, v: Float64Array, base: number): void {
    const prev = this.models.get(model);
    if (prev !== undefined && prev[0]! > ts) return;
    const entry = [ts];
    for (const i of this.at.model) entry.push(v[base + i]!);
    entry.push(v[base + this.at.costIn]!, v[base + this.at.costOut]!);
    this.models.set(model, entry);
    this.catalogView = null;
  }

  private onHealth(ts: number, v: Float64Array, base: number): void {
    if (this.context !== null && this.context.ts > ts) return;
    this.context = { ts, queue: v[base + this.at.queue]!, budget: v[base + this.at.budget]! };
    this.dirty.add('ctx');
  }

  /**
   * DRV_005's model side for a model: its model_static values (MDL_002/003 over the catalog's
   * maximum), or null when the catalog does not know it. Derived once per catalog change.
   */
  private modelVector(model: string): (number | null)[] | null {
    let view = this.catalogView;
    if (view === null) {
      view = new Map();
      this.catalogView = view;
    }
    let vec = view.get(model);
    if (vec === undefined) {
      const entry = this.modelEntry(model);
      if (entry === null) vec = null;
      else {
        const m: Record<string, number | null> = {};
        for (const n of MODEL_VALUES) m[n] = finiteOrNull(entry[n]!);
        vec = modelFitVector(m);
      }
      view.set(model, vec);
    }
    return vec;
  }

  /** The catalog entry of a model as named values, or null when the catalog does not know it. */
  private modelEntry(model: string): Record<string, number> | null {
    const e = this.models.get(model);
    if (e === undefined) return null;
    const out: Record<string, number> = {};
    MODEL_VALUES.forEach((n, i) => {
      out[n] = e[i + 1]!;
    });
    out.cost_in = e[MODEL_VALUES.length + 1]!;
    out.cost_out = e[MODEL_VALUES.length + 2]!;
    // MDL_002/003 are table-wide: the price over the catalog's maximum (as model_static emits them).
    let maxIn = Number.NaN;
    let maxOut = Number.NaN;
    for (const other of this.models.values()) {
      const i = other[MODEL_VALUES.length + 1]!;
      const o = other[MODEL_VALUES.length + 2]!;
      if (Number.isFinite(i) && !(i <= maxIn)) maxIn = i;
      if (Number.isFinite(o) && !(o <= maxOut)) maxOut = o;
    }
    const unit = (x: number) => Math.min(1, Math.max(0, x));
    out.model_cost_per_1k_input = unit(out.cost_in / maxIn);
    out.model_cost_per_1k_output = unit(out.cost_out / maxOut);
    return out;
  }

  /**
   * DRV_002 and DRV_010 of a model with a fired window: both compare it with every model with a
   * fired window, so they are derived for all of them at once, once per change of the perf side.
   */
  private perfScores(model: string): { costLatency: number | null; pareto: number | null } {
    let view = this.perfView;
    if (view === null) {
      view = new Map();
      const sides = [...this.perf.values()];
      const costs = sides.map((p) => p.avgCost);
      const p95s = sides.map((p) => p.p95);
      // DRV_010: distance to the Pareto frontier over (avg cost, p95 latency, success rate).
      const models = [...this.perf.keys()].sort();
      const points: ParetoPoint[] = models.map((m) => {
        const p = this.perf.get(m)!;
        return { cost: p.avgCost, latency: p.p95, quality: p.success };
      });
      for (let i = 0; i < models.length; i++) {
        const p = this.perf.get(models[i]!)!;
        view.set(models[i]!, {
          // DRV_002: avg cost (PERF_009) and p95 latency (PERF_002), min–max over the models with a fired window.
          costLatency: costLatencyScore(modelTableNorm(p.avgCost, costs), modelTableNorm(p.p95, p95s)),
          pareto: paretoDistance(points, i),
        });
      }
      this.perfView = view;
    }
    return view.get(model)!;
  }

  private onRequest(
    attrs: readonly string[],
    ab: number,
    ts: number,
    v: Float64Array,
    base: number,
  ): FeatureRow {
    const at = this.at;
    const model = attrs[ab + this.modelAttr]!;
    const user = attrs[ab + this.userAttr]!;
    const values: Record<string, number | null> = { ...this.blankValues };

    // DRV_001: the projected prompt embedding; DRV_004: cosine to the centroid of the earlier prompts.
    const emb: number[] = [];
    let embFinite = true;
    for (let i = 0; i < EMBEDDING_DIMS; i++) {
      const x = v[base + at.emb[i]!]!;
      if (!Number.isFinite(x)) embFinite = false;
      emb.push(x);
    }
    if (embFinite) {
      for (let i = 0; i < EMBEDDING_DIMS; i++) values[EMBEDDING_NAMES[i]!] = emb[i]!;
      values.prompt_similarity_to_avg = this.centroid.similarity(emb);
      this.centroid.update(emb);
      this.dirty.add('centroid');
    }

    const req: Record<string, number | null> = {};
    for (let i = 0; i < REQUEST_VALUES.length; i++)
      req[REQUEST_VALUES[i]!] = finiteOrNull(v[base + at.request[i]!]!);
    const perf = model === '' ? undefined : this.perf.get(model);

    if (perf !== undefined) {
      const scores = this.perfScores(model);
      values.cost_latency_score = scores.costLatency;
      // DRV_003, DRV_008.
      values.quality_cost_ratio = qualityCostRatio(perf.success, perf.avgCost);
      if (this.context !== null) {
        values.load_adjusted_latency = loadAdjustedLatency(perf.p95, finiteOrNull(this.context.queue));
      }
      values.pareto_efficiency_score = scores.pareto;
    }
    // DRV_005: request × model features.
    const modelVec = model === '' ? null : this.modelVector(model);
    if (modelVec !== null) values.model_fit_score = modelFitScore(requestFitVector(req), modelVec);
    // DRV_006: the user's running behaviour vector, clustered by online k-means.
    if (user !== '') {
      const x = USER_VECTOR.map((n) => req[n] ?? Number.NaN);
      if (x.every(Number.isFinite)) {
        const u = this.users.get(user) ?? { n: 0, mean: new Array<number>(x.length).fill(0) };
        u.n++;
        u.mean = u.mean.map((m, i) => m + (x[i]! - m) / u.n);
        this.users.set(user, u);
        const cluster = this.kmeans.assign(u.mean);
        this.dirty.add('kmeans');
        values.user_behavior_cluster = cluster / this.params.clusters;
      }
    }
    // DRV_007: priority under budget pressure.
    if (this.context !== null) {
      values.time_pressure_indicator = timePressure(
        req.request_priority ?? null,
        finiteOrNull(this.context.budget),
      );
    }
    // DRV_009: decayed recent uses of the model (this request included).
    if (model !== '') {
      const c = this.fatigue.get(model) ?? new DecayedCounter(this.params.fatigueHalfLife);
      c.add(ts);
      this.fatigue.set(model, c);
      values.model_fatigue_score = finiteOrNull(c.score(ts));
    }
    return {
      group: this.node.group,
      entityType: this.node.entityType,
      entityId: attrs[ab + this.requestAttr]!,
      version: this.node.version,
      windowStart: null,
      windowEnd: null,
      eventTime: ts,
      revision: 0,
      values,
    };
  }

  override restored(): void {
    this.wm = this.wmTable.get() ?? Number.NEGATIVE_INFINITY;
    this.context = this.ctxTable.get() ?? null;
    this.centroid = this.centroidTable.get() ?? new RunningCentroid(EMBEDDING_DIMS);
    this.kmeans = this.kmeansTable.get() ?? new OnlineKMeans(this.params.clusters, USER_VECTOR.length);
    this.dirty.clear();
    this.perfView = null;
    this.catalogView = null;
    this.perfWindow.restored?.();
  }

  override beforeCheckpoint(): void {
    for (const k of this.dirty) {
      if (k === 'wm') this.wmTable.set(this.wm);
      else if (k === 'ctx') this.ctxTable.set(this.context!);
      else if (k === 'centroid') this.centroidTable.set(this.centroid);
      else this.kmeansTable.set(this.kmeans);
    }
    this.dirty.clear();
    this.perfWindow.beforeCheckpoint?.();
  }
}

/** The value names of DRV_001, by dimension. */
const EMBEDDING_NAMES = Array.from({ length: EMBEDDING_DIMS }, (_, i) => `prompt_embedding_${i + 1}`);

/** A finite number, or null (a missing input). */
function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * A private-window key's state as checkpointed: panes whose accumulators have the slots of the
 * whole perf_5min feature list (written before the window was narrowed to the three values the
 * join reads) keep just the narrowed window's slots. Panes already narrowed are left as they are.
 */
function narrowPanes(raw: string, slots: { readonly full: number; readonly map: readonly number[] }): string {
  const { full, map } = slots;
  if (full === map.length) return raw;
  const state = JSON.parse(raw) as { p?: Array<[number, unknown[]]> };
  if (!Array.isArray(state.p) || !state.p.some(([, acc]) => acc.length === full)) return raw;
  state.p = state.p.map(([start, acc]) => [start, acc.length === full ? map.map((i) => acc[i]) : acc]);
  return JSON.stringify(state);
}

/** A JSON state value (non-finite numbers stored as null). */
function jsonCodec<V>(): TableCodec<V> {
  return { version: 1, encode: (v) => stateJson(v), decode: (s) => JSON.parse(s) as V };
}

/** A catalog entry: [ts, model values…, cost_in, cost_out], missing values as null. */
const CATALOG_CODEC: TableCodec<number[]> = {
  version: 1,
  encode: (v) => stateJson(v),
  decode: (s) => (JSON.parse(s) as Array<number | null>).map(nanOf),
};

/** The latest context (system_health), missing values as null. */
const CONTEXT_CODEC: TableCodec<{ ts: number; queue: number; budget: number }> = {
  version: 1,
  encode: (v) => stateJson(v),
  decode: (s) => {
    const c = JSON.parse(s) as { ts: number; queue: number | null; budget: number | null };
    return { ts: c.ts, queue: nanOf(c.queue), budget: nanOf(c.budget) };
  },
};

/** JSON of a state value, non-finite numbers (NaN: a missing input) as null. */
function stateJson(v: unknown): string {
  return JSON.stringify(v, (_key, x) => (typeof x === 'number' ? nullOf(x) : x));
}

function nanOf(x: number | null): number {
  return x === null ? Number.NaN : x;
}

function nullOf(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Where each slot of the narrowed window's plan sits in the whole window's plan. */
function slotMapping(
  whole: Omit<WindowNode, 'kind' | 'id' | 'inputs'>,
  narrowed: WindowNode['features'],
  fields: readonly string[],
): { full: number; map: number[] } {
  const slotKey = (x: { kind: string; field: number }) => `${x.kind}:${x.field}`;
  const full = compileAggregation(whole.features, fields, whole.quantiles).slots.map(slotKey);
  const map = compileAggregation(narrowed, fields, whole.quantiles).slots.map((x) =>
    full.indexOf(slotKey(x)),
  );
  if (map.some((i) => i < 0))
    throw new InternalError('the narrowed perf window has a slot the whole one lacks');
  return { full: full.length, map };
}
