/**
 * The shipped LLM topologies.
 *
 * `llm-features` — the whole family-A catalog (feature-catalog.md, 65 ids in 9 groups) from the
 * 8 event types:
 *
 * ```
 *            ┌→ perf_events → perf_extract → by_model ─┬→ perf_5min, perf_1hr (windows)  ─┐
 *            │                                          └→ timeout_5min (window, CTX_008)  │
 *            ├→ session_events → session_extract → by_session ─┬→ feedback_session (session window)
 *            │                                                  └→ request (process: REQ_014 state)
 * events →   ├→ feedback_events → feedback_extract → by_user → feedback_1hr (window)    ├→ features
 * decoded    ├→ catalog_events → catalog_extract → by_catalog → model_static (process)  │
 *            ├→ health_events → health_extract → by_component → context (process)       │
 *            └→ derived_events → derived_extract → by_all → derived (process: join)   ──┘
 * ```
 *
 * `llm-perf` — the performance windows alone (A3: PERF_001 … PERF_012, per model, over
 * `performance_metrics`, a 5-minute tumbling and a 1-hour sliding window).
 *
 * @example
 * const t = llmFeaturesTopology();
 * renderTopology(t, 'mermaid');
 */
import { featuresOfGroup } from './features/catalog.js';
import { MAPS } from '../../../operators/index.js';
import { topology } from '../../../topology/index.js';
import type { AggSpec, FeatureSpec, ProcessFeature, Topology, WindowNode } from '../../../topology/index.js';

const MINUTE = 60_000;

const quantile = (q: number): AggSpec => ({ type: 'quantile', field: 'latency_ms', q });
/** sum(num) / count, or sum(num) / sum(den); `den` is left out rather than set to undefined. */
const ratio = (num: string, den?: string): AggSpec =>
  den === undefined ? { type: 'ratio', num } : { type: 'ratio', num, den };

/** perf_5min: tumbling 5 min. */
const PERF_5MIN: readonly FeatureSpec[] = [
  { id: 'PERF_001', name: 'latency_p50_5min', agg: quantile(0.5) },
  { id: 'PERF_002', name: 'latency_p95_5min', agg: quantile(0.95) },
  { id: 'PERF_003', name: 'latency_p99_5min', agg: quantile(0.99) },
  { id: 'PERF_006', name: 'success_rate_5min', agg: ratio('ok') },
  { id: 'PERF_008', name: 'error_rate_5min', agg: ratio('err') },
  { id: 'PERF_009', name: 'avg_cost_per_request_5min', agg: ratio('cost') },
  { id: 'PERF_010', name: 'throughput_qps_5min', agg: { type: 'count', scale: 1 / 300 } },
  { id: 'PERF_011', name: 'token_efficiency_5min', agg: ratio('output_tokens', 'input_tokens') },
  { id: 'PERF_012', name: 'retry_rate_5min', agg: ratio('retries') },
];

/** perf_1hr: sliding 1 h every 5 min. */
const PERF_1HR: readonly FeatureSpec[] = [
  { id: 'PERF_004', name: 'latency_p50_1hr', agg: quantile(0.5) },
  { id: 'PERF_005', name: 'latency_p95_1hr', agg: quantile(0.95) },
  { id: 'PERF_007', name: 'success_rate_1hr', agg: ratio('ok') },
];

/** Builds (and validates) the `llm-perf` topology: the performance windows alone (A3). */
export function llmPerfTopology(): Topology {
  const extract = MAPS.get('perf-extract');
  if (extract === undefined) throw new Error('function table has no `perf-extract` map');
  return topology('llm-perf')
    .describe('Performance features per model (catalog A3) from performance_metrics events')
    .source('events')
    .decode('decoded', 'events', 'llm-events')
    .filter('perf_events', 'decoded', 'event-type', { type: 'performance_metrics' })
    .map('perf_extract', 'perf_events', 'perf-extract', {
      fields: extract.fields,
      attributes: extract.attributes,
    })
    .keyBy('by_model', 'perf_extract', 'model')
    .window('perf_5min', 'by_model', {
      key: 'model',
      window: { type: 'tumbling', size: 5 * MINUTE },
      lateness: 60_000,
      outOfOrderness: 2 * MINUTE,
      group: 'perf_5min',
      entityType: 'model',
      version: 1,
      features: PERF_5MIN,
    })
    .window('perf_1hr', 'by_model', {
      key: 'model',
      window: { type: 'sliding', size: 60 * MINUTE, slide: 5 * MINUTE },
      lateness: 120_000,
      outOfOrderness: 2 * MINUTE,
      group: 'perf_1hr',
      entityType: 'model',
      version: 1,
      features: PERF_1HR,
    })
    .sink('features', ['perf_5min', 'perf_1hr'])
    .build();
}

