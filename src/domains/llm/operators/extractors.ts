/**
 * The extractors (map functions) of the shipped `llm-features` topology, beside `perf-extract`
 * in the function table (`operators/functions.ts`). Each turns a decoded event into a record: event time, string attributes
 * (candidate keys and entity ids) and numeric fields in a declared order. A missing input is
 * NaN (SQL NULL), never 0.
 *
 * Per-event feature values are computed here, in the stateless stage that runs in parallel on
 * any worker: the keyed operators only add what needs state.
 */
import { featuresOfGroup } from '../features/catalog.js';
import { contextFeatures } from '../features/context.js';
import { modelStaticFeatures } from '../features/model.js';
import { requestFeatures } from '../features/request.js';
import type { DecodedEvent } from '../events/types.js';
import { parseDateOrTimestamp } from '../../../shared/timestamp.js';
import { InternalError } from '../../../shared/errors.js';

import type { MapContext, MapFn } from '../../../../operators/index.js';

export type { MapContext, MapFn };

/** The provider of projected prompt embeddings (registered by the domain's plugin). */
const PROMPT_EMBEDDING = 'prompt-embedding';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
const flag = (v: unknown): number => (v === true ? 1 : v === false ? 0 : Number.NaN);
const nn = (v: number | null | undefined): number => (v === null || v === undefined ? Number.NaN : v);

const names = (group: Parameters<typeof featuresOfGroup>[0], except: readonly string[] = []) =>
  featuresOfGroup(group)
    .flatMap((f) => f.valueNames)
    .filter((n) => !except.includes(n));

/** REQ_001–013, REQ_015 (REQ_014 is keyed state). */
export const REQUEST_VALUES: readonly string[] = names('request', ['session_depth']);
/** MDL_001–010. */
export const MODEL_VALUES: readonly string[] = names('model_static');
/** CTX values known from one report (CTX_007 is keyed state, CTX_008 a window). */
export const CONTEXT_VALUES: readonly string[] = names('context', ['model_availability']);
/** The numeric fields of `perf-extract`, reused by the derived join's own perf_5min window. */
export const PERF_FIELDS = [
  'latency_ms',
  'cost',
  'input_tokens',
  'output_tokens',
  'ok',
  'err',
  'retries',
  'timeout',
] as const;
export const EMBEDDING_DIMS = 8;
const EMB_FIELDS = Array.from({ length: EMBEDDING_DIMS }, (_, i) => `emb_${i + 1}`);

/** performance_metrics → the perf fields (see `perf-extract`). */
export function perfValues(b: Readonly<Record<string, unknown>>): number[] {
  const error = b.error;
  const failed = typeof error === 'string';
  const metrics = b.metrics as Record<string, unknown> | undefined;
  const retries = metrics !== undefined && typeof metrics.retries === 'number' ? metrics.retries : 0;
  return [
    num(b.latency_ms),
    num(b.cost),
    num(b.input_tokens),
    num(b.output_tokens),
    failed ? 0 : 1,
    failed ? 1 : 0,
    retries,
    failed && /time.?out/i.test(error) ? 1 : 0,
  ];
}

/**
 * Once per decoded event: several chains read the same event (request features feed the request
 * rows and the derived join; context features the context rows and the join), so the value is
 * kept on the event object for the other chains of the same batch.
 */
function perEvent<T>(compute: (e: DecodedEvent) => T): (e: DecodedEvent) => T {
  const memo = new WeakMap<DecodedEvent, T>();
  return (e) => {
    let v = memo.get(e);
    if (v === undefined) {
      v = compute(e);
      memo.set(e, v);
    }
    return v;
  };
}

const requestOf = perEvent((e): Record<string, number | null> => requestFeatures(e.body, e.ts));
const contextOf = perEvent((e): Record<string, number | null> => contextFeatures(e.body, e.ts, null));

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Fields of `session-extract`. */
export const SESSION_FIELDS: readonly string[] = [
  'is_request',
  'rating',
  'liked',
  'task_completed',
  'regenerated',
  'dwell',
  'copied',
  'follow_up',
  ...REQUEST_VALUES,
];

/**
 * `llm_request` and `user_feedback` → one layout for the session-keyed stage (feedback_session
 * window, request rows) and the user-keyed feedback_1hr window. Feedback fields are NaN on
 * requests and request fields NaN on feedback, so each aggregation sees only its own event type.
 * `copied`: metadata.response_copied when present ("true" counts), else response_saved.
 * `follow_up`: a request's follow_up flag, absent = false.
 */
export function sessionExtract(e: DecodedEvent): ReturnType<MapFn> {
  const b = e.body;
  const attrs = { session_id: str(b.session_id), request_id: str(b.request_id), user_id: str(b.user_id) };
  if (e.type === 'llm_request') {
    const r = requestOf(e);
    const values = [1, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN];
    values.push(b.follow_up === true ? 1 : 0);
    for (const n of REQUEST_VALUES) values.push(nn(r[n]));
    return { ts: e.ts, attrs, values };
  }
  if (e.type === 'user_feedback') {
    const meta = b.metadata as Record<string, unknown> | undefined;
    const copiedRaw = meta?.response_copied;
    const copied = typeof copiedRaw === 'string' ? (copiedRaw === 'true' ? 1 : 0) : flag(b.response_saved);
    const values = [
      0,
      num(b.rating),
      flag(b.liked),
      flag(b.task_completed),
      flag(b.response_regenerated),
      num(b.dwell_time_seconds),
      copied,
      Number.NaN,
    ];
    for (let i = 0; i < REQUEST_VALUES.length; i++) values.push(Number.NaN);
    return { ts: e.ts, attrs, values };
  }
  return null;
}

