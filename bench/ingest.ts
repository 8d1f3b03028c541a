/**
 * `npm run bench:ingest` — events/s of `featurestream run --topology llm-perf` over a file of
 * performance events, beside a floor measured in the same run on the same file: one loop that
 * reads the file, JSON-parses each line and updates a per-key count. Prints the ratio.
 *
 *   EVENTS=250000 RUNS=3 WORKERS=2 npm run bench:ingest
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePerfEvents } from '../src/generate/perf-stream.js';

const EVENTS = Number(process.env.EVENTS ?? 250_000);
const RUNS = Number(process.env.RUNS ?? 3);
const WORKERS = process.env.WORKERS ?? '2';
const root = new URL('../../', import.meta.url).pathname;

function floor(file: string): number {
  const t0 = performance.now();
  const text = readFileSync(file, 'utf8');
  const counts = new Map<string, number>();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const e = JSON.parse(line) as { model?: string };
    const k = e.model ?? '';
    counts.set(k, (counts.get(k) ?? 0) + 1);
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  if (counts.size === 0) throw new Error('floor read nothing');
  return n / s;
}

function featurestream(file: string, dir: string): { eps: number; wall: number; rows: number } {
  const t0 = performance.now();
  const out = execFileSync(
    process.execPath,
    [
      join(root, 'bin/featurestream.js'),
      'run',
      '--topology',
      'llm-perf',
      '--input',
      file,
      '--out',
      join(dir, 'rows.ndjson'),
      '--state-dir',
      join(dir, 'state'),
      '--fresh',
      '--workers',
      WORKERS,
      '--checkpoint-interval',
      '2000',
      '--summary-json',
    ],
    { encoding: 'utf8' },
  );
  const wall = (performance.now() - t0) / 1000;
  const s = JSON.parse(out.trim().split('\n').at(-1)!) as {
    eventsPerSecond: number;
    rowsWritten: number;
    eventsRead: number;
  };
  return { eps: s.eventsPerSecond, wall: s.eventsRead / wall, rows: s.rowsWritten };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const dir = mkdtempSync(join(tmpdir(), 'fs-bench-'));
try {
  const file = join(dir, 'perf.ndjson');
  if (!existsSync(file))
    await writePerfEvents(file, { events: EVENTS, seed: 7, models: 8, lateFraction: 0.002 });
  const floors: number[] = [];
  const ours: Array<{ eps: number; wall: number; rows: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    floors.push(floor(file));
    ours.push(featurestream(file, dir));
  }
  const f = median(floors);
  const o = median(ours.map((r) => r.eps));
  const w = median(ours.map((r) => r.wall));
  console.log(
    `bench:ingest — ${fmt(EVENTS)} performance_metrics events, ${RUNS} runs (median), ${cpus().length} cores, ${cpus()[0]?.model ?? ''}, node ${process.version}`,
  );
  console.log(`  floor (read + JSON.parse + per-key count)     ${fmt(f)} events/s`);
  console.log(
    `  featurestream run, ${WORKERS} workers (in-process)  ${fmt(o)} events/s   ratio ${(o / f).toFixed(2)}×`,
  );
  console.log(
    `  featurestream run, incl. process start-up     ${fmt(w)} events/s   ratio ${(w / f).toFixed(2)}×`,
  );
  console.log(`  rows written per run                          ${fmt(ours[0]!.rows)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
