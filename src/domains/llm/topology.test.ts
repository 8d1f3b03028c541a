import { describe, expect, it } from 'vitest';
import { MAPS, PROCESSORS } from '../../../operators/functions.js';
import { llmFeatureSet } from './feature-set.js';
import { TOPOLOGIES } from '../../../topology/index.js';
import { llmFeaturesTopology, llmPerfTopology } from './topology.js';
import type {
  FeatureSpec,
  KeyByNode,
  MapNode,
  ProcessNode,
  Topology,
  TopologyNode,
  WindowNode,
} from '../../../topology/nodes.js';
import { validateTopology } from '../../../topology/validate.js';

const FEATURE_CATALOG = llmFeatureSet().features;
const GROUPS = llmFeatureSet().groups;

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

const MIN = 60_000;

const nodeOf = (t: Topology, id: string): TopologyNode => {
  const n = t.nodes.find((x) => x.id === id);
  if (n === undefined) throw new Error(`no node ${id} in ${t.name}`);
  return n;
};
const windowsOf = (t: Topology) => t.nodes.filter((n): n is WindowNode => n.kind === 'window');
const processesOf = (t: Topology) => t.nodes.filter((n): n is ProcessNode => n.kind === 'process');

describe('llm-perf topology', () => {
  const t = llmPerfTopology();
  const node = (id: string) => nodeOf(t, id);
  const features = windowsOf(t).flatMap((w) => w.features.map((f) => [w.id, f] as const));
  const feature = (id: string): FeatureSpec => features.find(([, f]) => f.id === id)![1];

  it('is valid and frozen', () => {
    expect(() => validateTopology(t)).not.toThrow();
    expect(t.name).toBe('llm-perf');
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
    expect(TOPOLOGIES.get('llm-perf')?.()).toEqual(t);
  });
});

