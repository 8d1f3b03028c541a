import { describe, expect, it } from 'vitest';
import { MAPS } from '../operators/functions.js';
import { TopologyError } from '../src/shared/errors.js';
import { topology, type WindowProps } from './builder.js';
import { llmPerfTopology } from '../src/domains/llm/topology.js';
import { planTopology } from './plan.js';

const perf = MAPS.get('perf-extract')!;
const win = (group: string, id: string): WindowProps => ({
  key: 'model',
  window: { type: 'tumbling', size: 60_000 },
  lateness: 0,
  outOfOrderness: 0,
  group,
  entityType: 'model',
  version: 1,
  features: [{ id, name: id.toLowerCase(), agg: { type: 'count' } }],
});

describe('planTopology', () => {
  it('splits llm-perf at its keyBy', () => {
    const t = llmPerfTopology();
    const plan = planTopology(t);
    expect(plan.topology).toBe(t);
    expect(plan.sources.map((n) => n.id)).toEqual(['events']);
    expect(plan.pre).toHaveLength(1);
    expect(plan.pre[0]!.keyBy).toBe('by_model');
    expect(plan.pre[0]!.source.id).toBe('events');
    expect(plan.pre[0]!.nodes.map((n) => [n.kind, n.id])).toEqual([
      ['decode', 'decoded'],
      ['filter', 'perf_events'],
      ['map', 'perf_extract'],
    ]);
    expect(plan.keyed).toHaveLength(1);
    const [stage] = plan.keyed;
    expect(stage!.keyBy).toBe(t.nodes.find((n) => n.id === 'by_model'));
    expect(stage!.map).toBe(plan.pre[0]!.nodes.at(-1));
    expect(stage!.map.fields).toEqual(perf.fields);
    expect(stage!.windows.map((w) => w.id)).toEqual(['perf_5min', 'perf_1hr']);
    expect(plan.sinks.map((s) => [s.id, s.inputs])).toEqual([['features', ['perf_5min', 'perf_1hr']]]);
  });

  it('gives one chain per keyBy, sharing prefixes, in topology order', () => {
    const t = topology('branches')
      .source('events')
      .decode('decoded', 'events', 'llm-events')
      .filter('perf', 'decoded', 'event-type', { type: 'performance_metrics' })
      .map('all_extract', 'decoded', 'perf-extract', { fields: perf.fields, attributes: perf.attributes })
      .filter('perf_again', 'perf', 'event-type', { type: 'performance_metrics' })
      .map('perf_extract', 'perf_again', 'perf-extract', { fields: perf.fields, attributes: perf.attributes })
      .keyBy('by_model_perf', 'perf_extract', 'model')
      .keyBy('by_model_all', 'all_extract', 'model')
      .keyBy('unused', 'all_extract', 'model')
      .window('w_all', 'by_model_all', win('all', 'A_1'))
      .window('w_perf', 'by_model_perf', win('perf', 'P_1'))
      .window('w_perf2', 'by_model_perf', win('perf2', 'P_2'))
      .sink('online', ['w_perf', 'w_all'])
      .sink('offline', ['w_perf2'])
      .build();
    const plan = planTopology(t);
    expect(plan.pre.map((c) => [c.keyBy, c.source.id, c.nodes.map((n) => n.id)])).toEqual([
      ['by_model_perf', 'events', ['decoded', 'perf', 'perf_again', 'perf_extract']],
      ['by_model_all', 'events', ['decoded', 'all_extract']],
      ['unused', 'events', ['decoded', 'all_extract']],
    ]);
    expect(plan.keyed.map((k) => [k.keyBy.id, k.map.id, k.windows.map((w) => w.id)])).toEqual([
      ['by_model_perf', 'perf_extract', ['w_perf', 'w_perf2']],
      ['by_model_all', 'all_extract', ['w_all']],
      ['unused', 'all_extract', []],
    ]);
    expect(plan.pre.map((c) => c.keyBy)).toEqual(plan.keyed.map((k) => k.keyBy.id));
    // Shared prefix nodes are the same objects.
    expect(plan.pre[0]!.nodes[0]).toBe(plan.pre[1]!.nodes[0]);
    expect(plan.sinks.map((s) => s.id)).toEqual(['online', 'offline']);
  });

  it('handles several sources', () => {
    const t = topology('two')
      .source('a')
      .source('b')
      .decode('da', 'a', 'llm-events')
      .decode('db', 'b', 'llm-events')
      .map('mb', 'db', 'perf-extract', { fields: perf.fields, attributes: perf.attributes })
      .keyBy('kb', 'mb', 'model')
      .build();
    const plan = planTopology(t);
    expect(plan.sources.map((s) => s.id)).toEqual(['a', 'b']);
    expect(plan.pre.map((c) => [c.source.id, c.nodes.map((n) => n.id)])).toEqual([['b', ['db', 'mb']]]);
    expect(plan.sinks).toEqual([]);
  });

  it('returns a deeply frozen plan and leaves the topology unchanged', () => {
    const t = llmPerfTopology();
    const before = structuredClone(t);
    const plan = planTopology(t);
    expect(t).toEqual(before);
    for (const v of [
      plan,
      plan.pre,
      plan.pre[0],
      plan.pre[0]!.nodes,
      plan.keyed,
      plan.keyed[0],
      plan.keyed[0]!.windows,
      plan.sinks,
    ]) {
      expect(Object.isFrozen(v)).toBe(true);
    }
  });

  it('freezes a copy of an unfrozen topology', () => {
    const t = structuredClone(llmPerfTopology());
    const plan = planTopology(t);
    expect(plan.topology).not.toBe(t);
    expect(plan.topology).toEqual(t);
    expect(Object.isFrozen(plan.keyed[0]!.keyBy)).toBe(true);
  });

  it('validates first', () => {
    const t = llmPerfTopology();
    const broken = { ...t, nodes: t.nodes.filter((n) => n.id !== 'by_model') };
    expect(() => planTopology(broken)).toThrow(TopologyError);
    expect(() => planTopology(broken)).toThrow(/missing input `by_model`/);
  });
});
