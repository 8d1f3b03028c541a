import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, InternalError } from '../../../../shared/errors.js';
import {
  closeSharedEmbedders,
  EMBEDDING_DIMS,
  Embedder,
  type EmbedderStats,
  embeddingCacheKey,
  MODEL_VERSION,
  sharedEmbedder,
} from './embedder.js';

const root = mkdtempSync(join(tmpdir(), 'fs-h3-embeddings-'));
let dirs = 0;
const freshDir = () => join(root, `cache-${dirs++}`);

const opened: Embedder[] = [];
/** The cached model (USE-lite) unless a test names another. */
async function open(opts: Parameters<typeof Embedder.open>[0]): Promise<Embedder> {
  const e = await Embedder.open({ model: 'use-lite', ...opts });
  opened.push(e);
  return e;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((e) => e.close()));
  await closeSharedEmbedders();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TEXTS = [
  'How do I reverse a list in Python?',
  'Draft a mutual NDA between two startups.',
  '',
  'Quels sont les effets secondaires de l’ibuprofène ?',
  'How do I reverse a list in Python?',
  'Summarize this earnings call transcript in five bullet points.',
  '糖尿病患者的饮食应该注意什么？',
];
const UNIQUE = new Set(TEXTS).size;

const total = (s: EmbedderStats) => s.deduped + s.memoryHits + s.diskHits + s.computed;
const values = (vs: readonly Float32Array[]) => vs.map((v) => Array.from(v));

describe('Embedder (use-lite, cached)', () => {
  it('returns one 512-d float32 vector per text, unit length, distinct texts distinct', async () => {
    const e = await open({ cacheDir: null });
    const vs = await e.embed(TEXTS);
    expect(vs).toHaveLength(TEXTS.length);
    for (const v of vs) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v).toHaveLength(EMBEDDING_DIMS);
      expect(Math.hypot(...v)).toBeCloseTo(1, 4);
    }
    expect(Array.from(vs[0]!)).toEqual(Array.from(vs[4]!));
    expect(Array.from(vs[0]!)).not.toEqual(Array.from(vs[1]!));
    expect(await e.embed([])).toEqual([]);
  });

  it('gives identical values alone, in batches, from memory and from disk after reopening', async () => {
    const single = await open({ cacheDir: null, lruBytes: 0 });
    const alone: Float32Array[] = [];
    for (const t of TEXTS) alone.push(...(await single.embed([t])));
    expect(single.stats().computed).toBe(TEXTS.length); // no memory cache: every call computes

    const batched = values(await (await open({ cacheDir: null, batchSize: 32 })).embed(TEXTS));
    // Batches of 2: batch boundaries fall elsewhere, and the empty string lands at the end of one.
    const pairs = values(await (await open({ cacheDir: null, batchSize: 2 })).embed(TEXTS));
    expect(batched).toEqual(values(alone));
    expect(pairs).toEqual(values(alone));

    const dir = freshDir();
    const cached = await open({ cacheDir: dir });
    const computed = values(await cached.embed(TEXTS));
    const fromMemory = values(await cached.embed(TEXTS));
    expect(cached.stats()).toMatchObject({ computed: UNIQUE, memoryHits: UNIQUE, diskHits: 0 });
    await cached.close();

    const reopened = await open({ cacheDir: dir });
    const fromDisk = values(await reopened.embed(TEXTS));
    expect(reopened.stats()).toMatchObject({ computed: 0, memoryHits: 0, diskHits: UNIQUE, diskErrors: 0 });
    expect(computed).toEqual(values(alone));
    expect(fromMemory).toEqual(values(alone));
    expect(fromDisk).toEqual(values(alone));
  });

  it('counts every request once: deduped + memory + disk + computed = requests', async () => {
    const e = await open({ cacheDir: freshDir() });
    await e.embed(['a', 'b', 'a', 'a']);
    expect(e.stats()).toEqual({
      requests: 4,
      deduped: 2,
      memoryHits: 0,
      diskHits: 0,
      computed: 2,
      diskErrors: 0,
    });
    await e.embed(['b', 'c']);
    const s = e.stats();
    expect(s).toMatchObject({ requests: 6, deduped: 2, memoryHits: 1, computed: 3 });
    expect(total(s)).toBe(s.requests);
  });

  it('computes a text once when concurrent calls ask for it', async () => {
    const e = await open({ cacheDir: null });
    const [first, second] = await Promise.all([e.embed(['x one', 'y two']), e.embed(['y two', 'z three'])]);
    expect(e.stats()).toMatchObject({ requests: 4, computed: 3, deduped: 1 });
    expect(Array.from(first[1]!)).toEqual(Array.from(second[0]!));
  });

  it('reads the disk when the memory LRU is too small, and evicts by bytes', async () => {
    const dir = freshDir();
    const texts = ['alpha prompt', 'beta prompt', 'gamma prompt', 'delta prompt'];
    // Room for about one vector (2 KiB + key).
    const e = await open({ cacheDir: dir, lruBytes: 2600 });
    const first = values(await e.embed(texts));
    const again = values(await e.embed(texts));
    const s = e.stats();
    expect(s.computed).toBe(4);
    expect(s.memoryHits).toBeLessThanOrEqual(1);
    expect(s.diskHits).toBeGreaterThanOrEqual(3);
    expect(again).toEqual(first);
  });

  it('hands out copies: changing a returned vector does not change the cache', async () => {
    const e = await open({ cacheDir: null });
    const [v] = await e.embed(['mutable?']);
    const original = Array.from(v!);
    v!.fill(0);
    const [w] = await e.embed(['mutable?']);
    expect(e.stats().memoryHits).toBe(1);
    expect(Array.from(w!)).toEqual(original);
  });

  it('keys the cache by model version and SHA-256 of the text', () => {
    const k = embeddingCacheKey('hello');
    expect(k).toBe(`${MODEL_VERSION}:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824`);
    expect(embeddingCacheKey('hello ')).not.toBe(k);
  });

  it('treats an unreadable stored value as a miss and overwrites it', async () => {
    const dir = freshDir();
    const first = await open({ cacheDir: dir });
    expect(first.location).toBe(join(dir, 'slot-0'));
    await first.close();
    const db = new ClassicLevel<string, Uint8Array>(join(dir, 'slot-0'), { valueEncoding: 'view' });
    await db.put(embeddingCacheKey('corrupted'), new Uint8Array([1, 2, 3]));
    await db.close();

    const e = await open({ cacheDir: dir });
    const [v] = await e.embed(['corrupted']);
    expect(e.stats()).toMatchObject({ diskErrors: 1, diskHits: 0, computed: 1 });
    await e.close();
    const again = await open({ cacheDir: dir });
    const [w] = await again.embed(['corrupted']);
    expect(again.stats()).toMatchObject({ diskErrors: 0, diskHits: 1 });
    expect(Array.from(w!)).toEqual(Array.from(v!));
  });

  it('validates its options and its use', async () => {
    await expect(Embedder.open({ cacheDir: null, batchSize: 0 })).rejects.toThrow(ConfigError);
    await expect(Embedder.open({ cacheDir: null, batchSize: 0 })).rejects.toMatchObject({
      field: 'batchSize',
    });
    await expect(Embedder.open({ cacheDir: null, lruBytes: -1 })).rejects.toMatchObject({
      field: 'lruBytes',
    });
    await expect(Embedder.open({ cacheDir: '' })).rejects.toMatchObject({ field: 'cacheDir' });
    const e = await Embedder.open({ cacheDir: null, model: 'use-lite' });
    await expect(e.embed(['ok', 3 as unknown as string])).rejects.toMatchObject({ field: 'texts[1]' });
    await e.close();
    await expect(e.embed(['late'])).rejects.toThrow(InternalError);
  });
});

