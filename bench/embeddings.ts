/**
 * USE-lite prompt-embedding throughput and cache hit rate (the cached model; `bench/embedders.ts`
 * compares it with the default static model). Baseline, measured in the same run on the same
 * prompts: embedding one prompt per model call, uncached.
 *
 *   npm run build && node dist/bench/embeddings.js
 *   PROMPTS=400 REQUESTS=5000 ZIPF=1.1 RUNS=3 node dist/bench/embeddings.js
 *
 * Rows: uncached in calls of 32 prompts (a serving request's worth) and in one call (a backfill);
 * a Zipf-distributed repeated-prompt workload through memory + LevelDB cache; the same workload
 * again after a restart (fresh memory, warm disk).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Embedder, type EmbedderStats } from '../src/domains/llm/features/embeddings/embedder.js';
import { defaultCorpusPath, readCorpus } from '../src/domains/llm/features/embeddings/projection.js';
import { mulberry32 } from '../src/shared/random.js';

/** Options of {@link benchEmbeddings}. */
export interface EmbeddingsBenchOptions {
  /** Distinct prompts: embedded cold, and the universe the repeated workload draws from. */
  readonly prompts: readonly string[];
  /** Requests in the repeated workload. Default 5,000. */
  readonly requests?: number;
  /** Zipf exponent of the workload: the prompt of rank r is drawn with weight 1/r^s. Default 1.1. */
  readonly zipf?: number;
  /** Prompts per `embed` call in the cold batched and repeated runs. Default 32. */
  readonly callSize?: number;
  /** Seed of the workload. Default 1. */
  readonly seed?: number;
  /** Repetitions of the uncached measurements, interleaved; the median is reported. Default 3. */
  readonly runs?: number;
}

/** Figures of one {@link benchEmbeddings} run (rates are per second of wall time; uncached ones are medians). */
export interface EmbeddingsBenchResult {
  readonly prompts: number;
  /** Uncached, calls of `callSize` prompts (batches of 32). */
  readonly promptsPerSecCold: number;
  /** Uncached, all prompts in one call (grouped by token count, batches of 32). */
  readonly promptsPerSecBulk: number;
  /** Uncached, one prompt per call: the baseline. */
  readonly promptsPerSecSingle: number;
  readonly requests: number;
  readonly distinctRequested: number;
  /** Share of workload requests served without the model (memory, disk or deduplicated in a call). */
  readonly hitRate: number;
  /** The best any cache can do: 1 − distinct / requests (each prompt is computed once). */
  readonly hitRateCeiling: number;
  readonly promptsPerSecWorkload: number;
  readonly workloadStats: EmbedderStats;
  /** The workload again with fresh memory and the disk cache of the first pass. */
  readonly hitRateAfterRestart: number;
  readonly promptsPerSecAfterRestart: number;
}

/** `n` draws from `items`, the item of rank r (in a seeded shuffle) with weight 1/r^s. */
function zipfWorkload<T>(items: readonly T[], n: number, s: number, seed: number): T[] {
  const random = mulberry32(seed);
  const ranked = [...items];
  for (let i = ranked.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ranked[i], ranked[j]] = [ranked[j]!, ranked[i]!];
  }
  const cumulative: number[] = [];
  let total = 0;
  for (let r = 1; r <= ranked.length; r++) {
    total += 1 / r ** s;
    cumulative.push(total);
  }
  return Array.from({ length: n }, () => {
    const u = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return ranked[lo]!;
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, (performance.now() - t0) / 1000];
}

