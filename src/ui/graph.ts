import { graphlib, layout as dagreLayout } from '@dagrejs/dagre';

/**
 * The topology drawn as a graph: a pass over the same JSON `topology show --format json` prints
 * (and `GET /api/topology` serves), shared by the web page (bundled for the browser) and the
 * static `--format svg` / `--format html` exports. No DOM, no Node APIs: pure data in, SVG
 * text out.
 *
 * Layout by dagre (`@dagrejs/dagre`, layered Sugiyama style: network-simplex ranks, crossing
 * reduction, edge routes with room for the key labels), top to bottom. The same function runs in
 * Node for the static exports and, bundled by esbuild, in the page: one layout everywhere.
 *
 * @example
 * const svg = renderGraphSvg(layoutGraph(graphOf(JSON.parse(renderTopology(t, 'json')))));
 */

/** The JSON shape of a topology node as `topology show --format json` prints it. */
export interface TopologyNodeJson {
  readonly id: string;
  readonly kind: string;
  readonly inputs: readonly string[];
  readonly [k: string]: unknown;
}

export interface TopologyJson {
  readonly name: string;
  readonly description?: string;
  readonly nodes: readonly TopologyNodeJson[];
}

export interface GraphNode {
  readonly id: string;
  readonly kind: string;
  /** Lines under the title: key facts (window size/slide/lateness, key, group). */
  readonly lines: readonly string[];
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** The key on a keyed edge (`shuffle by model`), or ''. */
  readonly label: string;
}

export interface Graph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

const UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];
const dur = (ms: unknown): string => {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms === 0) return `${String(ms)}ms`;
  for (const [u, size] of UNITS) if (ms % size === 0) return `${ms / size}${u}`;
  return `${ms}ms`;
};

function windowText(w: Record<string, unknown>): string {
  switch (w.type) {
    case 'tumbling':
      return `tumbling ${dur(w.size)}`;
    case 'sliding':
      return `sliding ${dur(w.size)} / slide ${dur(w.slide)}`;
    case 'session':
      return `session gap ${dur(w.gap)}${w.maxDuration === undefined ? '' : ` max ${dur(w.maxDuration)}`}`;
    default:
      return String(w.type);
  }
}

const clip = (s: string) => (s.length > 34 ? `${s.slice(0, 33)}…` : s);

function linesOf(n: TopologyNodeJson): string[] {
  switch (n.kind) {
    case 'decode':
      return [`schema ${String(n.schema)}`];
    case 'filter':
      return [clip(`${String(n.fn)}${n.params === undefined ? '' : ` ${JSON.stringify(n.params)}`}`)];
    case 'map':
      return [String(n.fn), `${(n.fields as unknown[] | undefined)?.length ?? 0} fields`];
    case 'keyBy':
      return [`key ${String(n.key)}`];
    case 'window':
      return [
        windowText((n.window ?? {}) as Record<string, unknown>),
        `lateness ${dur(n.lateness)}, ooo ${dur(n.outOfOrderness)}`,
        `${String(n.group)} v${String(n.version)}, ${(n.features as unknown[] | undefined)?.length ?? 0} features`,
      ];
    case 'process':
      return [
        `processor ${String(n.fn)}`,
        `${String(n.group)} v${String(n.version)}, ${(n.features as unknown[] | undefined)?.length ?? 0} features`,
      ];
    default:
      return [];
  }
}

/** The drawable graph of a topology: nodes with their facts, edges labelled with their key. */
export function graphOf(t: TopologyJson): Graph {
  const byId = new Map(t.nodes.map((n) => [n.id, n]));
  const edges: GraphEdge[] = [];
  for (const n of t.nodes) {
    for (const from of n.inputs) {
      const up = byId.get(from);
      const label =
        up?.kind === 'keyBy'
          ? `shuffle by ${String(up.key)}`
          : n.kind === 'keyBy'
            ? `key ${String(n.key)}`
            : '';
      edges.push({ from, to: n.id, label });
    }
  }
  return { name: t.name, nodes: t.nodes.map((n) => ({ id: n.id, kind: n.kind, lines: linesOf(n) })), edges };
}

export interface PlacedNode extends GraphNode {
  /** Top-left corner. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge extends GraphEdge {
  /** The route, from the upstream box's border to the downstream one's. */
  readonly points: readonly { readonly x: number; readonly y: number }[];
  /** Where the key label goes (its centre), when the edge has one. */
  readonly labelAt: { readonly x: number; readonly y: number } | null;
}

