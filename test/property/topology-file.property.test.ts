/**
 * Property: the topology-file reader (`topology/file.ts` `parseTopology`) answers any text with a
 * valid topology or a typed error on one line that names the file — never a TypeError, a stack
 * from inside a library, or a message over several lines. Inputs: random text, random JSON and
 * YAML documents, the shipped topologies with one field removed, replaced or retyped, and their
 * text cut short.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseTopology, serializeTopology, type TopologyFileFormat } from '../../topology/file.js';
import { TOPOLOGIES } from '../../topology/index.js';
import { FeaturestreamError } from '../../src/shared/errors.js';
import { bytesAsUtf8, PARAMS } from './runs.js';

const SHIPPED = [...TOPOLOGIES.keys()].map((name) =>
  JSON.parse(serializeTopology(TOPOLOGIES.get(name)!(), 'json')),
);

/** Every path (keys and indices) into a JSON value. */
function paths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => paths(x, [...at, i]))];
  if (v !== null && typeof v === 'object') {
    return [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))];
  }
  return [at];
}

/** `doc` with the value at `path` replaced by `value`, or removed when `value` is undefined. */
function edit(doc: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let parent = copy;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  return copy;
}

const mutated: fc.Arbitrary<unknown> = fc
  .constantFrom(...SHIPPED)
  .chain((doc) =>
    fc.tuple(
      fc.constant(doc),
      fc.constantFrom(...paths(doc)),
      fc.option(
        fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.constantFrom(-1, 0, 1e300, Number.MAX_SAFE_INTEGER + 2, '', 'x', [], {}, null, true),
        ),
        { nil: undefined },
      ),
    ),
  )
  .map(([doc, path, value]) => edit(doc, path, value));

const documents = fc.oneof(
  { weight: 4, arbitrary: mutated },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  {
    weight: 1,
    arbitrary: fc
      .dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }))
      .map((d) => ({ schemaVersion: 1, ...d })),
  },
);

const texts: fc.Arbitrary<[string, TopologyFileFormat]> = fc.oneof(
  documents.map((d) => [JSON.stringify(d) ?? 'null', 'json'] as [string, TopologyFileFormat]),
  documents.map((d) => [stringify(d ?? null), 'yaml'] as [string, TopologyFileFormat]),
  fc.tuple(
    fc.oneof(fc.string({ maxLength: 300 }), bytesAsUtf8),
    fc.constantFrom<TopologyFileFormat>('json', 'yaml'),
  ),
  fc
    .tuple(
      fc.constantFrom(...SHIPPED),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom<TopologyFileFormat>('json', 'yaml'),
    )
    .map(([doc, cut, f]) => {
      const t = f === 'json' ? JSON.stringify(doc, null, 2) : stringify(doc);
      return [t.slice(0, Math.floor(t.length * cut)), f] as [string, TopologyFileFormat];
    }),
);

describe('property: topology files', () => {
  it('any text is a valid topology or a typed one-line error naming the file', () => {
    let valid = 0;
    let errors = 0;
    fc.assert(
      fc.property(texts, ([text, format]) => {
        const source = `prop.${format}`;
        try {
          const t = parseTopology(text, format, source);
          expect(typeof t.name).toBe('string');
          expect(Array.isArray(t.nodes)).toBe(true);
          // What it read can be written back and read again to the same topology.
          expect(parseTopology(serializeTopology(t, format), format, source)).toEqual(t);
          valid++;
        } catch (err) {
          if (!(err instanceof FeaturestreamError)) {
            throw new Error(`untyped error for ${JSON.stringify(text.slice(0, 300))}: ${String(err)}`);
          }
          expect(err.message.startsWith(`topology file ${source}: `), err.message).toBe(true);
          expect(err.message.includes('\n'), err.message).toBe(false);
          errors++;
        }
      }),
      PARAMS,
    );
    expect(valid + errors).toBeGreaterThan(0);
    // the shipped documents themselves are valid
    for (const d of SHIPPED) parseTopology(JSON.stringify(d), 'json', 'shipped.json');
  });
});
