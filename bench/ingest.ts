/**
 * `npm run bench:ingest` — events/s of `featurestream run --topology llm-features` and
 * `--topology llm-perf` over a file of performance events, beside a streaming floor measured in
 * the same run on the same file: a process that reads the file line by line (readline),
 * JSON-parses each line and updates a per-key count. The floor is a whole process too (start-up
 * included), as is the figure a user sees; each run also reports its in-process rate.
 *
 *   EVENTS=250000 RUNS=3 WORKERS=2 npm run bench:ingest
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { runArgs, timedRun } from './run-cli.js';

const EVENTS = Number(process.env.EVENTS ?? 250_000);
const RUNS = Number(process.env.RUNS ?? 3);
const WORKERS = process.env.WORKERS ?? '2';
const root = new URL('../../', import.meta.url).pathname;

/** The floor's own process: readline + JSON.parse + per-key count; prints the events it read. */
async function floorChild(file: string): Promise<void> {
  const counts = new Map<string, number>();
  let n = 0;
  const t0 = performance.now();
  for await (const line of createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    if (line.length === 0) continue;
    const e = JSON.parse(line) as { model?: string };
    const k = e.model ?? '';
    counts.set(k, (counts.get(k) ?? 0) + 1);
    n++;
  }
  if (counts.size === 0) throw new Error('floor read nothing');
  process.stdout.write(JSON.stringify({ events: n, inProcess: n / ((performance.now() - t0) / 1000) }));
}

/** The streaming floor, whole process and in-process events/s. */
function floor(file: string): { wall: number; eps: number } {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--floor', file], {
    encoding: 'utf8',
  });
  const wall = (performance.now() - t0) / 1000;
  const r = JSON.parse(out) as { events: number; inProcess: number };
  return { wall: r.events / wall, eps: r.inProcess };
}

function featurestream(
  file: string,
  dir: string,
  topology: string,
): { eps: number; wall: number; rows: number; rss: number } {
  const {
    summary: s,
    wallSeconds,
    peakRssMb,
  } = timedRun(root, [...runArgs(topology, file, dir, WORKERS), '--checkpoint-interval', '2000']);
  return { eps: s.eventsPerSecond, wall: s.eventsRead / wallSeconds, rows: s.rowsWritten, rss: peakRssMb };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-'));
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  try {
    const file = join(dir, 'perf.ndjson');
    if (!existsSync(file))
      await writePerfEvents(file, { events: EVENTS, seed: 7, models: 8, lateFraction: 0.002 });
    const before = load();
    const floors: Array<{ wall: number; eps: number }> = [];
    const runs = new Map<string, Array<{ eps: number; wall: number; rows: number; rss: number }>>([
      ['llm-features', []],
      ['llm-perf', []],
    ]);
    for (let i = 0; i < RUNS; i++) {
      floors.push(floor(file));
      for (const [t, rs] of runs) rs.push(featurestream(file, dir, t));
    }
    const fw = median(floors.map((r) => r.wall));
    const fi = median(floors.map((r) => r.eps));
    console.log(
      `bench:ingest — ${fmt(EVENTS)} performance_metrics events, ${RUNS} runs (median), ${cpus().length} cores, ${cpus()[0]?.model ?? ''}, node ${process.version}, load before ${before}`,
    );
    console.log('                                                  whole process         in-process');
    console.log(
      `  floor: readline + JSON.parse + per-key count    ${fmt(fw).padStart(9)} events/s 1.00×  ${fmt(fi).padStart(9)} events/s 1.00×`,
    );
    for (const [t, rs] of runs) {
      const w = median(rs.map((r) => r.wall));
      const o = median(rs.map((r) => r.eps));
      console.log(
        `  run --topology ${t.padEnd(12)} ${WORKERS} workers     ${fmt(w).padStart(9)} events/s ${(w / fw).toFixed(2)}×  ${fmt(o).padStart(9)} events/s ${(o / fi).toFixed(2)}×   (${fmt(rs[0]!.rows)} rows; peak RSS ${fmt(Math.max(...rs.map((r) => r.rss)))} MB)`,
      );
    }
    console.log(`load after ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--floor') await floorChild(process.argv[3]!);
else await main();