const mean = (field: string): AggSpec => ({ type: 'mean', field });

/** timeout_5min: CTX_008, tumbling 5 min per model. */
const TIMEOUT_5MIN: readonly FeatureSpec[] = [
  { id: 'CTX_008', name: 'recent_timeout_rate_5min', agg: mean('timeout') },
];

/** feedback_session: session window per session_id over llm_request and user_feedback. */
const FEEDBACK_SESSION: readonly FeatureSpec[] = [
  { id: 'FDBK_001', name: 'avg_user_rating_session', agg: mean('rating') },
  { id: 'FDBK_005', name: 'task_completion_rate_session', agg: mean('task_completed') },
  { id: 'FDBK_006', name: 'avg_response_time_user', agg: mean('dwell') },
  { id: 'FDBK_008', name: 'follow_up_rate_session', agg: mean('follow_up') },
];

/** feedback_1hr: sliding 1 h every 5 min per user_id. */
const FEEDBACK_1HR: readonly FeatureSpec[] = [
  { id: 'FDBK_002', name: 'avg_user_rating_1hr', agg: mean('rating') },
  { id: 'FDBK_003', name: 'thumbs_up_ratio_1hr', agg: mean('liked') },
  { id: 'FDBK_004', name: 'regeneration_rate_1hr', agg: mean('regenerated') },
  { id: 'FDBK_007', name: 'copy_paste_rate_1hr', agg: mean('copied') },
];

/** A process node's features: the catalog's entries of its group, in catalog order. */
const processFeatures = (group: Parameters<typeof featuresOfGroup>[0]): ProcessFeature[] =>
  featuresOfGroup(group).map((f) =>
    f.valueNames.length === 1 && f.valueNames[0] === f.name
      ? { id: f.id, name: f.name }
      : { id: f.id, name: f.name, values: f.valueNames },
  );

const FEEDBACK_LATENESS = 10 * MINUTE;
/** windows.md: feedback arrives late (users answer late), so its watermark waits 10 min. */
const FEEDBACK_OUT_OF_ORDERNESS = 10 * MINUTE;

const PERF_5MIN_WINDOW: Omit<WindowNode, 'kind' | 'id' | 'inputs'> = {
  key: 'model',
  window: { type: 'tumbling', size: 5 * MINUTE },
  lateness: 60_000,
  outOfOrderness: 2 * MINUTE,
  group: 'perf_5min',
  entityType: 'model',
  version: 1,
  features: PERF_5MIN,
};

