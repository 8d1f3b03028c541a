/**
 * `npm run bench:features` — events/s of the full `llm-features` topology (65 features, 9 groups,
 * prompt embeddings) over a generated mix of all event types, beside a floor measured in the
 * same run on the same file (read the file, JSON.parse each line, count per event type). Two
 * streams: the generator's own (prompts repeat at a realistic rate), and the same stream with
 * every `llm_request` prompt made new (a unique suffix), each with a fresh embedding cache; then
 * the realistic stream once more with the cache the first run filled; and a stream where 40 % of
 * all events are requests with new prompts (a larger generated stream, every request kept with
 * its prompt made new, the other events thinned evenly), beside its own floor. Embedding throughput
 * (prompts/s) and the cache hit rate are reported separately.
 *
 *   EVENTS=60000 WORKERS=2 npm run bench:features
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlmEvents } from '../src/domains/llm/generate/llm-stream.js';
import { benchEmbeddings } from './embeddings.js';
import { runArgs, timedRun } from './run-cli.js';
import { counter, newPromptLine, writeHeavyStream } from './streams.js';

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
  /** Events/s of the whole process (start-up and exit included). */
  wall: number;
  rows: number;
  prompts: number;
  cacheHits: number;
  seconds: number;
  /** Peak RSS of the whole process, MB. */
  rss: number;
}

function featurestream(file: string, dir: string, cache: string): RunResult {
  const {
    summary: s,
    wallSeconds,
    peakRssMb,
  } = timedRun(root, [...runArgs('llm-features', file, dir, WORKERS), '--embedding-cache', cache]);
  const p = s.provided?.['prompt-embedding'];
  const embedded = p !== undefined ? { prompts: p.keys, cacheHits: p.cacheHits } : s.embeddings;
  return {
    eps: s.eventsPerSecond,
    wall: s.eventsRead / wallSeconds,
    rows: s.rowsWritten,
    prompts: embedded?.prompts ?? 0,
    cacheHits: embedded?.cacheHits ?? 0,
    seconds: s.seconds,
    rss: peakRssMb,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

const dir = mkdtempSync(join(tmpdir(), 'fs-bench-features-'));
try {
  const file = join(dir, 'events.ndjson');
  const g = await writeLlmEvents(file, { events: EVENTS, seed: 11 });
  // The same stream with every request's prompt new: a unique suffix on each.
  const fresh = join(dir, 'events-new-prompts.ndjson');
  const next = counter();
  let allNewPrompts = 0;
  const newPrompt = (l: string): string =>
    newPromptLine(l, () => {
      allNewPrompts++;
      return next();
    });
  writeFileSync(fresh, readFileSync(file, 'utf8').split('\n').map(newPrompt).join('\n'));
  // The issue's stream: 40 % of all events are requests with a new prompt.
  const heavy = join(dir, 'events-40pct-new.ndjson');
  const { events: heavyEvents, newPrompts: heavyNew } = await writeHeavyStream(
    heavy,
    Math.round(EVENTS * 2.4),
    12,
    next,
  );
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const before = load();
  const f1 = floor(file);
  const real = featurestream(file, dir, join(dir, 'cache-real'));
  const f2 = floor(fresh);
  const allNew = featurestream(fresh, dir, join(dir, 'cache-new'));
  const warm = featurestream(file, dir, join(dir, 'cache-real'));
  const f3 = floor(heavy);
  const h = featurestream(heavy, dir, join(dir, 'cache-heavy'));
  const f = Math.max(f1, f2);
  const requests = g.byType.llm_request ?? 0;
  console.log(
    `bench:features — ${fmt(EVENTS)} generated events (all 8 types), ${WORKERS} workers, ${cpus().length} cores, ${cpus()[0]?.model ?? ''}, node ${process.version}, load before ${before}`,
  );
  console.log(
    `  mix: ${Object.entries(g.byType)
      .map(([t, n]) => `${t} ${fmt(n)}`)
      .join(', ')}; distinct prompts ${fmt(g.uniquePrompts)} of ${fmt(requests)} requests`,
  );
  console.log(`  floor (read + JSON.parse + per-type count)                 ${fmt(f)} events/s`);
  console.log(
    `  llm-features, realistic prompt repetition, fresh cache      ${fmt(real.eps)} events/s   ratio ${(real.eps / f).toFixed(3)}×   whole process ${fmt(real.wall)} (${(real.wall / f).toFixed(3)}×)   (${real.seconds.toFixed(1)} s, ${fmt(real.rows)} rows, peak RSS ${fmt(real.rss)} MB)`,
  );
  console.log(
    `  llm-features, every prompt new (${fmt(allNewPrompts)}), fresh cache        ${fmt(allNew.eps)} events/s   ratio ${(allNew.eps / f).toFixed(3)}×   whole process ${fmt(allNew.wall)} (${(allNew.wall / f).toFixed(3)}×)   (${allNew.seconds.toFixed(1)} s, peak RSS ${fmt(allNew.rss)} MB)`,
  );
  console.log(
    `  llm-features, realistic stream again, warm cache            ${fmt(warm.eps)} events/s   ratio ${(warm.eps / f).toFixed(3)}×   whole process ${fmt(warm.wall)} (${(warm.wall / f).toFixed(3)}×)   (${warm.seconds.toFixed(1)} s, peak RSS ${fmt(warm.rss)} MB)`,
  );
  console.log(
    `  40 % new-prompt requests: ${fmt(heavyEvents)} events, ${fmt(heavyNew)} requests with new prompts (${pct(heavyNew / heavyEvents)}); floor ${fmt(f3)} events/s`,
  );
  console.log(
    `  llm-features, 40 % new-prompt requests, fresh cache         ${fmt(h.eps)} events/s   ratio ${(h.eps / f3).toFixed(3)}×   whole process ${fmt(h.wall)} (${(h.wall / f3).toFixed(3)}×)   (${h.seconds.toFixed(1)} s)`,
  );
  console.log(
    `  embedding cache hit rate in the runs: realistic ${pct(real.cacheHits / Math.max(1, real.prompts))} of ${fmt(real.prompts)} distinct-per-batch prompts, all-new ${pct(allNew.cacheHits / Math.max(1, allNew.prompts))}, warm ${pct(warm.cacheHits / Math.max(1, warm.prompts))}; load after ${load()}`,
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
