/**
 * `npm run bench:features` — events/s of the full `llm-features` topology (65 features, 9 groups,
 * prompt embeddings) over a generated mix of all event types, beside a floor measured in the
 * same run on the same file (read the file, JSON.parse each line, count per event type). The
 * topology runs twice: with a cold embedding cache, then with the cache the first run filled.
 * Embedding throughput (prompts/s) and the cache hit rate are reported separately.
 *
 *   EVENTS=60000 WORKERS=2 npm run bench:features
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlmEvents } from '../src/generate/llm-stream.js';
import { benchEmbeddings } from './embeddings.js';

const EVENTS = Number(process.env.EVENTS ?? 60_000);
const WORKERS = process.env.WORKERS ?? '2';
const root = new URL('../../', import.meta.url).pathname;

function floor(file: string): number {
  const t0 = performance.now();
  const text = readFileSync(file, 'utf8');
  const counts = new Map<string, number>();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    let k = '';
    try {
      k = String((JSON.parse(line) as { type?: unknown }).type);
    } catch {
      k = 'bad';
    }
    counts.set(k, (counts.get(k) ?? 0) + 1);
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  if (counts.size === 0) throw new Error('floor read nothing');
  return n / s;
}

interface RunResult {
  eps: number;
  rows: number;
  prompts: number;
  cacheHits: number;
  seconds: number;
}

function featurestream(file: string, dir: string, cache: string): RunResult {
  const out = execFileSync(
    process.execPath,
    [
      join(root, 'bin/featurestream.js'),
      'run',
      '--topology',
      'llm-features',
      '--input',
      file,
      '--out',
      join(dir, 'rows.ndjson'),
      '--state-dir',
      join(dir, 'state'),
      '--fresh',
      '--embedding-cache',
      cache,
      '--workers',
      WORKERS,
      '--summary-json',
    ],
    { encoding: 'utf8' },
  );
  const s = JSON.parse(out.trim().split('\n').at(-1)!) as {
    eventsPerSecond: number;
    rowsWritten: number;
    seconds: number;
    embeddings: { prompts: number; cacheHits: number };
  };
  return {
    eps: s.eventsPerSecond,
    rows: s.rowsWritten,
    prompts: s.embeddings.prompts,
    cacheHits: s.embeddings.cacheHits,
    seconds: s.seconds,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

const dir = mkdtempSync(join(tmpdir(), 'fs-bench-features-'));
try {
  const file = join(dir, 'events.ndjson');
  const g = await writeLlmEvents(file, { events: EVENTS, seed: 11 });
  const cache = join(dir, 'embeddings');
  const f1 = floor(file);
  const cold = featurestream(file, dir, cache);
  const f2 = floor(file);
  const warm = featurestream(file, dir, cache);
  const f = Math.max(f1, f2);
  console.log(
    `bench:features — ${fmt(EVENTS)} generated events (all 8 types), ${WORKERS} workers, ${cpus().length} cores, ${cpus()[0]?.model ?? ''}, node ${process.version}`,
  );
  console.log(
    `  mix: ${Object.entries(g.byType)
      .map(([t, n]) => `${t} ${fmt(n)}`)
      .join(', ')}`,
  );
  console.log(`  floor (read + JSON.parse + per-type count)         ${fmt(f)} events/s`);
  console.log(
    `  llm-features, cold embedding cache                  ${fmt(cold.eps)} events/s   ratio ${(cold.eps / f).toFixed(3)}×   (${cold.seconds.toFixed(1)} s, ${fmt(cold.rows)} rows)`,
  );
  console.log(
    `  llm-features, warm embedding cache                  ${fmt(warm.eps)} events/s   ratio ${(warm.eps / f).toFixed(3)}×   (${warm.seconds.toFixed(1)} s)`,
  );
  console.log(
    `  embedding cache hit rate in the runs: cold ${pct(cold.cacheHits / Math.max(1, cold.prompts))} of ${fmt(cold.prompts)} distinct-per-batch prompts, warm ${pct(warm.cacheHits / Math.max(1, warm.prompts))}`,
  );
  // Embedding throughput on this stream's own prompts, measured on its own (one thread).
  const prompts = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        const e = JSON.parse(l) as { type?: string; prompt?: unknown };
        return e.type === 'llm_request' && typeof e.prompt === 'string' && e.prompt.length > 0
          ? [e.prompt]
          : [];
      } catch {
        return [];
      }
    });
  const unique = [...new Set(prompts)].slice(0, 400);
  const e = await benchEmbeddings({ prompts: unique, requests: Math.min(prompts.length, 5000) });
  console.log(
    `  embeddings (one thread): ${e.promptsPerSecCold.toFixed(1)} prompts/s in batches of 32, ${e.promptsPerSecSingle.toFixed(1)} one at a time (baseline, ${(e.promptsPerSecCold / e.promptsPerSecSingle).toFixed(2)}×)`,
  );
  console.log(
    `  embedding cache on the stream's prompt repetition: hit rate ${pct(e.hitRate)} (ceiling ${pct(e.hitRateCeiling)}), ${pct(e.hitRateAfterRestart)} after a restart`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
