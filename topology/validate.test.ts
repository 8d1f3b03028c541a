import { describe, expect, it } from 'vitest';
import { ConfigError, TopologyError } from '../src/shared/errors.js';
import { llmPerfTopology } from '../src/domains/llm/topology.js';
import { FilterNode, type Topology, type TopologyNode, type WindowNode, type WindowSpec } from './nodes.js';
import { validateTopology, validateWindowSpec } from './validate.js';

const base = llmPerfTopology();

/** The shipped topology with node `id` replaced by `{...node, ...patch}`. */
function edit(id: string, patch: Record<string, unknown>): Topology {
  return { ...base, nodes: base.nodes.map((n) => (n.id === id ? ({ ...n, ...patch } as TopologyNode) : n)) };
}

const nodesWith = (...extra: TopologyNode[]): Topology => ({ ...base, nodes: [...base.nodes, ...extra] });

const window = (id: string): WindowNode => base.nodes.find((n) => n.id === id) as WindowNode;

/** The features of window `id` with feature `index` patched. */
function editFeature(id: string, index: number, patch: Record<string, unknown>): Topology {
  const features = window(id).features.map((f, i) => (i === index ? { ...f, ...patch } : f));
  return edit(id, { features });
}

function expectError(
  t: Topology,
  expected: { field: string; operator?: string; message: string },
): TopologyError {
  let error: unknown;
  try {
    validateTopology(t);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TopologyError);
  const te = error as TopologyError;
  expect(te.field).toBe(expected.field);
  expect(te.operator).toBe(expected.operator);
  expect(te.message).toContain(expected.message);
  expect(te.domain).toBe('config');
  return te;
}