async function inCalls(embedder: Embedder, texts: readonly string[], size: number): Promise<void> {
  for (let i = 0; i < texts.length; i += size) await embedder.embed(texts.slice(i, i + size));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const served = (s: EmbedderStats) => (s.requests === 0 ? 0 : 1 - s.computed / s.requests);

/**
 * Measures cold throughput (batched vs one at a time) and the cache hit rate of a repeated,
 * Zipf-distributed workload, in this thread.
 *
 * @example
 * const r = await benchEmbeddings({ prompts: readCorpus(defaultCorpusPath()).prompts });
 * console.log(r.promptsPerSecCold / r.promptsPerSecSingle, r.hitRate);
 */
export async function benchEmbeddings(opts: EmbeddingsBenchOptions): Promise<EmbeddingsBenchResult> {
  const prompts = [...new Set(opts.prompts)];
  const requests = opts.requests ?? 5000;
  const callSize = opts.callSize ?? 32;
  const cold = () => Embedder.open({ cacheDir: null, lruBytes: 0, model: 'use-lite' });

  // Load the model and warm the JIT on text outside the measured set.
  const warm = await cold();
  await warm.embed(['warm-up: the quick brown fox', 'jumps over the lazy dog, twice, for the JIT']);
  await warm.close();

  const singleRates: number[] = [];
  const coldRates: number[] = [];
  const bulkRates: number[] = [];
  const measure = async (rates: number[], run: (e: Embedder) => Promise<unknown>) => {
    const embedder = await cold();
    const [, sec] = await timed(() => run(embedder));
    await embedder.close();
    rates.push(prompts.length / sec);
  };
  // Interleaved, so that load from elsewhere on the machine hits every mode alike.
  for (let run = 0; run < (opts.runs ?? 3); run++) {
    await measure(singleRates, (e) => inCalls(e, prompts, 1));
    await measure(coldRates, (e) => inCalls(e, prompts, callSize));
    await measure(bulkRates, (e) => e.embed(prompts));
  }

  const workload = zipfWorkload(prompts, requests, opts.zipf ?? 1.1, opts.seed ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'featurestream-bench-embeddings-'));
  try {
    const first = await Embedder.open({ cacheDir: dir, model: 'use-lite' });
    const [, workSec] = await timed(() => inCalls(first, workload, callSize));
    const workloadStats = first.stats();
    await first.close();
    const restarted = await Embedder.open({ cacheDir: dir, model: 'use-lite' });
    const [, restartSec] = await timed(() => inCalls(restarted, workload, callSize));
    const restartStats = restarted.stats();
    await restarted.close();
    const distinct = new Set(workload).size;
    return {
      prompts: prompts.length,
      promptsPerSecCold: median(coldRates),
      promptsPerSecBulk: median(bulkRates),
      promptsPerSecSingle: median(singleRates),
      requests,
      distinctRequested: distinct,
      hitRate: served(workloadStats),
      hitRateCeiling: 1 - distinct / requests,
      promptsPerSecWorkload: requests / workSec,
      workloadStats,
      hitRateAfterRestart: served(restartStats),
      promptsPerSecAfterRestart: requests / restartSec,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The corpus prompts plus variants of them (as repeated system-prompt wrappers make in practice). */
function benchPrompts(n: number): string[] {
  const corpus = readCorpus(defaultCorpusPath()).prompts;
  const wrappers = [
    (p: string) => p,
    (p: string) => `${p} Answer briefly.`,
    (p: string) => `Please help: ${p}`,
  ];
  const out: string[] = [];
  for (const wrap of wrappers) for (const p of corpus) if (out.length < n) out.push(wrap(p));
  return out;
}

async function main(): Promise<void> {
  const prompts = benchPrompts(Number(process.env.PROMPTS ?? 400));
  const requests = Number(process.env.REQUESTS ?? 5000);
  const zipf = Number(process.env.ZIPF ?? 1.1);
  const runs = Number(process.env.RUNS ?? 3);
  const r = await benchEmbeddings({ prompts, requests, zipf, runs });
  const x = (v: number) => `${(v / r.promptsPerSecSingle).toFixed(2)}×`;
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  const rows: [string, number, string][] = [
    ['uncached, one prompt per call (baseline)', r.promptsPerSecSingle, x(r.promptsPerSecSingle)],
    ['uncached, calls of 32 prompts', r.promptsPerSecCold, x(r.promptsPerSecCold)],
    [`uncached, all ${r.prompts} in one call`, r.promptsPerSecBulk, x(r.promptsPerSecBulk)],
    [`Zipf(${zipf}) workload, memory + LevelDB cache`, r.promptsPerSecWorkload, x(r.promptsPerSecWorkload)],
    ['same workload after restart (warm disk)', r.promptsPerSecAfterRestart, x(r.promptsPerSecAfterRestart)],
  ];
  console.log(
    `${r.prompts} distinct prompts (uncached rates: median of ${runs} interleaved runs); ` +
      `workload ${r.requests} requests over ${r.distinctRequested} of them\n`,
  );
  console.log('| | prompts/s | vs baseline |\n|---|---|---|');
  for (const [label, rate, ratio] of rows) console.log(`| ${label} | ${rate.toFixed(1)} | ${ratio} |`);
  const s = r.workloadStats;
  console.log(
    `\nhit rate ${pct(r.hitRate)} (ceiling ${pct(r.hitRateCeiling)}): memory ${s.memoryHits}, disk ${s.diskHits}, ` +
      `deduplicated in a call ${s.deduped}, computed ${s.computed}; after restart ${pct(r.hitRateAfterRestart)}`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
