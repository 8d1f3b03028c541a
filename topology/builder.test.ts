import { describe, expect, it } from 'vitest';
import { MAPS } from '../operators/functions.js';
import { TopologyError } from '../src/shared/errors.js';
import { type TopologyBuilder, topology, type WindowProps } from './builder.js';
import { SourceNode, type Topology } from './nodes.js';

const perf = MAPS.get('perf-extract')!;

const windowProps = (over: Partial<WindowProps> = {}): WindowProps => ({
  key: 'model',
  window: { type: 'tumbling', size: 300_000 },
  lateness: 60_000,
  outOfOrderness: 120_000,
  group: 'g',
  entityType: 'model',
  version: 1,
  features: [{ id: 'F_1', name: 'n_events', agg: { type: 'count' } }],
  ...over,
});

const upToKeyBy = (b: TopologyBuilder) =>
  b
    .source('events')
    .decode('decoded', 'events', 'llm-events')
    .filter('perf', 'decoded', 'event-type', { type: 'performance_metrics' })
    .map('extract', 'perf', 'perf-extract', { fields: perf.fields, attributes: perf.attributes })
    .keyBy('by_model', 'extract', 'model');

function isDeepFrozen(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  return Object.isFrozen(v) && Object.values(v).every(isDeepFrozen);
}

describe('topology builder', () => {
  it('leaves a builder value unchanged by later calls', () => {
    const empty = topology('t');
    const withSource = empty.source('events');
    const described = withSource.describe('about');
    const withDecode = withSource.decode('decoded', 'events', 'llm-events');

    expect(empty.nodes).toEqual([]);
    expect(empty.description).toBeUndefined();
    expect(withSource.nodes.map((n) => n.id)).toEqual(['events']);
    expect(withSource.description).toBeUndefined();
    expect(described.description).toBe('about');
    expect(described.nodes.map((n) => n.id)).toEqual(['events']);
    expect(withDecode.nodes.map((n) => n.id)).toEqual(['events', 'decoded']);
    expect(new Set([empty, withSource, described, withDecode]).size).toBe(4);
  });

  it('branches from a shared prefix without interference', () => {
    const base = upToKeyBy(topology('t'));
    const a = base.window('w_a', 'by_model', windowProps({ group: 'a' })).sink('out', 'w_a');
    const b = base
      .window(
        'w_b',
        'by_model',
        windowProps({ group: 'b', features: [{ id: 'F_2', name: 'x', agg: { type: 'count' } }] }),
      )
      .sink('out', ['w_b']);
    expect(base.nodes).toHaveLength(5);
    expect(a.build().nodes.map((n) => n.id)).toEqual([
      'events',
      'decoded',
      'perf',
      'extract',
      'by_model',
      'w_a',
      'out',
    ]);
    expect(b.build().nodes.map((n) => n.id)).toEqual([
      'events',
      'decoded',
      'perf',
      'extract',
      'by_model',
      'w_b',
      'out',
    ]);
  });

  it('is itself frozen', () => {
    const b = topology('t').source('events');
    expect(Object.isFrozen(b)).toBe(true);
    expect(Object.isFrozen(b.nodes)).toBe(true);
    expect(() => {
      (b as { name: string }).name = 'other';
    }).toThrow(TypeError);
  });

  it('copies its inputs, so mutating them later changes nothing', () => {
    const features = [{ id: 'F_1', name: 'n', agg: { type: 'count' as const } }];
    const params = { type: 'performance_metrics' };
    const b = upToKeyBy(topology('t'))
      .filter('f2', 'decoded', 'event-type', params)
      .window('w', 'by_model', windowProps({ features }))
      .sink('out', 'w');
    features.push({ id: 'F_2', name: 'm', agg: { type: 'count' } });
    params.type = 'user_feedback';
    const t = b.build();
    const w = t.nodes.find((n) => n.id === 'w');
    expect(w?.kind === 'window' && w.features.map((f) => f.id)).toEqual(['F_1']);
    expect(t.nodes.find((n) => n.id === 'f2')).toMatchObject({ params: { type: 'performance_metrics' } });
  });

  it('builds a deeply frozen topology, and building twice gives equal values', () => {
    const b = upToKeyBy(topology('t').describe('d'))
      .window('w', 'by_model', windowProps({ earlyFiring: { intervalMs: 10_000 } }))
      .sink('out', 'w');
    const t1 = b.build();
    const t2 = b.build();
    expect(isDeepFrozen(t1)).toBe(true);
    expect(t1).toEqual(t2);
    expect(t1).not.toBe(t2);
    expect(t1).toMatchObject({ name: 't', description: 'd' });
    expect(() => {
      (t1.nodes as unknown as Topology['nodes'][number][]).push(SourceNode.create({ id: 'x' }));
    }).toThrow(TypeError);
  });

  it('omits unset optional properties instead of storing undefined', () => {
    const t = upToKeyBy(topology('t'))
      .window('w', 'by_model', windowProps({ idleTimeoutMs: undefined }))
      .sink('out', 'w')
      .build();
    expect('description' in t).toBe(false);
    expect(Object.keys(t.nodes.find((n) => n.id === 'w')!)).not.toContain('idleTimeoutMs');
    expect(Object.keys(t.nodes.find((n) => n.id === 'events')!)).not.toContain('description');
  });

  it('sets descriptions on nodes and on the topology', () => {
    const t = topology('t').describe('whole').source('events', { description: 'raw' }).toTopology();
    expect(t.description).toBe('whole');
    expect(t.nodes[0]).toEqual({ id: 'events', kind: 'source', inputs: [], description: 'raw' });
  });

  it('add() appends a ready-made node', () => {
    const b = topology('t').add(SourceNode.create({ id: 'events' }));
    expect(b.nodes[0]?.kind).toBe('source');
  });

  it('validates on build and throws TopologyError', () => {
    const b = topology('t').source('events').decode('decoded', 'nope', 'llm-events');
    expect(() => b.build()).toThrow(TopologyError);
    expect(() => b.build()).toThrow(/missing input `nope`/);
    // toTopology() does not validate.
    expect(b.toTopology().nodes).toHaveLength(2);
  });
});
