import { describe, expect, it } from 'vitest';
import { FILTERS, MAPS, type MapContext } from '../../operators/functions.js';
import { registerPlugin } from '../../operators/plugins.js';
import { TOPOLOGIES } from '../../topology/index.js';
import type { Topology } from '../../topology/nodes.js';
import { planTopology } from '../../topology/plan.js';
import { decodeLine } from '../domains/llm/events/decode.js';
import { generateLlmEvents } from '../domains/llm/generate/llm-stream.js';
import type { ProviderInstance } from '../../operators/providers.js';
import { compileChains, decodeBatch } from './decode-stage.js';
import { shardOf } from './shard-hash.js';

const SHARDS = 4;
const DIMS = 8;
/** A deterministic stand-in for the embedder: the stage only forwards its vectors. */
const embed = (texts: readonly string[]) =>
  texts.map((t) => Array.from({ length: DIMS }, (_, i) => (t.length % 97) / 97 + i));
const embeddings: ReadonlyMap<string, ProviderInstance> = new Map([
  [
    'prompt-embedding',
    { resolve: async (texts: readonly string[]) => ({ values: embed(texts), cacheHits: 0 }) },
  ],
]);

interface Row {
  key: string;
  attrs: string[];
  ts: number;
  values: number[];
  ref: number;
}

/**
 * The oracle: every event through every chain, each filter called, each map's values padded to
 * the declared width — no routing by type, no short values, no columns.
 */
async function naive(topology: Topology, lines: readonly string[]): Promise<Map<string, Row[]>> {
  const plan = planTopology(topology);
  const out = new Map<string, Row[]>();
  const decoded = lines.map((l) => decodeLine(l));
  const prompts = [
    ...new Set(
      decoded.flatMap((r) =>
        r.ok && r.event.type === 'llm_request' && typeof r.event.body.prompt === 'string'
          ? [r.event.body.prompt]
          : [],
      ),
    ),
  ];
  const vectors = embed(prompts);
  const ctx: MapContext = { lookup: (_p: string, t: string) => vectors[prompts.indexOf(t)] ?? null };
  plan.pre.forEach((chain, c) => {
    const filters = chain.nodes.flatMap((n) =>
      n.kind === 'filter' ? [FILTERS.get(n.fn)!.create(n.params)] : [],
    );
    const mapNode = chain.nodes.find((n) => n.kind === 'map')!;
    const map = MAPS.get(mapNode.kind === 'map' ? mapNode.fn : '')!.create(
      mapNode.kind === 'map' ? mapNode.params : undefined,
    );
    const stage = plan.keyed[c]!;
    decoded.forEach((r, i) => {
      if (!r.ok || !filters.every((f) => f(r.event))) return;
      const rec = map(r.event, ctx);
      const key = rec?.attrs[stage.keyBy.key];
      if (rec === null || key === undefined || key === '') return;
      const values = Array.from({ length: stage.map.fields.length }, (_, j) => rec.values[j] ?? Number.NaN);
      const id = `${shardOf(key, SHARDS)}/${c}`;
      const rows = out.get(id) ?? [];
      rows.push({
        key,
        attrs: stage.map.attributes.map((a) => rec.attrs[a] ?? ''),
        ts: rec.ts,
        values,
        ref: 100 + i,
      });
      out.set(id, rows);
    });
  });
  return out;
}

/** The stage's columns read back as rows. */
async function staged(
  topology: Topology,
  lines: readonly string[],
  chains = compileChains(topology),
): Promise<Map<string, Row[]>> {
  const res = await decodeBatch(chains, lines, 100, SHARDS, embeddings);
  const out = new Map<string, Row[]>();
  for (const [s, branches] of res.perShard.entries()) {
    for (const [c, b] of (branches ?? []).entries()) {
      if (b === null) continue;
      const n = b.attrs.length / b.count;
      const rows: Row[] = [];
      for (let i = 0; i < b.count; i++) {
        rows.push({
          key: b.dict[b.keys[i]!]!,
          attrs: Array.from(b.attrs.subarray(i * n, i * n + n), (d) => b.dict[d]!),
          ts: b.ts[i]!,
          values: Array.from(b.values.subarray(i * b.width, (i + 1) * b.width)),
          ref: b.refs[i]!,
        });
      }
      out.set(`${s}/${c}`, rows);
    }
  }
  return out;
}