/** Builds (and validates) the `llm-features` topology: the whole family-A catalog. */
export function llmFeaturesTopology(): Topology {
  const map = (fn: string) => {
    const def = MAPS.get(fn);
    if (def === undefined) throw new Error(`function table has no \`${fn}\` map`);
    return { fields: def.fields, attributes: def.attributes };
  };
  return topology('llm-features')
    .describe('The LLM feature catalog (family A: 65 features in 9 groups) from the 8 event types')
    .source('events')
    .decode('decoded', 'events', 'llm-events')
    .filter('perf_events', 'decoded', 'event-type', { type: 'performance_metrics' })
    .map('perf_extract', 'perf_events', 'perf-extract', map('perf-extract'))
    .keyBy('by_model', 'perf_extract', 'model')
    .window('perf_5min', 'by_model', PERF_5MIN_WINDOW)
    .window('perf_1hr', 'by_model', {
      key: 'model',
      window: { type: 'sliding', size: 60 * MINUTE, slide: 5 * MINUTE },
      lateness: 120_000,
      outOfOrderness: 2 * MINUTE,
      group: 'perf_1hr',
      entityType: 'model',
      version: 1,
      features: PERF_1HR,
    })
    .window('timeout_5min', 'by_model', {
      key: 'model',
      window: { type: 'tumbling', size: 5 * MINUTE },
      lateness: 60_000,
      outOfOrderness: 2 * MINUTE,
      group: 'timeout_5min',
      entityType: 'model',
      version: 1,
      features: TIMEOUT_5MIN,
    })
    .filter('session_events', 'decoded', 'event-types', { types: ['llm_request', 'user_feedback'] })
    .map('session_extract', 'session_events', 'session-extract', map('session-extract'))
    .keyBy('by_session', 'session_extract', 'session_id')
    .window('feedback_session', 'by_session', {
      key: 'session_id',
      window: { type: 'session', gap: 30 * MINUTE, maxDuration: 4 * 60 * MINUTE },
      lateness: FEEDBACK_LATENESS,
      outOfOrderness: FEEDBACK_OUT_OF_ORDERNESS,
      group: 'feedback_session',
      entityType: 'session',
      version: 1,
      freshnessSlaSeconds: 3_600,
      features: FEEDBACK_SESSION,
    })
    .process('request', 'by_session', {
      key: 'session_id',
      fn: 'request-row',
      params: { gap: 30 * MINUTE, maxDuration: 4 * 60 * MINUTE, lateness: FEEDBACK_LATENESS },
      outOfOrderness: 2 * MINUTE,
      group: 'request',
      entityType: 'request',
      version: 1,
      features: processFeatures('request'),
    })
    .filter('feedback_events', 'decoded', 'event-type', { type: 'user_feedback' })
    .map('feedback_extract', 'feedback_events', 'session-extract', map('session-extract'))
    .keyBy('by_user', 'feedback_extract', 'user_id')
    .window('feedback_1hr', 'by_user', {
      key: 'user_id',
      window: { type: 'sliding', size: 60 * MINUTE, slide: 5 * MINUTE },
      lateness: FEEDBACK_LATENESS,
      outOfOrderness: FEEDBACK_OUT_OF_ORDERNESS,
      group: 'feedback_1hr',
      entityType: 'user',
      version: 1,
      features: FEEDBACK_1HR,
    })
    .filter('catalog_events', 'decoded', 'event-type', { type: 'model_catalog' })
    .map('catalog_extract', 'catalog_events', 'catalog-extract', map('catalog-extract'))
    .keyBy('by_catalog', 'catalog_extract', 'catalog')
    .process('model_static', 'by_catalog', {
      key: 'catalog',
      fn: 'model-catalog',
      outOfOrderness: 2 * MINUTE,
      group: 'model_static',
      entityType: 'model',
      version: 1,
      // The model catalog changes rarely.
      freshnessSlaSeconds: 86_400,
      features: processFeatures('model_static'),
    })
    .filter('health_events', 'decoded', 'event-type', { type: 'system_health' })
    .map('health_extract', 'health_events', 'health-extract', map('health-extract'))
    .keyBy('by_component', 'health_extract', 'component')
    .process('context', 'by_component', {
      key: 'component',
      fn: 'context-row',
      params: { availabilityWindow: 5 * MINUTE },
      outOfOrderness: 2 * MINUTE,
      group: 'context',
      entityType: 'system',
      version: 1,
      // Context values are "latest, fresh within 10 s": serving a dead reporter's CPU load or
      // budget for a day would be wrong, so they expire after three freshness SLAs (30 s) — one or
      // two late reports do not blank them, a silent component reads as missing within 30 s.
      ttlSeconds: 30,
      freshnessSlaSeconds: 10,
      features: processFeatures('context').filter((f) => f.id !== 'CTX_008'),
    })
    .filter('derived_events', 'decoded', 'event-types', {
      types: ['llm_request', 'model_catalog', 'system_health', 'performance_metrics'],
    })
    .map('derived_extract', 'derived_events', 'derived-extract', map('derived-extract'))
    .keyBy('by_all', 'derived_extract', 'all')
    .process('derived', 'by_all', {
      key: 'all',
      fn: 'derived-join',
      params: {
        perfWindow: PERF_5MIN_WINDOW as unknown as import('../../../topology/nodes.js').JsonValue,
        fatigueHalfLife: 10 * MINUTE,
        clusters: 8,
      },
      outOfOrderness: 2 * MINUTE,
      group: 'derived',
      entityType: 'request',
      version: 1,
      features: processFeatures('derived'),
    })
    .sink('features', [
      'perf_5min',
      'perf_1hr',
      'timeout_5min',
      'feedback_session',
      'request',
      'feedback_1hr',
      'model_static',
      'context',
      'derived',
    ])
    .build();
}