describe('llm-features topology', () => {
  const t = llmFeaturesTopology();
  const node = (id: string) => nodeOf(t, id);
  const GROUP_NAMES = GROUPS.map((g) => g.group);

  it('is valid and frozen', () => {
    expect(() => validateTopology(t)).not.toThrow();
    expect(t.name).toBe('llm-features');
    expect(Object.isFrozen(t)).toBe(true);
  });

  it('has one chain per input family, each ending in the features sink', () => {
    expect(t.nodes.map((n) => [n.id, n.kind, n.inputs])).toEqual([
      ['events', 'source', []],
      ['decoded', 'decode', ['events']],
      ['perf_events', 'filter', ['decoded']],
      ['perf_extract', 'map', ['perf_events']],
      ['by_model', 'keyBy', ['perf_extract']],
      ['perf_5min', 'window', ['by_model']],
      ['perf_1hr', 'window', ['by_model']],
      ['timeout_5min', 'window', ['by_model']],
      ['session_events', 'filter', ['decoded']],
      ['session_extract', 'map', ['session_events']],
      ['by_session', 'keyBy', ['session_extract']],
      ['feedback_session', 'window', ['by_session']],
      ['request', 'process', ['by_session']],
      ['feedback_events', 'filter', ['decoded']],
      ['feedback_extract', 'map', ['feedback_events']],
      ['by_user', 'keyBy', ['feedback_extract']],
      ['feedback_1hr', 'window', ['by_user']],
      ['catalog_events', 'filter', ['decoded']],
      ['catalog_extract', 'map', ['catalog_events']],
      ['by_catalog', 'keyBy', ['catalog_extract']],
      ['model_static', 'process', ['by_catalog']],
      ['health_events', 'filter', ['decoded']],
      ['health_extract', 'map', ['health_events']],
      ['by_component', 'keyBy', ['health_extract']],
      ['context', 'process', ['by_component']],
      ['derived_events', 'filter', ['decoded']],
      ['derived_extract', 'map', ['derived_events']],
      ['by_all', 'keyBy', ['derived_extract']],
      ['derived', 'process', ['by_all']],
      [
        'features',
        'sink',
        [
          'perf_5min',
          'perf_1hr',
          'timeout_5min',
          'feedback_session',
          'request',
          'feedback_1hr',
          'model_static',
          'context',
          'derived',
        ],
      ],
    ]);
    expect(node('decoded')).toMatchObject({ schema: 'llm-events' });
  });

  it('filters each chain to the event types it reads', () => {
    expect(node('perf_events')).toMatchObject({ fn: 'event-type', params: { type: 'performance_metrics' } });
    expect(node('session_events')).toMatchObject({
      fn: 'event-types',
      params: { types: ['llm_request', 'user_feedback'] },
    });
    expect(node('feedback_events')).toMatchObject({ fn: 'event-type', params: { type: 'user_feedback' } });
    expect(node('catalog_events')).toMatchObject({ fn: 'event-type', params: { type: 'model_catalog' } });
    expect(node('health_events')).toMatchObject({ fn: 'event-type', params: { type: 'system_health' } });
    expect(node('derived_events')).toMatchObject({
      fn: 'event-types',
      params: { types: ['llm_request', 'model_catalog', 'system_health', 'performance_metrics'] },
    });
  });

  it('declares each map with its function-table fields and attributes, and keys by one of them', () => {
    const keys: Record<string, readonly [string, string, string]> = {
      // keyBy → [its map, the map fn, the key]
      by_model: ['perf_extract', 'perf-extract', 'model'],
      by_session: ['session_extract', 'session-extract', 'session_id'],
      by_user: ['feedback_extract', 'session-extract', 'user_id'],
      by_catalog: ['catalog_extract', 'catalog-extract', 'catalog'],
      by_component: ['health_extract', 'health-extract', 'component'],
      by_all: ['derived_extract', 'derived-extract', 'all'],
    };
    const keyBys = t.nodes.filter((n): n is KeyByNode => n.kind === 'keyBy');
    expect(keyBys.map((k) => k.id).sort()).toEqual(Object.keys(keys).sort());
    for (const k of keyBys) {
      const [mapId, fn, key] = keys[k.id]!;
      const map = node(mapId) as MapNode;
      const def = MAPS.get(fn)!;
      expect(map, mapId).toMatchObject({ kind: 'map', fn, fields: def.fields, attributes: def.attributes });
      expect(k.key, k.id).toBe(key);
      expect(map.attributes, k.id).toContain(key);
    }
  });

  it('keys every window and process node by its keyBy', () => {
    const keyOf = (id: string) => (node(node(id).inputs[0]!) as KeyByNode).key;
    for (const n of [...windowsOf(t), ...processesOf(t)]) expect(n.key, n.id).toBe(keyOf(n.id));
    expect(Object.fromEntries(processesOf(t).map((p) => [p.id, [p.fn, p.key]]))).toEqual({
      request: ['request-row', 'session_id'],
      model_static: ['model-catalog', 'catalog'],
      context: ['context-row', 'component'],
      derived: ['derived-join', 'all'],
    });
    expect(Object.fromEntries(windowsOf(t).map((w) => [w.id, w.key]))).toEqual({
      perf_5min: 'model',
      perf_1hr: 'model',
      timeout_5min: 'model',
      feedback_session: 'session_id',
      feedback_1hr: 'user_id',
    });
  });

  it('gives each process node a registered processor whose fields and attributes its input has', () => {
    for (const p of processesOf(t)) {
      const def = PROCESSORS.get(p.fn);
      expect(def, p.fn).toBeDefined();
      expect(() => def!.validate(p.params), p.id).not.toThrow();
      const map = node(node(p.inputs[0]!).inputs[0]!) as MapNode;
      for (const f of def!.requiresFields) expect(map.fields, `${p.id}.${f}`).toContain(f);
      for (const a of def!.requiresAttributes) expect(map.attributes, `${p.id}.${a}`).toContain(a);
    }
  });

  it('emits every one of the 9 groups exactly once, each with the catalog entity type and version', () => {
    const emitters = [...windowsOf(t), ...processesOf(t)];
    expect(emitters.map((n) => n.group).sort()).toEqual([...GROUP_NAMES].sort());
    for (const n of emitters) {
      const g = GROUPS.find((x) => x.group === n.group)!;
      expect([n.id, n.entityType, n.version]).toEqual([n.group, g.entity, g.version]);
    }
  });

  it('computes each of the 65 catalog ids exactly once, with the catalog name, in the catalog group', () => {
    const produced = [...windowsOf(t), ...processesOf(t)].flatMap((n) =>
      n.features.map((f) => ({
        id: f.id,
        name: f.name,
        group: n.group,
        values: 'values' in f ? f.values : undefined,
      })),
    );
    expect(produced).toHaveLength(65);
    expect(produced.map((f) => f.id).sort()).toEqual(FEATURE_CATALOG.map((f) => f.id).sort());
    for (const f of produced) {
      const def = FEATURE_CATALOG.find((d) => d.id === f.id)!;
      expect([f.name, f.group], f.id).toEqual([def.name, def.group]);
      expect(f.values ?? [f.name], f.id).toEqual(def.valueNames);
    }
  });

  it('uses the catalog windows for the feedback and timeout groups', () => {
    expect(node('timeout_5min')).toMatchObject({
      window: { type: 'tumbling', size: 5 * MIN },
      lateness: 60_000,
      outOfOrderness: 2 * MIN,
      features: [
        { id: 'CTX_008', name: 'recent_timeout_rate_5min', agg: { type: 'mean', field: 'timeout' } },
      ],
    });
    expect(node('feedback_session')).toMatchObject({
      window: { type: 'session', gap: 30 * MIN, maxDuration: 240 * MIN },
      lateness: 10 * MIN,
    });
    expect(node('feedback_1hr')).toMatchObject({
      window: { type: 'sliding', size: 60 * MIN, slide: 5 * MIN },
      lateness: 10 * MIN,
    });
    // the request processor forms the same sessions as the feedback_session window
    expect(node('request')).toMatchObject({
      params: { gap: 30 * MIN, maxDuration: 240 * MIN, lateness: 10 * MIN },
    });
    // the derived join's private perf window is the perf_5min group's
    const { kind: _k, id: _i, inputs: _in, ...perf5 } = node('perf_5min') as WindowNode;
    expect((node('derived') as ProcessNode).params).toMatchObject({ perfWindow: perf5 });
    expect(node('context')).toMatchObject({ params: { availabilityWindow: 5 * MIN } });
  });

  // BUG (topology/llm-features.ts, the feedback_session, feedback_1hr and request nodes):
  // windows.md's table gives both feedback window sets an out-of-orderness bound of 10 min (and
  // catalog.ts's FRESHNESS assumes it: "gap 1800 + 600 + 600"); the topology uses 2 min.
  it('uses the 10-minute out-of-orderness bound of windows.md for the feedback windows', () => {
    expect(node('feedback_session')).toMatchObject({ outOfOrderness: 10 * MIN });
    expect(node('feedback_1hr')).toMatchObject({ outOfOrderness: 10 * MIN });
  });

  it('is registered in TOPOLOGIES, as every shipped topology under its own name', () => {
    expect(TOPOLOGIES.get('llm-features')?.()).toEqual(t);
    expect([...TOPOLOGIES.keys()].sort()).toEqual(['api-workflow', 'llm-features', 'llm-perf']);
    for (const [name, f] of TOPOLOGIES) expect(f().name).toBe(name);
  });
});

describe('the shipped topology files', () => {
  it('llm-features and llm-perf, read by name from their YAML files, equal the graphs the builder makes', () => {
    expect(TOPOLOGIES.get('llm-features')!()).toEqual(llmFeaturesTopology());
    expect(TOPOLOGIES.get('llm-perf')!()).toEqual(llmPerfTopology());
  });
});