describe('decode stage', () => {
  it('routes every event of all eight types (bad lines included) exactly as a filter-by-filter oracle, full width', async () => {
    const topology = TOPOLOGIES.get('llm-features')!();
    const lines = [...generateLlmEvents({ events: 3_000, seed: 11, badFraction: 0.01 })];
    const got = await staged(topology, lines);
    const want = await naive(topology, lines);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [id, rows] of want) expect(got.get(id), id).toEqual(rows);
    // The derived branch mixes short (performance) and full-width records in one column, past
    // the columns' first growth: a short record's missing fields are NaN, never a neighbour's.
    const derived = planTopology(topology).pre.findIndex((ch) => ch.keyBy === 'by_all');
    const mixed = [...got].filter(([id]) => id.endsWith(`/${derived}`)).flatMap(([, r]) => r);
    expect(mixed.length).toBeGreaterThan(64);
    const perfKind = mixed.filter((r) => r.values[0] === 3);
    expect(perfKind.length).toBeGreaterThan(0);
    for (const r of perfKind) expect(r.values.slice(9).every(Number.isNaN)).toBe(true);
    expect(mixed.some((r) => r.values[0] === 0 && r.values.slice(9).some((v) => !Number.isNaN(v)))).toBe(
      true,
    );
  });

  it('sizes columns from the previous batch and still grows past it (batches of another mix)', async () => {
    const topology = TOPOLOGIES.get('llm-features')!();
    const chains = compileChains(topology);
    const all = [...generateLlmEvents({ events: 4_000, seed: 12, badFraction: 0.01 })];
    // A batch of feedback only, then mixed batches, then one of performance records only: each
    // starts from what the batch before left, so columns start too small and too large.
    const feedback = all.filter((l) => l.includes('"type":"feedback"')).slice(0, 300);
    const perf = all.filter((l) => l.includes('"type":"performance_metrics"'));
    for (const lines of [feedback, all.slice(0, 1_500), all.slice(1_500), perf, feedback]) {
      expect(await staged(topology, lines, chains)).toEqual(await naive(topology, lines));
    }
  });

  it('still calls a filter that is not a type test, after routing by type', async () => {
    const seen: string[] = [];
    registerPlugin({
      name: 'decode-stage-test',
      filters: {
        'stage-test-even-tokens': {
          create: () => (e) => {
            seen.push(e.type);
            return (e.body.input_tokens as number) % 2 === 0;
          },
        },
      },
    });
    const base = TOPOLOGIES.get('llm-perf')!();
    // After each filter, a second one that is not a type test; maps read from it.
    const nodes: Topology['nodes'][number][] = [];
    for (const n of base.nodes) {
      if (n.kind === 'filter') {
        nodes.push(n, { kind: 'filter', id: `${n.id}_even`, inputs: [n.id], fn: 'stage-test-even-tokens' });
      } else if (n.kind === 'map') {
        nodes.push({ ...n, inputs: n.inputs.map((i) => `${i}_even`) });
      } else nodes.push(n);
    }
    const topology: Topology = { ...base, nodes };
    const lines = [...generateLlmEvents({ events: 1_500, seed: 5, badFraction: 0 })];
    const got = await staged(topology, lines);
    const want = await naive(topology, lines);
    expect(got).toEqual(want);
    // Only performance events reach it: the type filter before it routed the rest elsewhere.
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set(['performance_metrics']));
    const kept = [...got.values()].flat().length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(seen.length);
  });
});
