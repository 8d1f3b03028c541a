/**
 * `npm run bench:compare` — this build against another featurestream build (a checkout with
 * `npm run build` done, e.g. the 0.1.0 release) on the same inputs, in alternating whole-process
 * runs (this, that, that, this, …), so both see the same machine load. Three workloads, the ones
 * the throughput targets name:
 *
 * - `features`: the full catalog (`llm-features`, 65 features, prompt embeddings) over a stream
 *   where 40 % of the events are requests with new prompts (`EVENTS`, default 100,000), each run
 *   with a fresh embedding cache;
 * - `ingest-features`, `ingest-perf`: performance events only (`PERF_EVENTS`, default 250,000)
 *   through `llm-features` and `llm-perf`.
 *
 * Prints the median events/s (whole process: start-up and exit included) of each build, and the
 * ratio this/that.
 *
 *   BASELINE=/path/to/featurestream-0.1.0 RUNS=5 npm run bench:compare
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { runArgs, timedRun } from './run-cli.js';
import { writeHeavyStream } from './streams.js';

const RUNS = Number(process.env.RUNS ?? 5);
const EVENTS = Number(process.env.EVENTS ?? 100_000);
const PERF_EVENTS = Number(process.env.PERF_EVENTS ?? 250_000);
const WORKERS = process.env.WORKERS ?? '2';
const ONLY = process.env.ONLY?.split(',');
const here = new URL('../../', import.meta.url).pathname;
const baseline = process.env.BASELINE;
if (baseline === undefined || !existsSync(join(baseline, 'bin/featurestream.js')))
  throw new Error(
    'BASELINE must name a built featurestream checkout (its bin/featurestream.js and dist/), e.g. BASELINE=../featurestream-0.1.0',
  );

interface Workload {
  readonly name: string;
  readonly topology: string;
  readonly input: string;
  readonly extra: readonly string[];
}

/** Events/s and peak RSS (MB) of one whole-process run of `root`'s CLI. */
function run(root: string, w: Workload, dir: string): { eps: number; rss: number } {
  rmSync(join(dir, 'cache'), { recursive: true, force: true });
  const { summary, wallSeconds, peakRssMb } = timedRun(
    root,
    [...runArgs(w.topology, w.input, dir, WORKERS), ...w.extra],
    dir,
  );
  return { eps: summary.eventsRead / wallSeconds, rss: peakRssMb };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const dir = mkdtempSync(join(tmpdir(), 'fs-bench-compare-'));
try {
  const heavy = join(dir, 'events-40pct-new.ndjson');
  const perf = join(dir, 'perf.ndjson');
  // About EVENTS events after thinning: about half of the generated stream is kept.
  const h = await writeHeavyStream(heavy, Math.round(EVENTS * 1.986));
  await writePerfEvents(perf, { events: PERF_EVENTS, seed: 7, models: 8, lateFraction: 0.002 });
  const cache = ['--embedding-cache', join(dir, 'cache')];
  const workloads: Workload[] = [
    { name: 'features', topology: 'llm-features', input: heavy, extra: cache },
    {
      name: 'ingest-features',
      topology: 'llm-features',
      input: perf,
      extra: ['--checkpoint-interval', '2000', ...cache],
    },
    { name: 'ingest-perf', topology: 'llm-perf', input: perf, extra: ['--checkpoint-interval', '2000'] },
  ].filter((w) => ONLY === undefined || ONLY.includes(w.name));
  const builds = [
    { label: 'this build', root: here },
    { label: resolve(baseline), root: baseline },
  ];
  console.log(
    `bench:compare — ${RUNS} alternating runs, ${WORKERS} workers, ${cpus().length} cores, ${cpus()[0]?.model ?? ''}, node ${process.version}, load before ${load()}`,
  );
  console.log(
    `  features stream: ${fmt(h.events)} events, ${fmt(h.newPrompts)} requests with new prompts; perf stream: ${fmt(PERF_EVENTS)} performance events`,
  );
  for (const w of workloads) {
    const figures = builds.map(() => [] as number[]);
    const rss = builds.map(() => [] as number[]);
    for (let r = 0; r < RUNS; r++) {
      // ABBA order: neither build always runs first.
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const b of order) {
        const one = run(builds[b]!.root, w, dir);
        figures[b]!.push(one.eps);
        rss[b]!.push(one.rss);
      }
    }
    const [mine, theirs] = figures.map(median) as [number, number];
    const [rssMine, rssTheirs] = rss.map((xs) => Math.max(...xs)) as [number, number];
    console.log(
      `  ${w.name.padEnd(16)} (${w.topology}) this ${fmt(mine).padStart(7)} events/s, baseline ${fmt(theirs).padStart(7)} events/s, ratio ${(mine / theirs).toFixed(3)}×   runs: this ${figures[0]!.map(fmt).join(' ')}; baseline ${figures[1]!.map(fmt).join(' ')}`,
    );
    console.log(
      `  ${''.padEnd(16)} peak RSS (largest of the runs): this ${fmt(rssMine)} MB, baseline ${fmt(rssTheirs)} MB`,
    );
  }
  console.log(`  baseline: ${builds[1]!.label}; load after ${load()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