export interface Layout {
  readonly graph: Graph;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

/** Node box size; the height leaves room for three fact lines and the live counters. */
export const NODE_WIDTH = 210;
const LINE = 14;
const RANK_GAP = 60;
const NODE_GAP = 24;
/** Label box size for dagre (~6 px per character at 10 px). */
const labelWidth = (s: string) => s.length * 6 + 8;

/** Places the graph with dagre, top to bottom (see the module comment). */
export function layoutGraph(g: Graph): Layout {
  const dg = new graphlib.Graph({ multigraph: true });
  dg.setGraph({ rankdir: 'TB', nodesep: NODE_GAP, ranksep: RANK_GAP, edgesep: 12, marginx: 20, marginy: 20 });
  const heightOf = (n: GraphNode) => 28 + LINE * (n.lines.length + 2);
  for (const n of g.nodes) dg.setNode(n.id, { width: NODE_WIDTH, height: heightOf(n) });
  g.edges.forEach((e, i) => {
    if (!dg.hasNode(e.from) || !dg.hasNode(e.to)) return;
    dg.setEdge(
      e.from,
      e.to,
      e.label === '' ? {} : { width: labelWidth(e.label), height: 14, labelpos: 'r', labeloffset: 4 },
      String(i),
    );
  });
  dagreLayout(dg);
  const nodes: PlacedNode[] = g.nodes.map((n) => {
    const p = dg.node(n.id);
    return { ...n, x: p.x - p.width / 2, y: p.y - p.height / 2, width: p.width, height: p.height };
  });
  const edges: PlacedEdge[] = [];
  g.edges.forEach((e, i) => {
    const d = dg.edge({ v: e.from, w: e.to, name: String(i) });
    if (d === undefined) return;
    const points = (d.points ?? []).map((q: { x: number; y: number }) => ({ x: q.x, y: q.y }));
    const labelAt = e.label === '' || d.x === undefined ? null : { x: d.x, y: d.y };
    edges.push({ ...e, points, labelAt });
  });
  const box = dg.graph();
  return { graph: g, nodes, edges, width: Math.ceil(box.width ?? 0), height: Math.ceil(box.height ?? 0) };
}

/** Fill colours by node kind (the page's legend uses the same). */
export const KIND_COLOURS: Readonly<Record<string, string>> = {
  source: '#dbeafe',
  decode: '#e0e7ff',
  filter: '#f3f4f6',
  map: '#ecfccb',
  keyBy: '#fef3c7',
  window: '#fde2e2',
  process: '#fae8ff',
  sink: '#d1fae5',
};

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The layout as one SVG document. Each node is a `<g class="node" data-id=… data-kind=…>` with
 * a `<text class="metrics" data-node=…>` line the live page fills in; edges carry their key.
 */
export function renderGraphSvg(l: Layout): string {
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" font-family="system-ui, sans-serif" font-size="11">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b"/></marker></defs>',
    `<title>${esc(l.graph.name)}</title>`,
  ];
  for (const e of l.edges) {
    parts.push(
      `<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><path d="${routePath(e.points)}" fill="none" stroke="#64748b" stroke-width="1.2" marker-end="url(#arrow)"/>` +
        (e.labelAt === null
          ? ''
          : `<text x="${e.labelAt.x}" y="${e.labelAt.y + 3}" text-anchor="middle" fill="#92400e" font-size="10">${esc(e.label)}</text>`) +
        '</g>',
    );
  }
  for (const n of l.nodes) {
    const fill = KIND_COLOURS[n.kind] ?? '#ffffff';
    parts.push(
      `<g class="node" data-id="${esc(n.id)}" data-kind="${esc(n.kind)}" transform="translate(${n.x},${n.y})">` +
        `<rect width="${n.width}" height="${n.height}" rx="6" fill="${fill}" stroke="#475569"/>` +
        `<text x="8" y="16" font-weight="600">${esc(n.id)}</text>` +
        `<text x="${n.width - 8}" y="16" text-anchor="end" fill="#475569" font-style="italic">${esc(n.kind)}</text>` +
        n.lines.map((t, i) => `<text x="8" y="${34 + i * LINE}" fill="#334155">${esc(t)}</text>`).join('') +
        `<text class="metrics" data-node="${esc(n.id)}" x="8" y="${34 + n.lines.length * LINE + 2}" fill="#0f766e" font-family="ui-monospace, monospace" font-size="10"></text>` +
        `<text class="metrics-out" data-node="${esc(n.id)}" x="8" y="${34 + (n.lines.length + 1) * LINE + 2}" fill="#0f766e" font-family="ui-monospace, monospace" font-size="10"></text>` +
        '</g>',
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** A smooth path through dagre's route: straight ends, quadratic curves through the bends. */
function routePath(ps: readonly { x: number; y: number }[]): string {
  if (ps.length === 0) return '';
  const f = (n: number) => Math.round(n * 10) / 10;
  let d = `M ${f(ps[0]!.x)} ${f(ps[0]!.y)}`;
  for (let i = 1; i < ps.length - 1; i++) {
    const p = ps[i]!;
    const q = ps[i + 1]!;
    d += ` Q ${f(p.x)} ${f(p.y)}, ${f((p.x + q.x) / 2)} ${f((p.y + q.y) / 2)}`;
  }
  const last = ps[ps.length - 1]!;
  return `${d} L ${f(last.x)} ${f(last.y)}`;
}