/** Fields of `catalog-extract`: the MDL values at the announcement's time plus raw prices and cutoff. */
export const MODEL_FIELDS: readonly string[] = [...MODEL_VALUES, 'cost_in', 'cost_out', 'cutoff_ms'];

function cutoffMs(v: unknown): number {
  if (typeof v !== 'string') return Number.NaN;
  const t = parseDateOrTimestamp(v);
  return t === null ? Number.NaN : t;
}

/** `model_catalog` → MDL values, raw prices and training cutoff; attributes `catalog` (constant) and `model`. */
export function modelExtract(e: DecodedEvent): ReturnType<MapFn> {
  if (e.type !== 'model_catalog') return null;
  const b = e.body;
  const costIn = num(b.cost_per_1k_input);
  const costOut = num(b.cost_per_1k_output);
  const f = modelStaticFeatures(b, { costIn, costOut }, e.ts);
  const values = MODEL_VALUES.map((n) => nn((f as Record<string, number | null>)[n]));
  values.push(costIn, costOut, cutoffMs(b.training_cutoff));
  return { ts: e.ts, attrs: { catalog: 'catalog', model: str(b.model) }, values };
}

/** Fields of `health-extract`. */
export const HEALTH_FIELDS: readonly string[] = [...CONTEXT_VALUES, 'healthy'];

/** `system_health` → the CTX values of one report and `healthy` (status = healthy); attribute `component`. */
export function healthExtract(e: DecodedEvent): ReturnType<MapFn> {
  if (e.type !== 'system_health') return null;
  const b = e.body;
  const f = contextOf(e);
  const values = CONTEXT_VALUES.map((n) => nn(f[n]));
  values.push(b.status === 'healthy' ? 1 : 0);
  return { ts: e.ts, attrs: { component: str(b.component) }, values };
}

/** Record kinds in the derived join's input. */
export const DERIVED_KIND = { request: 0, model: 1, health: 2, perf: 3 } as const;

/** Fields of `derived-extract`. */
export const DERIVED_FIELDS: readonly string[] = [
  'kind',
  ...PERF_FIELDS,
  ...MODEL_FIELDS,
  'queue_depth_requests',
  'available_budget_ratio',
  ...REQUEST_VALUES,
  ...EMB_FIELDS,
];

const W = DERIVED_FIELDS.length;
// A performance record's short values rely on this order.
if (DERIVED_FIELDS.slice(0, PERF_FIELDS.length + 1).join() !== ['kind', ...PERF_FIELDS].join()) {
  throw new InternalError('derived-extract: kind and the perf fields must lead the layout');
}
const AT = Object.fromEntries(DERIVED_FIELDS.map((f, i) => [f, i])) as Record<string, number>;
/** Positions of the request values and of the embedding values in the layout. */
const AT_REQUEST: readonly number[] = REQUEST_VALUES.map((n) => AT[n]!);
const AT_EMB: readonly number[] = EMB_FIELDS.map((n) => AT[n]!);

/**
 * `llm_request`, `model_catalog`, `system_health`, `performance_metrics` → one wide layout for
 * the derived join (a stream–table join keyed by a constant), `kind` telling which. Requests
 * carry their request features and the 8-dim projected prompt embedding (NaN without a prompt).
 * A performance record's values stop after its perf fields (`kind` and {@link PERF_FIELDS} lead
 * the layout); the stage reads the missing rest as NaN.
 */
export function derivedExtract(e: DecodedEvent, ctx: MapContext): ReturnType<MapFn> {
  const b = e.body;
  if (e.type === 'performance_metrics') {
    // The join reads only the model and the perf fields of a performance record: its values stop
    // after them (the rest of the layout is NaN) and it carries no per-record ids.
    const p = perfValues(b);
    p.unshift(DERIVED_KIND.perf);
    return { ts: e.ts, attrs: { all: '*', model: str(b.model), user_id: '', request_id: '' }, values: p };
  }
  const v = new Array<number>(W).fill(Number.NaN);
  const attrs = { all: '*', model: str(b.model), user_id: str(b.user_id), request_id: str(b.request_id) };
  switch (e.type) {
    case 'llm_request': {
      v[AT.kind!] = DERIVED_KIND.request;
      const r = requestOf(e);
      for (let i = 0; i < REQUEST_VALUES.length; i++) v[AT_REQUEST[i]!] = nn(r[REQUEST_VALUES[i]!]);
      const prompt = b.prompt;
      const emb =
        typeof prompt === 'string' && prompt.length > 0
          ? (ctx.lookup(PROMPT_EMBEDDING, prompt) as readonly number[] | null)
          : null;
      if (emb !== null) for (let i = 0; i < EMBEDDING_DIMS; i++) v[AT_EMB[i]!] = emb[i]!;
      break;
    }
    case 'model_catalog': {
      const rec = modelExtract(e)!;
      v[AT.kind!] = DERIVED_KIND.model;
      MODEL_FIELDS.forEach((f, i) => {
        v[AT[f]!] = rec.values[i]!;
      });
      break;
    }
    case 'system_health': {
      v[AT.kind!] = DERIVED_KIND.health;
      const f = contextOf(e);
      v[AT.queue_depth_requests!] = nn(f.queue_depth_requests);
      v[AT.available_budget_ratio!] = nn(f.available_budget_ratio);
      attrs.model = str(b.component);
      break;
    }
    default:
      return null;
  }
  return { ts: e.ts, attrs, values: v };
}
