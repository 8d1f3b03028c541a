import { describe, expect, it } from 'vitest';
import { MAPS } from '../operators/functions.js';
import { topology } from './builder.js';
import { llmPerfTopology } from '../src/domains/llm/topology.js';
import type { Topology } from './nodes.js';
import { describeWindow, formatDuration, renderTopology } from './render.js';
import { validateTopology } from './validate.js';

const t = llmPerfTopology();
const edges = t.nodes.flatMap((n) => n.inputs.map((from) => [from, n.id] as const));

/** Parses the `id[...]`-style node lines of our Mermaid output into id → label text. */
function mermaidNodes(out: string): Map<string, string> {
  const nodes = new Map<string, string>();
  for (const m of out.matchAll(/^ {2}(n\d+)\W+"([^"]*)"\W*$/gm)) nodes.set(m[1]!, m[2]!);
  return nodes;
}

describe('renderTopology json', () => {
  it('round-trips to an equal topology', () => {
    const parsed = JSON.parse(renderTopology(t, 'json')) as Topology;
    expect(parsed).toStrictEqual(structuredClone(t));
    expect(() => validateTopology(parsed)).not.toThrow();
  });

  it('is pretty-printed', () => {
    expect(renderTopology(t, 'json')).toContain('\n  "name": "llm-perf"');
  });
});

