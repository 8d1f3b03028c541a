/**
 * Drawing passes over a {@link Topology}: pretty JSON, a Graphviz digraph, or a Mermaid
 * flowchart. Each node is labelled with its kind, id and key facts; keyBy → window edges are
 * labelled `shuffle` (records cross to the shard that owns the key).
 *
 * @example
 * renderTopology(llmFeaturesTopology(), 'dot');     // pipe to `dot -Tsvg`
 * renderTopology(llmFeaturesTopology(), 'mermaid'); // paste into Markdown
 */
import type { Topology, TopologyNode, WindowSpec } from './nodes.js';

export type RenderFormat = 'json' | 'dot' | 'mermaid';

const UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/**
 * A duration in the largest unit that divides it exactly.
 * @example formatDuration(300_000) // '5m'; formatDuration(90_000) // '90s'; formatDuration(1_500) // '1500ms'
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms === 0) return `${ms}ms`;
  for (const [unit, size] of UNITS) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/**
 * The window definition in short human form.
 * @example describeWindow({ type: 'sliding', size: 3_600_000, slide: 300_000 }) // 'sliding 1h/5m'
 */
export function describeWindow(w: WindowSpec): string {
  const offset = 'offset' in w && w.offset ? ` offset ${formatDuration(w.offset)}` : '';
  switch (w.type) {
    case 'tumbling':
      return `tumbling ${formatDuration(w.size)}${offset}`;
    case 'sliding':
      return `sliding ${formatDuration(w.size)}/${formatDuration(w.slide)}${offset}`;
    case 'session':
      return `session gap ${formatDuration(w.gap)}${w.maxDuration === undefined ? '' : ` max ${formatDuration(w.maxDuration)}`}`;
    default:
      return `unknown window ${JSON.stringify(w)}`;
  }
}

const params = (p: unknown): string => (p === undefined ? '' : ` ${JSON.stringify(p)}`);

/** The lines of a node's label: kind, id, then its key facts. */
function labelLines(n: TopologyNode): string[] {
  const head = [n.kind, n.id];
  switch (n.kind) {
    case 'decode':
      return [...head, `schema ${n.schema}`];
    case 'filter':
      return [...head, `${n.fn}${params(n.params)}`];
    case 'map':
      return [
        ...head,
        `${n.fn}${params(n.params)}`,
        `${n.fields.length} fields, attrs ${n.attributes.join(', ')}`,
      ];
    case 'keyBy':
      return [...head, `key ${n.key}`];
    case 'window': {
      const timing = [`lateness ${formatDuration(n.lateness)}`, `ooo ${formatDuration(n.outOfOrderness)}`];
      if (n.idleTimeoutMs !== undefined) timing.push(`idle ${formatDuration(n.idleTimeoutMs)}`);
      if (n.earlyFiring !== undefined) timing.push(`early every ${formatDuration(n.earlyFiring.intervalMs)}`);
      if (n.quantiles !== undefined) {
        const pct = (n.quantiles.relativeAccuracy ?? 0.01) * 100;
        timing.push(`quantiles exact ≤ ${n.quantiles.exactUpTo}, then sketch ±${pct}%`);
      }
      const count = n.features.length;
      return [
        ...head,
        `${describeWindow(n.window)} by ${n.key}`,
        timing.join(', '),
        `group ${n.group} v${n.version}, ${n.entityType}, ${count} feature${count === 1 ? '' : 's'}`,
      ];
    }
    case 'process': {
      const count = n.features.length;
      return [
        ...head,
        `${n.fn}${params(n.params)} by ${n.key}`,
        `group ${n.group} v${n.version}, ${n.entityType}, ${count} feature${count === 1 ? '' : 's'}`,
      ];
    }
    default:
      return head;
  }
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly shuffle: boolean;
}

function edges(t: Topology): Edge[] {
  const kind = new Map(t.nodes.map((n) => [n.id, n.kind]));
  return t.nodes.flatMap((n) =>
    n.inputs.map((from) => ({
      from,
      to: n.id,
      shuffle: kind.get(from) === 'keyBy' && (n.kind === 'window' || n.kind === 'process'),
    })),
  );
}

/** A DOT double-quoted string: backslash and quote escaped, line breaks as `\n`. */
function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

const DOT_SHAPES: Readonly<Record<TopologyNode['kind'], string>> = {
  source: 'cds',
  decode: 'box',
  filter: 'trapezium',
  map: 'box',
  keyBy: 'hexagon',
  window: 'box3d',
  process: 'component',
  sink: 'cylinder',
};

function renderDot(t: Topology): string {
  const lines = [
    `digraph ${dotString(t.name)} {`,
    '  rankdir=LR;',
    '  node [shape=box, fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  if (t.description !== undefined) {
    lines.push(`  label=${dotString(`${t.name}: ${t.description}`)};`, '  labelloc=t;');
  }
  for (const n of t.nodes) {
    lines.push(
      `  ${dotString(n.id)} [label=${dotString(labelLines(n).join('\n'))}, shape=${DOT_SHAPES[n.kind] ?? 'box'}];`,
    );
  }
  for (const e of edges(t)) {
    const attrs = e.shuffle ? ' [label="shuffle", style=dashed]' : '';
    lines.push(`  ${dotString(e.from)} -> ${dotString(e.to)}${attrs};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid label text: quotes and markup as entity codes, line breaks as `<br/>`. */
function mermaidText(s: string): string {
  return s
    .replace(/#/g, '#35;')
    .replace(/&/g, '#amp;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/\r?\n/g, '<br/>');
}

const MERMAID_SHAPES: Readonly<Record<TopologyNode['kind'], readonly [string, string]>> = {
  source: ['([', '])'],
  decode: ['(', ')'],
  filter: ['[', ']'],
  map: ['[', ']'],
  keyBy: ['{{', '}}'],
  window: ['[[', ']]'],
  process: ['[/', '/]'],
  sink: ['[(', ')]'],
};

/**
 * Mermaid ids are synthetic (`n0`, `n1`, …) because node ids may be Mermaid keywords (`end`) or
 * start with edge syntax (`o`, `x`); the real id is in the label.
 */
function renderMermaid(t: Topology): string {
  const ref = new Map(t.nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ['flowchart LR', `  %% topology ${t.name.replace(/[\r\n]+/g, ' ')}`];
  for (const n of t.nodes) {
    const [open, close] = MERMAID_SHAPES[n.kind] ?? ['[', ']'];
    lines.push(`  ${ref.get(n.id)}${open}"${mermaidText(labelLines(n).join('\n'))}"${close}`);
  }
  const all = edges(t);
  // Inputs that name no node (an unvalidated draft) are drawn as placeholder nodes.
  for (const e of all) {
    if (ref.has(e.from)) continue;
    ref.set(e.from, `n${ref.size}`);
    lines.push(`  ${ref.get(e.from)}["${mermaidText(`missing\n${e.from}`)}"]`);
  }
  for (const e of all) {
    lines.push(`  ${ref.get(e.from)} ${e.shuffle ? '-. shuffle .->' : '-->'} ${ref.get(e.to)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Renders a topology.
 * - `json`: the topology as pretty JSON (parses back to an equal topology).
 * - `dot`: a Graphviz `digraph`, one node per topology node, edges from input to consumer.
 * - `mermaid`: the same as a `flowchart LR`.
 */
export function renderTopology(t: Topology, format: RenderFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(t, null, 2)}\n`;
    case 'dot':
      return renderDot(t);
    case 'mermaid':
      return renderMermaid(t);
    default:
      throw new TypeError(`unknown render format ${JSON.stringify(format)} (known: json, dot, mermaid)`);
  }
}