describe('validateTopology', () => {
  it('accepts the shipped topology', () => {
    expect(() => validateTopology(base)).not.toThrow();
  });

  describe('topology', () => {
    it('rejects an empty name', () => {
      const e = expectError(
        { ...base, name: '' },
        { field: 'name', message: 'topology `name` must be a non-empty string' },
      );
      expect(e.message).toContain('topology, field `name`');
    });

    it('rejects a topology without nodes', () => {
      expectError({ name: 't', nodes: [] }, { field: 'nodes', message: 'empty topology' });
    });
  });

  describe('ids', () => {
    it('rejects an empty id', () => {
      const t: Topology = { ...base, nodes: [...base.nodes, { ...base.nodes[0]!, id: '' }] };
      expectError(t, { field: 'nodes[8].id', message: 'empty id' });
    });

    it('rejects a duplicate id', () => {
      const t = nodesWith(
        FilterNode.create({
          id: 'perf_events',
          inputs: ['decoded'],
          fn: 'event-type',
          params: { type: 'x' },
        }),
      );
      expectError(t, {
        field: 'nodes[8].id',
        operator: 'perf_events',
        message: 'duplicate id `perf_events`',
      });
    });

    it('rejects an unknown node kind', () => {
      expectError(edit('perf_events', { kind: 'flatMap' }), {
        field: 'nodes.perf_events.kind',
        operator: 'perf_events',
        message: 'unknown node kind "flatMap"',
      });
    });
  });

  describe('inputs', () => {
    it('rejects a missing input', () => {
      expectError(edit('perf_events', { inputs: ['decodd'] }), {
        field: 'nodes.perf_events.inputs[0]',
        operator: 'perf_events',
        message: 'node `perf_events`, field `nodes.perf_events.inputs[0]`: missing input `decodd`',
      });
    });

    it('rejects a source with inputs', () => {
      expectError(edit('events', { inputs: ['decoded'] }), {
        field: 'nodes.events.inputs',
        operator: 'events',
        message: 'wrong input count: a source has no inputs, got 1',
      });
    });

    it('rejects a sink without inputs', () => {
      expectError(edit('features', { inputs: [] }), {
        field: 'nodes.features.inputs',
        operator: 'features',
        message: 'a sink needs at least 1 input, got 0',
      });
    });

    it.each([
      ['decoded', []],
      ['perf_extract', []],
      ['perf_5min', ['by_model', 'by_model2']],
    ])('requires exactly one input for non-source, non-sink node %s', (id, inputs) => {
      expectError(edit(id, { inputs }), {
        field: `nodes.${id}.inputs`,
        operator: id,
        message: `needs exactly 1 input, got ${inputs.length}`,
      });
    });

    it('rejects a duplicate input', () => {
      expectError(edit('features', { inputs: ['perf_5min', 'perf_5min', 'perf_1hr'] }), {
        field: 'nodes.features.inputs[1]',
        operator: 'features',
        message: 'duplicate input `perf_5min`',
      });
    });
  });

  describe('cycles', () => {
    it('names the nodes of a cycle in data-flow order', () => {
      const t = nodesWith(
        FilterNode.create({ id: 'a', inputs: ['c'], fn: 'event-type', params: { type: 'x' } }),
        FilterNode.create({ id: 'b', inputs: ['a'], fn: 'event-type', params: { type: 'x' } }),
        FilterNode.create({ id: 'c', inputs: ['b'], fn: 'event-type', params: { type: 'x' } }),
      );
      const e = expectError(t, {
        field: 'nodes.a.inputs',
        operator: 'a',
        message: 'cycle: `a` → `b` → `c` → `a`',
      });
      expect(e.message).toContain('node `a`');
    });

    it('rejects a self-loop', () => {
      const t = nodesWith(
        FilterNode.create({ id: 'loop', inputs: ['loop'], fn: 'event-type', params: { type: 'x' } }),
      );
      expectError(t, { field: 'nodes.loop.inputs', operator: 'loop', message: 'cycle: `loop` → `loop`' });
    });
  });

  describe('which kind may feed which', () => {
    it.each([
      ['decoded', 'perf_events', 'a decode cannot follow a filter', 'source'],
      ['perf_events', 'events', 'a filter cannot follow a source', 'decode, filter'],
      ['perf_events', 'perf_extract', 'a filter cannot follow a map', 'decode, filter'],
      ['perf_extract', 'by_model', 'a map cannot follow a keyBy', 'decode, filter'],
      ['by_model', 'perf_events', 'a keyBy cannot follow a filter', 'map'],
      ['perf_5min', 'perf_extract', 'a window cannot follow a map', 'keyBy'],
      ['features', 'by_model', 'a sink cannot follow a keyBy', 'window'],
    ])('rejects a node like %s after %s', (like, input, message, allowed) => {
      // A copy of node `like` named `x`, fed by `input`.
      const x = { ...base.nodes.find((n) => n.id === like)!, id: 'x', inputs: [input] } as TopologyNode;
      const e = expectError(nodesWith(x), {
        field: 'nodes.x.inputs[0]',
        operator: 'x',
        message: `invalid edge: ${message}`,
      });
      expect(e.message).toContain(`allowed upstream: ${allowed}`);
    });
  });

  describe('operators', () => {
    it.each([
      ['decoded', { schema: 'avro' }, 'schema', 'decode schema "avro" is not registered'],
      ['perf_events', { fn: 'nope' }, 'fn', 'filter function "nope" is not registered'],
      ['perf_extract', { fn: 'nope' }, 'fn', 'map function "nope" is not registered'],
    ])('rejects an unknown operator on %s', (id, patch, prop, message) => {
      expectError(edit(id, patch), {
        field: `nodes.${id}.${prop}`,
        operator: id,
        message: `unknown operator: ${message}`,
      });
    });

    it('rejects params the filter function refuses', () => {
      expectError(edit('perf_events', { params: { kind: 'x' } }), {
        field: 'nodes.perf_events.params',
        operator: 'perf_events',
        message: 'invalid params for filter function `event-type`: event-type filter needs params.type',
      });
    });

    it('rejects map fields that differ from the extractor', () => {
      expectError(edit('perf_extract', { fields: ['cost', 'latency_ms'] }), {
        field: 'nodes.perf_extract.fields',
        operator: 'perf_extract',
        message: 'fields mismatch',
      });
    });

    it('rejects map attributes that differ from the extractor', () => {
      expectError(edit('perf_extract', { attributes: ['model', 'user'] }), {
        field: 'nodes.perf_extract.attributes',
        operator: 'perf_extract',
        message: 'attributes mismatch',
      });
    });

    it('rejects an unknown aggregation type', () => {
      expectError(editFeature('perf_5min', 0, { agg: { type: 'median', field: 'latency_ms' } }), {
        field: 'nodes.perf_5min.features[0].agg.type',
        operator: 'perf_5min',
        message: 'unknown operator: aggregation type "median"',
      });
    });
  });

  describe('keys', () => {
    it('rejects a window whose key differs from its keyBy (key mismatch)', () => {
      expectError(edit('perf_1hr', { key: 'user_id' }), {
        field: 'nodes.perf_1hr.key',
        operator: 'perf_1hr',
        message:
          'key mismatch: the window expects key "user_id" but upstream keyBy `by_model` keys by "model"',
      });
    });

    it('rejects a keyBy key that the map does not produce', () => {
      expectError(edit('by_model', { key: 'region' }), {
        field: 'nodes.by_model.key',
        operator: 'by_model',
        message: 'unknown key: "region" is not an attribute of map `perf_extract`',
      });
    });
  });

  describe('aggregation fields (traced through the keyBy to the map)', () => {
    it.each([
      ['perf_5min', 0, { type: 'quantile', field: 'latency', q: 0.5 }, 'field', '"latency"'],
      ['perf_5min', 3, { type: 'ratio', num: 'okay' }, 'num', '"okay"'],
      ['perf_5min', 7, { type: 'ratio', num: 'output_tokens', den: 'tokens_in' }, 'den', '"tokens_in"'],
      ['perf_1hr', 0, { type: 'mean', field: 'rating' }, 'field', '"rating"'],
    ])('rejects a field the map does not produce (%s feature %i)', (id, index, agg, prop, value) => {
      expectError(editFeature(id, index, { agg }), {
        field: `nodes.${id}.features[${index}].agg.${prop}`,
        operator: id,
        message: `unknown field: feature \`${window(id).features[index]!.id}\` reads ${value}, which map \`perf_extract\` does not produce`,
      });
    });
  });

  describe('window spec (wrapped ConfigError from validateWindowSpec)', () => {
    it.each<[string, WindowSpec, string, string]>([
      [
        'perf_5min',
        { type: 'tumbling', size: 0 },
        'size',
        'tumbling window `size` must be a positive integer (ms), got 0',
      ],
      [
        'perf_5min',
        { type: 'tumbling', size: 1.5 },
        'size',
        'tumbling window `size` must be a positive integer (ms), got 1.5',
      ],
      [
        'perf_5min',
        { type: 'tumbling', size: 300_000, offset: -300_000 },
        'offset',
        'tumbling window `offset` must satisfy |offset| < `size`, got -300000',
      ],
      [
        'perf_1hr',
        { type: 'sliding', size: -1, slide: 1 },
        'size',
        'sliding window `size` must be a positive integer (ms), got -1',
      ],
      [
        'perf_1hr',
        { type: 'sliding', size: 3_600_000, slide: 0 },
        'slide',
        'sliding window `slide` must be > 0 and ≤ `size`, got 0',
      ],
      [
        'perf_1hr',
        { type: 'sliding', size: 300_000, slide: 3_600_000 },
        'slide',
        'sliding window `slide` must be > 0 and ≤ `size`, got 3600000',
      ],
      [
        'perf_1hr',
        { type: 'sliding', size: 3_600_000, slide: 300_000, offset: 300_000 },
        'offset',
        'sliding window `offset` must satisfy |offset| < `slide`, got 300000',
      ],
      [
        'perf_1hr',
        { type: 'session', gap: 0 },
        'gap',
        'session window `gap` must be a positive integer (ms), got 0',
      ],
      [
        'perf_1hr',
        { type: 'session', gap: 1_800_000, maxDuration: 60_000 },
        'maxDuration',
        'session window `maxDuration` must be an integer ≥ `gap` (ms), got 60000',
      ],
      [
        'perf_1hr',
        { type: 'hopping', size: 1 } as unknown as WindowSpec,
        'type',
        'window `type` must be one of',
      ],
    ])('%s: %j', (id, spec, prop, message) => {
      const e = expectError(edit(id, { window: spec }), {
        field: `nodes.${id}.window.${prop}`,
        operator: id,
        message,
      });
      expect(e.message).toContain(`node \`${id}\``);
      expect(e.cause).toBeInstanceOf(ConfigError);
    });
  });

  describe('window timing', () => {
    it.each([
      ['lateness', { lateness: -1 }, 'window `lateness` must be an integer ≥ 0 (ms), got -1'],
      [
        'outOfOrderness',
        { outOfOrderness: -5 },
        'window `outOfOrderness` must be an integer ≥ 0 (ms), got -5',
      ],
      [
        'idleTimeoutMs',
        { idleTimeoutMs: 0 },
        'window `idleTimeoutMs` must be a positive integer (ms), got 0',
      ],
      [
        'earlyFiring.intervalMs',
        { earlyFiring: { intervalMs: 0 } },
        'window `earlyFiring.intervalMs` must be a positive integer (ms), got 0',
      ],
      [
        'quantiles.exactUpTo',
        { quantiles: { exactUpTo: -1 } },
        'window `quantiles.exactUpTo` must be an integer ≥ 0 (values kept exactly), got -1',
      ],
      [
        'quantiles.relativeAccuracy',
        { quantiles: { exactUpTo: 1000, relativeAccuracy: 0.5 } },
        'window `quantiles.relativeAccuracy` must be a number in (0, 0.1], got 0.5',
      ],
    ])('rejects a bad %s', (prop, patch, message) => {
      expectError(edit('perf_5min', patch), {
        field: `nodes.perf_5min.${prop}`,
        operator: 'perf_5min',
        message,
      });
    });

    it('accepts zero lateness and out-of-orderness, and set idle timeout and early firing', () => {
      const t = edit('perf_5min', {
        lateness: 0,
        outOfOrderness: 0,
        idleTimeoutMs: 30_000,
        earlyFiring: { intervalMs: 10_000 },
        quantiles: { exactUpTo: 10_000, relativeAccuracy: 0.01 },
      });
      expect(() => validateTopology(t)).not.toThrow();
    });
  });

  describe('quantiles', () => {
    it.each([0, -0.5, 1.5, Number.NaN])('rejects q = %d', (q) => {
      expectError(editFeature('perf_5min', 1, { agg: { type: 'quantile', field: 'latency_ms', q } }), {
        field: 'nodes.perf_5min.features[1].agg.q',
        operator: 'perf_5min',
        message: `quantile \`q\` must be in (0, 1], got ${q}`,
      });
    });

    it('accepts q = 1', () => {
      const t = editFeature('perf_5min', 1, { agg: { type: 'quantile', field: 'latency_ms', q: 1 } });
      expect(() => validateTopology(t)).not.toThrow();
    });
  });

  describe('features and groups', () => {
    it('rejects a feature id used twice across the topology', () => {
      expectError(editFeature('perf_1hr', 2, { id: 'PERF_006' }), {
        field: 'nodes.perf_1hr.features[2].id',
        operator: 'perf_1hr',
        message: 'duplicate feature id "PERF_006": already defined in `perf_5min`',
      });
    });

    it('rejects a feature name used twice across the topology', () => {
      expectError(editFeature('perf_1hr', 2, { name: 'success_rate_5min' }), {
        field: 'nodes.perf_1hr.features[2].name',
        operator: 'perf_1hr',
        message: 'duplicate feature name "success_rate_5min"',
      });
    });

    it('rejects a group name used twice', () => {
      expectError(edit('perf_1hr', { group: 'perf_5min' }), {
        field: 'nodes.perf_1hr.group',
        operator: 'perf_1hr',
        message: 'duplicate group "perf_5min": already used by `perf_5min`',
      });
    });

    it('rejects a window without features', () => {
      expectError(edit('perf_1hr', { features: [] }), {
        field: 'nodes.perf_1hr.features',
        operator: 'perf_1hr',
        message: 'window `features` must list at least one feature',
      });
    });

    it('rejects an empty feature name', () => {
      expectError(editFeature('perf_1hr', 0, { name: '' }), {
        field: 'nodes.perf_1hr.features[0].name',
        operator: 'perf_1hr',
        message: 'feature `name` must be a non-empty string',
      });
    });
  });

  describe('version', () => {
    it.each([0, -1, 1.5])('rejects version %d', (version) => {
      expectError(edit('perf_5min', { version }), {
        field: 'nodes.perf_5min.version',
        operator: 'perf_5min',
        message: `window \`version\` must be a positive integer, got ${version}`,
      });
    });
  });

  describe('sinks', () => {
    it('rejects a window that is not connected to a sink', () => {
      expectError(edit('features', { inputs: ['perf_5min'] }), {
        field: 'nodes.perf_1hr',
        operator: 'perf_1hr',
        message: 'window perf_1hr is not connected to a sink',
      });
    });
  });
});

