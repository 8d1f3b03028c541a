/**
 * The shipped LLM performance topology: catalog section A3 (PERF_001 … PERF_012), per model,
 * over `performance_metrics` events, in a 5-minute tumbling window and a 1-hour sliding window
 * (windows.md, "Defaults used by the shipped topology").
 *
 * ```
 * events → decoded → perf_events → perf_extract → by_model ─┬→ perf_5min ─┬→ features
 *                                                           └→ perf_1hr ──┘
 * ```
 *
 * @example
 * const t = llmFeaturesTopology();
 * renderTopology(t, 'mermaid');
 */
import { MAPS } from '../operators/registry.js';
import { topology } from './builder.js';
import type { AggSpec, FeatureSpec, Topology } from './nodes.js';

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

/** Builds (and validates) the `llm-features` topology. */
export function llmFeaturesTopology(): Topology {
  const extract = MAPS.get('perf-extract');
  if (extract === undefined) throw new Error('operator registry has no `perf-extract` map');
  return topology('llm-features')
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
