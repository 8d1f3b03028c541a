import { describe, expect, it } from 'vitest';
import { MAPS } from '../operators/registry.js';
import { TOPOLOGIES } from './index.js';
import { llmFeaturesTopology } from './llm-features.js';
import type { FeatureSpec, TopologyNode, WindowNode } from './nodes.js';
import { validateTopology } from './validate.js';

/** Catalog section A3 (feature-catalog.md): id → [name, window]. */
const CATALOG_A3: Readonly<Record<string, readonly [string, string]>> = {
  PERF_001: ['latency_p50_5min', 'perf_5min'],
  PERF_002: ['latency_p95_5min', 'perf_5min'],
  PERF_003: ['latency_p99_5min', 'perf_5min'],
  PERF_004: ['latency_p50_1hr', 'perf_1hr'],
  PERF_005: ['latency_p95_1hr', 'perf_1hr'],
  PERF_006: ['success_rate_5min', 'perf_5min'],
  PERF_007: ['success_rate_1hr', 'perf_1hr'],
  PERF_008: ['error_rate_5min', 'perf_5min'],
  PERF_009: ['avg_cost_per_request_5min', 'perf_5min'],
  PERF_010: ['throughput_qps_5min', 'perf_5min'],
  PERF_011: ['token_efficiency_5min', 'perf_5min'],
  PERF_012: ['retry_rate_5min', 'perf_5min'],
};

const t = llmFeaturesTopology();
const node = (id: string): TopologyNode => t.nodes.find((n) => n.id === id)!;
const windows = t.nodes.filter((n): n is WindowNode => n.kind === 'window');
const features = windows.flatMap((w) => w.features.map((f) => [w.id, f] as const));
const feature = (id: string): FeatureSpec => features.find(([, f]) => f.id === id)![1];

describe('llm-features topology', () => {
  it('is valid and frozen', () => {
    expect(() => validateTopology(t)).not.toThrow();
    expect(t.name).toBe('llm-features');
    expect(Object.isFrozen(t)).toBe(true);
  });

  it('has the chain events → decoded → perf_events → perf_extract → by_model → windows → features', () => {
    expect(t.nodes.map((n) => [n.id, n.kind, n.inputs])).toEqual([
      ['events', 'source', []],
      ['decoded', 'decode', ['events']],
      ['perf_events', 'filter', ['decoded']],
      ['perf_extract', 'map', ['perf_events']],
      ['by_model', 'keyBy', ['perf_extract']],
      ['perf_5min', 'window', ['by_model']],
      ['perf_1hr', 'window', ['by_model']],
      ['features', 'sink', ['perf_5min', 'perf_1hr']],
    ]);
    expect(node('decoded')).toMatchObject({ schema: 'llm-events' });
    expect(node('perf_events')).toMatchObject({ fn: 'event-type', params: { type: 'performance_metrics' } });
    const perf = MAPS.get('perf-extract')!;
    expect(node('perf_extract')).toMatchObject({
      fn: 'perf-extract',
      fields: perf.fields,
      attributes: perf.attributes,
    });
    expect(node('by_model')).toMatchObject({ key: 'model' });
  });

  it('has exactly the 12 PERF ids, with the catalog names, in the catalog windows', () => {
    expect(features.map(([, f]) => f.id).sort()).toEqual(Object.keys(CATALOG_A3).sort());
    for (const [windowId, f] of features) expect([f.name, windowId]).toEqual(CATALOG_A3[f.id]);
  });

  it('uses windows per windows.md (perf_5min, perf_1hr)', () => {
    expect(node('perf_5min')).toMatchObject({
      key: 'model',
      window: { type: 'tumbling', size: 300_000 },
      lateness: 60_000,
      outOfOrderness: 120_000,
      group: 'perf_5min',
      entityType: 'model',
      version: 1,
    });
    expect(node('perf_1hr')).toMatchObject({
      key: 'model',
      window: { type: 'sliding', size: 3_600_000, slide: 300_000 },
      lateness: 120_000,
      outOfOrderness: 120_000,
      group: 'perf_1hr',
      entityType: 'model',
      version: 1,
    });
  });

  it('computes each feature as specified', () => {
    const q = (q: number) => ({ type: 'quantile', field: 'latency_ms', q });
    const expected: Record<string, object> = {
      PERF_001: q(0.5),
      PERF_002: q(0.95),
      PERF_003: q(0.99),
      PERF_004: q(0.5),
      PERF_005: q(0.95),
      PERF_006: { type: 'ratio', num: 'ok' },
      PERF_007: { type: 'ratio', num: 'ok' },
      PERF_008: { type: 'ratio', num: 'err' },
      PERF_009: { type: 'ratio', num: 'cost' },
      PERF_010: { type: 'count', scale: 1 / 300 },
      PERF_011: { type: 'ratio', num: 'output_tokens', den: 'input_tokens' },
      PERF_012: { type: 'ratio', num: 'retries' },
    };
    for (const [id, agg] of Object.entries(expected)) expect(feature(id).agg, id).toStrictEqual(agg);
  });

  it('is registered in TOPOLOGIES', () => {
    const make = TOPOLOGIES.get('llm-features');
    expect(make).toBeDefined();
    expect(make!()).toEqual(t);
    for (const [name, f] of TOPOLOGIES) expect(f().name).toBe(name);
  });
});