describe('validateWindowSpec', () => {
  it('throws ConfigError naming the field and the rule', () => {
    let error: unknown;
    try {
      validateWindowSpec({ type: 'sliding', size: 3_600_000, slide: 0 }, 'nodes.perf_1hr.window');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      message: 'sliding window `slide` must be > 0 and ≤ `size`, got 0',
      field: 'nodes.perf_1hr.window.slide',
      domain: 'config',
    });
  });

  it.each<WindowSpec>([
    { type: 'tumbling', size: 300_000 },
    { type: 'tumbling', size: 300_000, offset: -299_999 },
    { type: 'sliding', size: 3_600_000, slide: 300_000, offset: 60_000 },
    { type: 'sliding', size: 300_000, slide: 300_000 },
    { type: 'session', gap: 1_800_000 },
    { type: 'session', gap: 1_800_000, maxDuration: 14_400_000 },
    { type: 'session', gap: 1_800_000, maxDuration: 1_800_000 },
  ])('accepts %j', (spec) => {
    expect(() => validateWindowSpec(spec, 'w')).not.toThrow();
  });

  it('rejects a non-integer slide within range', () => {
    expect(() => validateWindowSpec({ type: 'sliding', size: 10, slide: 2.5 }, 'w')).toThrow(
      'sliding window `slide` must be an integer (ms), got 2.5',
    );
  });

  it('rejects a non-object', () => {
    expect(() => validateWindowSpec(null, 'w')).toThrow(ConfigError);
  });
});
