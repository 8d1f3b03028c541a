import { describe, expect, it } from 'vitest';
import { TopologyError } from '../src/shared/errors.js';
import { parseTopology, serializeTopology, TOPOLOGY_SCHEMA_VERSION, topologyDocument } from './file.js';
import { loadTopology, TOPOLOGIES } from './index.js';

const errorOf = (f: () => unknown): TopologyError => {
  try {
    f();
  } catch (e) {
    if (e instanceof TopologyError) return e;
    throw e;
  }
  throw new Error('no error');
};

/** The llm-perf topology as a plain, editable document. */
const perfDoc = () => JSON.parse(serializeTopology(loadTopology('llm-perf'), 'json'));

describe('topology files', () => {
  for (const [name, make] of TOPOLOGIES) {
    for (const format of ['json', 'yaml'] as const) {
      it(`round-trips ${name} through ${format} to an equal topology`, () => {
        const t = make();
        const text = serializeTopology(t, format);
        const back = parseTopology(text, format, `${name}.${format}`);
        expect(back).toEqual(t);
        // …and writes the same text again.
        expect(serializeTopology(back, format)).toBe(text);
      });
    }
  }

  it('writes the node data with a schema version, id, kind and inputs first', () => {
    const doc = topologyDocument(loadTopology('llm-perf'));
    expect(doc.schemaVersion).toBe(TOPOLOGY_SCHEMA_VERSION);
    expect(Object.keys(doc.nodes[0]!).slice(0, 3)).toEqual(['id', 'kind', 'inputs']);
    expect(doc.nodes.find((n) => n.id === 'perf_1hr')).toMatchObject({
      kind: 'window',
      window: { type: 'sliding', size: 3_600_000, slide: 300_000 },
      lateness: 120_000,
    });
  });

  it('names the field of a mistyped or unknown entry, nodes by id', () => {
    const doc = perfDoc();
    doc.nodes.find((n: { id: string }) => n.id === 'perf_5min').window.size = '5m';
    let e = errorOf(() => parseTopology(JSON.stringify(doc), 'json', 'bad.json'));
    expect(e.field).toBe('nodes.perf_5min.window.size');
    expect(e.message).toMatch(/^topology file bad\.json: field `nodes\.perf_5min\.window\.size`/);

    const typo = perfDoc();
    typo.nodes.find((n: { id: string }) => n.id === 'perf_1hr').latness = 5;
    e = errorOf(() => parseTopology(JSON.stringify(typo), 'json', 'typo.json'));
    expect(e.field).toBe('nodes.perf_1hr');
    expect(e.message).toMatch(/unknown field `latness`/);

    const kind = perfDoc();
    kind.nodes[0].kind = 'spout';
    e = errorOf(() => parseTopology(JSON.stringify(kind), 'json', 'k.json'));
    expect(e.field).toBe('nodes.events.kind');
  });

  it('names the field and rule of a well-typed file that breaks a topology rule', () => {
    const doc = perfDoc();
    doc.nodes.find((n: { id: string }) => n.id === 'perf_1hr').window.slide = 0;
    const e = errorOf(() => parseTopology(JSON.stringify(doc), 'json', 'slide.json'));
    expect(e.field).toBe('nodes.perf_1hr.window.slide');
    expect(e.operator).toBe('perf_1hr');
    expect(e.message).toMatch(/sliding window `slide` must be > 0 and ≤ `size`, got 0/);

    const ttl = perfDoc();
    ttl.nodes.find((n: { id: string }) => n.id === 'perf_5min').ttlSeconds = -1;
    expect(errorOf(() => parseTopology(JSON.stringify(ttl), 'json', 't.json')).field).toBe(
      'nodes.perf_5min.ttlSeconds',
    );
    const rule = perfDoc();
    rule.nodes.find((n: { id: string }) => n.id === 'perf_5min').features[0].validation = { min: 2, max: 1 };
    expect(errorOf(() => parseTopology(JSON.stringify(rule), 'json', 'r.json')).field).toBe(
      'nodes.perf_5min.features[0].validation.max',
    );
  });

  it('rejects another schema version, and text that is not JSON or YAML', () => {
    const doc = { ...perfDoc(), schemaVersion: 2 };
    expect(errorOf(() => parseTopology(JSON.stringify(doc), 'json', 'v.json')).field).toBe('schemaVersion');
    expect(errorOf(() => parseTopology('{', 'json', 'x.json')).message).toMatch(/not valid JSON/);
    expect(errorOf(() => parseTopology('a: [', 'yaml', 'x.yaml')).message).toMatch(/not valid YAML/);
  });
});
