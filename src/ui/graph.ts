/**
 * The topology drawn as a graph: a pass over the same JSON `topology show --format json` prints
 * (and `GET /api/topology` serves), shared by the web page (bundled for the browser) and the
 * static `--format svg` / `--format html` exports. No DOM, no Node APIs: pure data in, SVG
 * text out.
 *
 * Layout is layered (Sugiyama style, as dagre does): each node's rank is its longest path from a
 * source, nodes within a rank are ordered by the barycenter of their upstream nodes (a few
 * sweeps down and up), and edges are cubic curves between ranks.
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
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Layout {
  readonly graph: Graph;
  readonly nodes: readonly PlacedNode[];
  readonly width: number;
  readonly height: number;
}

/** Node box size; the height leaves room for three fact lines and the live counters. */
export const NODE_WIDTH = 210;
const LINE = 14;
const RANK_GAP = 70;
const NODE_GAP = 24;

/** Places the graph in ranks, top to bottom (see the module comment). */
export function layoutGraph(g: Graph): Layout {
  const ups = new Map<string, string[]>(g.nodes.map((n) => [n.id, []]));
  for (const e of g.edges) ups.get(e.to)?.push(e.from);
  const rank = new Map<string, number>();
  const rankOf = (id: string, seen: Set<string>): number => {
    const known = rank.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // a cycle (validation refuses them): break it
    seen.add(id);
    const r = Math.max(-1, ...(ups.get(id) ?? []).map((u) => rankOf(u, seen))) + 1;
    rank.set(id, r);
    return r;
  };
  for (const n of g.nodes) rankOf(n.id, new Set());
  const ranks: string[][] = [];
  for (const n of g.nodes) {
    const r = rank.get(n.id)!;
    ranks[r] ??= [];
    ranks[r].push(n.id);
  }
  const downs = new Map<string, string[]>(g.nodes.map((n) => [n.id, []]));
  for (const e of g.edges) downs.get(e.from)?.push(e.to);
  // Barycenter ordering: sweeps down (by upstream positions) and up (by downstream positions).
  const pos = new Map<string, number>();
  const index = () => {
    for (const r of ranks) {
      for (let i = 0; i < r.length; i++) pos.set(r[i]!, i);
    }
  };
  index();
  const bary = (id: string, nbrs: Map<string, string[]>) => {
    const ps = (nbrs.get(id) ?? []).map((x) => pos.get(x)!).filter((p) => p !== undefined);
    return ps.length === 0 ? pos.get(id)! : ps.reduce((a, b) => a + b, 0) / ps.length;
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? ranks.slice(1) : ranks.slice(0, -1).reverse();
    for (const r of order) {
      const keys = new Map(r.map((id) => [id, bary(id, down ? ups : downs)]));
      r.sort((a, b) => keys.get(a)! - keys.get(b)!);
      index();
    }
  }
  const nodeById = new Map(g.nodes.map((n) => [n.id, n]));
  const heightOf = (n: GraphNode) => 28 + LINE * (n.lines.length + 2);
  const widest = Math.max(...ranks.map((r) => r.length));
  const width = widest * (NODE_WIDTH + NODE_GAP) + NODE_GAP;
  const placed: PlacedNode[] = [];
  let y = 20;
  for (const r of ranks) {
    const h = Math.max(...r.map((id) => heightOf(nodeById.get(id)!)));
    const rowWidth = r.length * (NODE_WIDTH + NODE_GAP) - NODE_GAP;
    let x = (width - rowWidth) / 2;
    for (const id of r) {
      const n = nodeById.get(id)!;
      placed.push({ ...n, x, y, width: NODE_WIDTH, height: heightOf(n) });
      x += NODE_WIDTH + NODE_GAP;
    }
    y += h + RANK_GAP;
  }
  return { graph: g, nodes: placed, width, height: y - RANK_GAP + 20 };
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
  const at = new Map(l.nodes.map((n) => [n.id, n]));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" font-family="system-ui, sans-serif" font-size="11">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b"/></marker></defs>',
    `<title>${esc(l.graph.name)}</title>`,
  ];
  for (const e of l.graph.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (a === undefined || b === undefined) continue;
    const x1 = a.x + a.width / 2;
    const y1 = a.y + a.height;
    const x2 = b.x + b.width / 2;
    const y2 = b.y;
    const my = (y1 + y2) / 2;
    parts.push(
      `<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><path d="M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}" fill="none" stroke="#64748b" stroke-width="1.2" marker-end="url(#arrow)"/>` +
        (e.label === ''
          ? ''
          : `<text x="${x2 + 4}" y="${y2 - 6}" fill="#92400e" font-size="10">${esc(e.label)}</text>`) +
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
