import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, InternalError } from '../../../../shared/errors.js';
import { Embedder } from './embedder.js';
import { EMBEDDER_NAMES, EMBEDDERS } from './models.js';
import {
  defaultCorpusPath,
  defaultProjectionPath,
  fitProjection,
  loadProjection,
  PROJECTION_DIMS,
  type ProjectionData,
  Projection,
  project,
  readCorpus,
} from './projection.js';

const root = mkdtempSync(join(tmpdir(), 'fs-h3-projection-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe.each(EMBEDDER_NAMES)('%s', (name) => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await Embedder.open({ cacheDir: null, model: name });
  });
  afterAll(() => embedder.close());
  const committed = (): ProjectionData => JSON.parse(readFileSync(defaultProjectionPath(name), 'utf8'));

  describe('the committed projection', () => {
    it('loads with its version, model, shape and orthonormal components', () => {
      const p = loadProjection(defaultProjectionPath(name), name);
      expect(p.version).toBe(1);
      expect(p.data).toMatchObject({ version: 1, model: EMBEDDERS[name].version, dims: PROJECTION_DIMS });
      expect(p.data.mean).toHaveLength(EMBEDDERS[name].dims);
      expect(p.data.components).toHaveLength(PROJECTION_DIMS);
      p.data.components.forEach((a, i) => {
        p.data.components.forEach((b, j) => {
          expect(cosine(a, b)).toBeCloseTo(i === j ? 1 : 0, 9);
        });
      });
      const v = p.data.explainedVariance;
      for (let k = 1; k < v.length; k++) expect(v[k]).toBeLessThanOrEqual(v[k - 1]!);
    });

    it('was fitted on the committed corpus (refit after editing corpus.txt)', () => {
      const sha = createHash('sha256').update(readFileSync(defaultCorpusPath())).digest('hex');
      expect(committed().corpusSha256).toBe(sha);
      const { prompts } = readCorpus(defaultCorpusPath());
      expect(committed().corpusSize).toBe(prompts.length);
      expect(prompts.length).toBeGreaterThanOrEqual(300);
    });

    it('is reproduced by refitting on the corpus', async () => {
      const out = join(root, 'nested', 'refit.json');
      const fitted = await fitProjection(defaultCorpusPath(), out, { embedder });
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(fitted);
      const c = committed();
      expect(fitted.corpusSha256).toBe(c.corpusSha256);
      // Same model, same code: the same bits. A tolerance only absorbs a Math.* difference between
      // Node versions.
      fitted.components.forEach((comp, k) => {
        comp.forEach((x, j) => {
          expect(Math.abs(x - c.components[k]![j]!)).toBeLessThan(1e-6);
        });
      });
      fitted.mean.forEach((x, j) => {
        expect(Math.abs(x - c.mean[j]!)).toBeLessThan(1e-7);
      });
    });
  });

  describe('project', () => {
    const prompts = [
      'How do I reverse a list in Python?',
      'Draft a cease and desist letter for a trademark dispute.',
      'What are the side effects of metformin?',
    ];

    it('maps an embedding to 8 values in [-1, 1], deterministically', async () => {
      const p = loadProjection(defaultProjectionPath(name), name);
      const vs = await embedder.embed(prompts);
      for (const v of vs) {
        const y = project(v, name);
        expect(y).toHaveLength(PROJECTION_DIMS);
        for (const x of y) {
          expect(Number.isFinite(x)).toBe(true);
          expect(Math.abs(x)).toBeLessThanOrEqual(1);
        }
        expect(project(Float32Array.from(v), name)).toEqual(y);
        expect(p.project(v)).toEqual(y);
        const raw = p.projectRaw(v);
        raw.forEach((r, k) => {
          expect(y[k]).toBeCloseTo(Math.max(-1, Math.min(1, r * p.data.scale[k]!)), 12);
        });
      }
      // Different prompts, different points.
      expect(project(vs[0]!, name)).not.toEqual(project(vs[1]!, name));
    });

    it('centres the corpus: mean projection near 0, almost nothing clamped', async () => {
      const p = loadProjection(defaultProjectionPath(name), name);
      const { prompts: corpus } = readCorpus(defaultCorpusPath());
      const ys = (await embedder.embed(corpus)).map((v) =>
        p.projectRaw(v).map((r, k) => r * p.data.scale[k]!),
      );
      for (let k = 0; k < PROJECTION_DIMS; k++) {
        const mean = ys.reduce((s, y) => s + y[k]!, 0) / ys.length;
        expect(Math.abs(mean)).toBeLessThan(1e-6);
      }
      const clamped = ys.flat().filter((x) => Math.abs(x) > 1).length;
      expect(clamped / (ys.length * PROJECTION_DIMS)).toBeLessThan(0.01);
    });

    it('rejects vectors of the wrong size', () => {
      expect(() => project(new Float32Array(3), name)).toThrow(InternalError);
    });
  });

  describe('semantic sanity: similar prompts are closer than unrelated ones', () => {
    // [anchor, paraphrase in the same domain, unrelated prompt]
    const triples: [string, string, string][] = [
      [
        'How do I reverse a list in Python?',
        'What is the Python way to reverse an array?',
        'What are the symptoms of the flu?',
      ],
      [
        'Draft a non-disclosure agreement for a startup.',
        'Write a confidentiality agreement between two companies.',
        'Give me a recipe for chocolate cake.',
      ],
      [
        'What are the side effects of ibuprofen?',
        'Which adverse reactions can aspirin cause?',
        'How do I configure a Kubernetes ingress?',
      ],
      [
        'How should I invest my retirement savings?',
        'What is a good portfolio allocation for a 401k?',
        'Write a poem about the ocean.',
      ],
      [
        'Summarize this court ruling on patent infringement.',
        'Explain the judgment in this copyright lawsuit.',
        'How much protein should I eat per day?',
      ],
    ];

    it.each(triples)('%s', async (anchor, similar, unrelated) => {
      const [a, s, u] = await embedder.embed([anchor, similar, unrelated]);
      expect(cosine(a!, s!)).toBeGreaterThan(cosine(a!, u!) + 0.2);
      const [pa, ps, pu] = [a!, s!, u!].map((v) => project(v, name));
      expect(cosine(pa!, ps!)).toBeGreaterThan(cosine(pa!, pu!));
      const dist = (x: number[], y: number[]) => Math.hypot(...x.map((xi, i) => xi - y[i]!));
      expect(dist(pa!, ps!)).toBeLessThan(dist(pa!, pu!));
    });
  });

  describe('loading rejects bad projections', () => {
    it('names the bad field', () => {
      const bad = { ...committed(), components: committed().components.slice(0, 7) };
      expect(() => Projection.fromJson(bad, 'projection', name)).toThrow(ConfigError);
      expect(() => Projection.fromJson(bad, 'projection', name)).toThrow(/components/);
      expect(() => Projection.fromJson({ ...committed(), version: 2 }, 'projection', name)).toThrow(
        /version/,
      );
    });

    it('refuses a projection fitted for another model', () => {
      expect(() =>
        Projection.fromJson({ ...committed(), model: 'other-model@1' }, 'projection', name),
      ).toThrow(expect.objectContaining({ field: 'model' }));
    });

    it('reports a missing or unparsable file as a ConfigError', () => {
      expect(() => loadProjection(join(root, 'missing.json'), name)).toThrow(ConfigError);
    });
  });
});
