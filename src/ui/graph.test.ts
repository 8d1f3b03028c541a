/**
 * The graph pass and its dagre layout over the shipped llm-features topology (the same JSON
 * `topology show --format json` prints): every node placed once, no two boxes overlap, every edge
 * runs downwards from its upstream box to its downstream one, keyed edges carry their label, and
 * the SVG export draws what the layout placed.
 */
import { describe, expect, it } from 'vitest';
import { serializeTopology } from '../../topology/file.js';
import { TOPOLOGIES } from '../../topology/index.js';
import { graphOf, layoutGraph, renderGraphSvg, type TopologyJson } from './graph.js';

const json = JSON.parse(serializeTopology(TOPOLOGIES.get('llm-features')!(), 'json')) as TopologyJson;
const graph = graphOf(json);
const layout = layoutGraph(graph);

/** Whether a point lies on a box's outline (within 1 px). */
const onBorder = (
  p: { x: number; y: number },
  r: { x: number; y: number; width: number; height: number },
) => {
  const inX = p.x >= r.x - 1 && p.x <= r.x + r.width + 1;
  const inY = p.y >= r.y - 1 && p.y <= r.y + r.height + 1;
  const near = (u: number, v: number) => Math.abs(u - v) <= 1;
  return (
    inX && inY && (near(p.x, r.x) || near(p.x, r.x + r.width) || near(p.y, r.y) || near(p.y, r.y + r.height))
  );
};

describe('layoutGraph (dagre)', () => {
  it('places every node once, inside the drawing, without overlaps', () => {
    expect(layout.nodes.map((n) => n.id).sort()).toEqual(json.nodes.map((n) => n.id).sort());
    for (const n of layout.nodes) {
      expect(n.x, n.id).toBeGreaterThanOrEqual(0);
      expect(n.y, n.id).toBeGreaterThanOrEqual(0);
      expect(n.x + n.width, n.id).toBeLessThanOrEqual(layout.width);
      expect(n.y + n.height, n.id).toBeLessThanOrEqual(layout.height);
    }
    for (const a of layout.nodes) {
      for (const b of layout.nodes) {
        if (a.id >= b.id) continue;
        const apart =
          a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.id} / ${b.id}`).toBe(true);
      }
    }
  });

  it('routes every edge downwards from its upstream box to its downstream box', () => {
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    expect(layout.edges).toHaveLength(graph.edges.length);
    for (const e of layout.edges) {
      const a = at.get(e.from)!;
      const b = at.get(e.to)!;
      expect(a.y + a.height, `${e.from} → ${e.to}`).toBeLessThanOrEqual(b.y);
      const first = e.points[0]!;
      const last = e.points.at(-1)!;
      expect(onBorder(first, a), `${e.from} → ${e.to} starts on its box`).toBe(true);
      expect(onBorder(last, b), `${e.from} → ${e.to} ends on its box`).toBe(true);
      if (e.label === '') expect(e.labelAt).toBeNull();
      else expect(e.labelAt, e.label).not.toBeNull();
    }
    expect(layout.edges.filter((e) => e.label.startsWith('shuffle by '))).not.toHaveLength(0);
  });

  it('the SVG draws the placed nodes and the labelled edges', () => {
    const svg = renderGraphSvg(layout);
    expect(svg.match(/<g class="node"/g)).toHaveLength(json.nodes.length);
    expect(svg.match(/<g class="edge"/g)).toHaveLength(graph.edges.length);
    for (const n of layout.nodes)
      expect(svg).toContain(`data-id="${n.id}" data-kind="${n.kind}" transform="translate(${n.x},${n.y})"`);
    expect(svg).toContain('>shuffle by model</text>');
  });
});