describe('renderTopology dot', () => {
  const dot = renderTopology(t, 'dot');

  it('is one digraph', () => {
    expect(dot.startsWith('digraph "llm-perf" {\n')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
  });

  it('has every node, labelled with kind and id', () => {
    for (const n of t.nodes) expect(dot).toContain(`  "${n.id}" [label="${n.kind}\\n${n.id}`);
    expect(dot.match(/, shape=/g)).toHaveLength(t.nodes.length);
  });

  it('has every edge, keyBy → window labelled as shuffle', () => {
    for (const [from, to] of edges) expect(dot).toContain(`"${from}" -> "${to}"`);
    expect(dot.match(/ -> /g)).toHaveLength(edges.length);
    expect(dot).toContain('"by_model" -> "perf_5min" [label="shuffle", style=dashed];');
    expect(dot).toContain('"by_model" -> "perf_1hr" [label="shuffle", style=dashed];');
    expect(dot).toContain('"perf_extract" -> "by_model";');
  });

  it('labels the key facts', () => {
    expect(dot).toContain(
      'tumbling 5m by model\\nlateness 1m, ooo 2m\\ngroup perf_5min v1, model, 9 features',
    );
    expect(dot).toContain(
      'sliding 1h/5m by model\\nlateness 2m, ooo 2m\\ngroup perf_1hr v1, model, 3 features',
    );
    expect(dot).toContain('key model');
    expect(dot).toContain('event-type {\\"type\\":\\"performance_metrics\\"}');
  });

  it('escapes quotes, backslashes and newlines', () => {
    const odd = topology('a "b"\\c').describe('x\ny').source('s"1').toTopology();
    const out = renderTopology(odd, 'dot');
    expect(out).toContain('digraph "a \\"b\\"\\\\c" {');
    expect(out).toContain('"s\\"1" [label="source\\ns\\"1"');
    expect(out).toContain('x\\ny');
    // Every line is a complete statement: no raw newline leaked from a label.
    for (const line of out.trimEnd().split('\n').slice(1, -1)) expect(line).toMatch(/;$/);
  });
});

describe('renderTopology mermaid', () => {
  const out = renderTopology(t, 'mermaid');
  const nodes = mermaidNodes(out);
  const ref = new Map([...nodes].map(([ref, label]) => [label.split('<br/>')[1]!, ref]));

  it('is a left-to-right flowchart', () => {
    expect(out.startsWith('flowchart LR\n')).toBe(true);
  });

  it('has every node, labelled with kind and id', () => {
    expect(nodes.size).toBe(t.nodes.length);
    for (const n of t.nodes) expect(nodes.get(ref.get(n.id)!)).toMatch(new RegExp(`^${n.kind}<br/>${n.id}`));
  });

  it('has every edge, keyBy → window labelled as shuffle', () => {
    const lines = out.split('\n').filter((l) => l.includes('-->') || l.includes('.->'));
    expect(lines).toHaveLength(edges.length);
    for (const [from, to] of edges) {
      const shuffle = from === 'by_model';
      expect(lines).toContain(`  ${ref.get(from)} ${shuffle ? '-. shuffle .->' : '-->'} ${ref.get(to)}`);
    }
  });

  it('escapes quotes and markup in labels', () => {
    expect(out).toContain('event-type {#quot;type#quot;:#quot;performance_metrics#quot;}');
    const odd = topology('t').source('end').decode('a<b>#"', 'end', 'x').toTopology();
    const o = renderTopology(odd, 'mermaid');
    expect(o).toContain('n1("decode<br/>a#lt;b#gt;#35;#quot;<br/>schema x")');
    expect(o).toContain('n0 --> n1');
  });

  it('draws inputs that name no node as placeholders', () => {
    const draft = topology('t').decode('d', 'ghost', 'llm-events').toTopology();
    const o = renderTopology(draft, 'mermaid');
    expect(o).toContain('n1["missing<br/>ghost"]');
    expect(o).toContain('n1 --> n0');
  });
});

describe('window labels', () => {
  it('formats durations in the largest exact unit', () => {
    expect([300_000, 3_600_000, 90_000, 1_500, 86_400_000, 0].map(formatDuration)).toEqual([
      '5m',
      '1h',
      '90s',
      '1500ms',
      '1d',
      '0ms',
    ]);
  });

  it('describes each window kind', () => {
    expect(describeWindow({ type: 'tumbling', size: 300_000 })).toBe('tumbling 5m');
    expect(describeWindow({ type: 'tumbling', size: 3_600_000, offset: 60_000 })).toBe(
      'tumbling 1h offset 1m',
    );
    expect(describeWindow({ type: 'sliding', size: 3_600_000, slide: 300_000 })).toBe('sliding 1h/5m');
    expect(describeWindow({ type: 'session', gap: 1_800_000, maxDuration: 14_400_000 })).toBe(
      'session gap 30m max 4h',
    );
    expect(describeWindow({ type: 'session', gap: 1_800_000 })).toBe('session gap 30m');
  });

  it('shows session windows, idle timeout and early firing in dot', () => {
    const perf = MAPS.get('perf-extract')!;
    const s = topology('s')
      .source('events')
      .decode('decoded', 'events', 'llm-events')
      .map('extract', 'decoded', 'perf-extract', { fields: perf.fields, attributes: perf.attributes })
      .keyBy('by_model', 'extract', 'model')
      .window('sessions', 'by_model', {
        key: 'model',
        window: { type: 'session', gap: 1_800_000, maxDuration: 14_400_000 },
        lateness: 600_000,
        outOfOrderness: 600_000,
        idleTimeoutMs: 30_000,
        earlyFiring: { intervalMs: 10_000 },
        quantiles: { exactUpTo: 5000 },
        group: 'sessions',
        entityType: 'model',
        version: 2,
        features: [{ id: 'S_1', name: 'n', agg: { type: 'count' } }],
      })
      .sink('out', 'sessions')
      .build();
    const dot = renderTopology(s, 'dot');
    expect(dot).toContain(
      'session gap 30m max 4h by model\\nlateness 10m, ooo 10m, idle 30s, early every 10s, quantiles exact ≤ 5000, then sketch ±1%',
    );
    expect(dot).toContain('group sessions v2, model, 1 feature"');
  });

  it('rejects an unknown format', () => {
    expect(() => renderTopology(t, 'svg' as 'dot')).toThrow(TypeError);
  });
});