describe('several Embedders on one cacheDir', () => {
  it('each claims its own slot; a reopened slot keeps what its owner wrote', async () => {
    const dir = freshDir();
    const a = await open({ cacheDir: dir });
    const b = await open({ cacheDir: dir });
    expect(a.location).toBe(join(dir, 'slot-0'));
    expect(b.location).toBe(join(dir, 'slot-1'));

    const [va] = await a.embed(['written by a']);
    const [vb] = await b.embed(['written by b']);
    // Both work at once, each with its own persistent cache.
    const [va2, vb2] = await Promise.all([a.embed(['written by b']), b.embed(['written by a'])]);
    expect(Array.from(va2![0]!)).toEqual(Array.from(vb!));
    expect(Array.from(vb2![0]!)).toEqual(Array.from(va!));
    await a.close();
    await b.close();

    const c = await open({ cacheDir: dir });
    expect(c.location).toBe(join(dir, 'slot-0'));
    await c.embed(['written by a', 'written by b']);
    expect(c.stats()).toMatchObject({ diskHits: 2, computed: 0 });
  });

  it('opens concurrently without two openers on one slot', async () => {
    const dir = freshDir();
    const all = await Promise.all([0, 1, 2].map(() => open({ cacheDir: dir })));
    expect(new Set(all.map((e) => e.location)).size).toBe(3);
  });

  it('runs from memory when every slot is taken', async () => {
    const dir = freshDir();
    const holder = await open({ cacheDir: dir, maxSlots: 1 });
    const late = await open({ cacheDir: dir, maxSlots: 1 });
    expect(holder.location).not.toBeNull();
    expect(late.location).toBeNull();
    const [v] = await late.embed(['still works']);
    const [w] = await holder.embed(['still works']);
    expect(Array.from(v!)).toEqual(Array.from(w!));
    expect(late.stats()).toMatchObject({ computed: 1, diskErrors: 0 });
  });
});

describe('sharedEmbedder', () => {
  it('returns one instance per cacheDir in a thread, and a new one after close', async () => {
    const dir = freshDir();
    const use = { model: 'use-lite' } as const;
    const [x, y] = await Promise.all([sharedEmbedder(dir, use), sharedEmbedder(join(dir, '.'), use)]);
    expect(x).toBe(y);
    expect(await sharedEmbedder(null, use)).not.toBe(x);
    expect(await sharedEmbedder(dir)).not.toBe(x); // the default (static) model
    await x.close();
    const z = await sharedEmbedder(dir, use);
    expect(z).not.toBe(x);
    expect(z.location).toBe(join(dir, 'slot-0'));
  });
});
