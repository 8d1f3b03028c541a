/**
 * The two prompt embedders compared on the same prompts, uncached: throughput of each (the ratio
 * static ÷ USE-lite is measured in the same run) and how well they agree — Spearman ρ between the
 * pairwise cosine similarities each gives to every pair of prompts, on the full vectors and on
 * the 8 projected values (DRV_001) that the features use.
 *
 *   npm run build && node dist/bench/embedders.js
 *   CORPUS_EXTRA=300 STATIC_PROMPTS=20000 node dist/bench/embedders.js
 *
 * Prompts: the committed projection corpus (303 hand-written prompts) plus CORPUS_EXTRA distinct
 * English-looking prompts of the generated LLM stream. Static throughput is measured on
 * STATIC_PROMPTS distinct generated prompts (all new: no cache is involved for this model).
 */
import { pathToFileURL } from 'node:url';
import { Embedder } from '../src/domains/llm/features/embeddings/embedder.js';
import { EMBEDDER_NAMES, type EmbedderName } from '../src/domains/llm/features/embeddings/models.js';
import { defaultCorpusPath, project, readCorpus } from '../src/domains/llm/features/embeddings/projection.js';
import { generateLlmEvents } from '../src/domains/llm/generate/llm-stream.js';

/** Distinct prompts of the generated stream, in order of first appearance. */
export function generatedPrompts(count: number, seed = 11): string[] {
  const seen = new Set<string>();
  for (const line of generateLlmEvents({ events: count * 20, seed })) {
    if (!line.includes('"llm_request"')) continue;
    try {
      const p = (JSON.parse(line) as { prompt?: unknown }).prompt;
      if (typeof p === 'string' && p.length > 0) seen.add(p);
    } catch {
      // malformed copies are part of the stream
    }
    if (seen.size >= count) break;
  }
  return [...seen];
}

function cosines(vs: ArrayLike<number>[]): Float64Array {
  const n = vs.length;
  const norms = vs.map((v) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0)));
  const out = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = vs[i]!;
      const b = vs[j]!;
      let dot = 0;
      for (let d = 0; d < a.length; d++) dot += a[d]! * b[d]!;
      const denom = norms[i]! * norms[j]!;
      out[k++] = denom === 0 ? 0 : dot / denom;
    }
  }
  return out;
}

function ranks(xs: Float64Array): Float64Array {
  const idx = Array.from(xs.keys()).sort((a, b) => xs[a]! - xs[b]!);
  const r = new Float64Array(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]!] === xs[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's ρ (Pearson correlation of the ranks, ties averaged). */
export function spearman(a: Float64Array, b: Float64Array): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i]! - ma) * (rb[i]! - mb);
    saa += (ra[i]! - ma) ** 2;
    sbb += (rb[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Figures of one run. */
export interface EmbeddersBenchResult {
  readonly prompts: number;
  readonly pairs: number;
  readonly promptsPerSec: Record<EmbedderName, number>;
  /** Prompts per second of this thread's CPU time (what a dedicated core would do). */
  readonly promptsPerCpuSec: Record<EmbedderName, number>;
  readonly staticPrompts: number;
  readonly rhoFull: number;
  readonly rhoProjected: number;
}

async function timeEmbed(name: EmbedderName, prompts: readonly string[]) {
  const e = await Embedder.open({ cacheDir: null, model: name, lruBytes: 0 });
  try {
    await e.embed(prompts.slice(0, 4)); // load the model and warm up
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const vectors = await e.embed(prompts);
    const cpu = process.cpuUsage(c0);
    return {
      vectors,
      perSec: prompts.length / ((performance.now() - t0) / 1000),
      perCpuSec: prompts.length / ((cpu.user + cpu.system) / 1e6),
    };
  } finally {
    await e.close();
  }
}

/** Runs the comparison. */
export async function benchEmbedders(extra = 300, staticCount = 20_000): Promise<EmbeddersBenchResult> {
  const corpus = readCorpus(defaultCorpusPath()).prompts;
  const many = generatedPrompts(Math.max(extra, staticCount));
  const prompts = [...new Set([...corpus, ...many.slice(0, extra)])];
  const perSec = {} as Record<EmbedderName, number>;
  const perCpuSec = {} as Record<EmbedderName, number>;
  const full = {} as Record<EmbedderName, Float64Array>;
  const projected = {} as Record<EmbedderName, Float64Array>;
  for (const name of EMBEDDER_NAMES) {
    const { vectors, perSec: rate, perCpuSec: cpuRate } = await timeEmbed(name, prompts);
    perSec[name] = rate;
    perCpuSec[name] = cpuRate;
    full[name] = cosines(vectors);
    projected[name] = cosines(vectors.map((v) => project(v, name)));
  }
  const bulk = await timeEmbed('static', many.slice(0, staticCount));
  return {
    prompts: prompts.length,
    pairs: full.static.length,
    promptsPerSec: { ...perSec, static: bulk.perSec },
    promptsPerCpuSec: { ...perCpuSec, static: bulk.perCpuSec },
    staticPrompts: Math.min(staticCount, many.length),
    rhoFull: spearman(full.static, full['use-lite']),
    rhoProjected: spearman(projected.static, projected['use-lite']),
  };
}

async function main(): Promise<void> {
  const extra = Number(process.env.CORPUS_EXTRA ?? 300);
  const staticCount = Number(process.env.STATIC_PROMPTS ?? 20_000);
  const r = await benchEmbedders(extra, staticCount);
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(`embedders, uncached, one thread (${new Date().toISOString().slice(0, 10)})`);
  const row = (name: EmbedderName, what: string) =>
    console.log(
      `  ${name.padEnd(9)} ${f(r.promptsPerSec[name]).padStart(7)} prompts/s wall, ${f(r.promptsPerCpuSec[name]).padStart(7)} per CPU-second  (${what})`,
    );
  row('use-lite', `${r.prompts} prompts, the baseline`);
  row('static', `${f(r.staticPrompts)} distinct new prompts`);
  console.log(
    `  static ÷ use-lite: ${(r.promptsPerSec.static / r.promptsPerSec['use-lite']).toFixed(0)}× wall, ${(r.promptsPerCpuSec.static / r.promptsPerCpuSec['use-lite']).toFixed(0)}× per CPU-second`,
  );
  console.log(
    `agreement static vs use-lite over ${f(r.pairs)} prompt pairs (Spearman ρ of pairwise cosines):`,
  );
  console.log(`  full vectors (100-d vs 512-d)  ρ = ${r.rhoFull.toFixed(3)}`);
  console.log(`  projected (8-d DRV_001)        ρ = ${r.rhoProjected.toFixed(3)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
