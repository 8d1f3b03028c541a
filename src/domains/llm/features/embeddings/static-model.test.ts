import { describe, expect, it } from 'vitest';
import { Embedder } from './embedder.js';
import { DEFAULT_EMBEDDER, EMBEDDERS, embedderInfo } from './models.js';
import { embedStatic, STATIC_DIMS, STATIC_MODEL_VERSION, staticModel } from './static-model.js';

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('the static SIF model', () => {
  it('is the default, versioned in its info and cache keys', () => {
    expect(DEFAULT_EMBEDDER).toBe('static');
    expect(STATIC_MODEL_VERSION).toBe(EMBEDDERS.static.version);
    expect(EMBEDDERS.static.version).not.toBe(EMBEDDERS['use-lite'].version);
    expect(EMBEDDERS.static.featureVersion).not.toBe(EMBEDDERS['use-lite'].featureVersion);
    expect(() => embedderInfo('bert')).toThrow(/--embedder must be one of static, use-lite/);
  });

  it('gives unit vectors that depend on the words only (case, punctuation, batch do not matter)', async () => {
    const a = embedStatic('How do I reverse a list in Python?');
    expect(a).toHaveLength(STATIC_DIMS);
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(Array.from(embedStatic('how DO i reverse a list, in python'))).toEqual(Array.from(a));
    const [b, c] = await staticModel.embedBatch([
      'Write a poem about the ocean.',
      'How do I reverse a list in Python?',
    ]);
    expect(Array.from(c!)).toEqual(Array.from(a));
    expect(cos(a, b!)).toBeLessThan(0.99);
    expect(staticModel.tokenCount("Don't  stop—now!")).toBe(4);
  });

  it('ranks a paraphrase above an unrelated prompt', () => {
    const anchor = embedStatic('What are the side effects of ibuprofen?');
    const para = embedStatic('Which adverse reactions can aspirin cause?');
    const other = embedStatic('How do I configure a Kubernetes ingress?');
    expect(cos(anchor, para)).toBeGreaterThan(cos(anchor, other));
  });

  it('gives the zero vector to text without a known word', () => {
    expect(Array.from(embedStatic(''))).toEqual(new Array(STATIC_DIMS).fill(0));
    expect(Array.from(embedStatic('!!! ??? zzqxqzzqx'))).toEqual(new Array(STATIC_DIMS).fill(0));
  });

  it('runs in the Embedder uncached: no slot, every distinct text computed, duplicates deduped', async () => {
    const e = await Embedder.open({ cacheDir: '/nonexistent/never-created' });
    try {
      expect(e.info.name).toBe('static');
      expect(e.location).toBeNull();
      const vs = await e.embed(['one prompt', 'another prompt', 'one prompt']);
      expect(Array.from(vs[0]!)).toEqual(Array.from(vs[2]!));
      vs[0]![0] = 42;
      expect(vs[2]![0]).not.toBe(42);
      expect(e.stats()).toMatchObject({ requests: 3, deduped: 1, computed: 2, memoryHits: 0, diskHits: 0 });
    } finally {
      await e.close();
    }
  });
});
