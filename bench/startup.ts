/**
 * `npm run bench:startup` — wall time of short CLI commands, each process started `RUNS` times
 * (median), each start right after a `node -e 0` start (the floor: starting Node itself), and
 * the ratio of the two (the median of the rounds' ratios).
 * Commands: `--help`, `features list`, `topology list`, `run --help`, and a whole `run` of
 * `llm-perf` over 100 events (start-up, pool, the events, checkpoint and exit), and time to first
 * event of `run` (`llm-perf` and `llm-features`): the run's own `firstEventMs`, from the start of
 * the process to the first decoded event back at the coordinator.
 *
 *   RUNS=9 npm run bench:startup
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { runArgs } from './run-cli.js';

const RUNS = Number(process.env.RUNS ?? 9);
const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/featurestream.js');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall ms of one run of `node args`. */
function wall(args: readonly string[]): number {
  const t0 = performance.now();
  execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return performance.now() - t0;
}

/** The run's own `firstEventMs` (process start → first event decoded). */
function firstEventOf(args: readonly string[]): number {
  const out = execFileSync(process.execPath, [...args, '--summary-json'], { encoding: 'utf8' });
  const s = JSON.parse(out.trim().split('\n').at(-1)!) as { firstEventMs: number | null };
  if (s.firstEventMs === null) throw new Error('the run read no event');
  return s.firstEventMs;
}

/**
 * `RUNS` rounds of `measure`, each right after a `node -e 0` start (so that load from other
 * processes falls on both alike): the median ms, and the median of the per-round ratios to the
 * floor.
 */
function alternating(measure: () => number): { ms: number; floor: number; ratio: number } {
  const ms: number[] = [];
  const floors: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const f = wall(['-e', '0']);
    const m = measure();
    floors.push(f);
    ms.push(m);
    ratios.push(m / f);
  }
  return { ms: median(ms), floor: median(floors), ratio: median(ratios) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-startup-'));
  try {
    const input = join(dir, 'events.ndjson');
    await writePerfEvents(input, { events: 100, seed: 1, models: 2 });
    const load = () =>
      loadavg()
        .map((l) => l.toFixed(2))
        .join(' ');
    console.log(
      `bench:startup — median of ${RUNS} process starts; ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load before: ${load()}`,
    );
    /** `run` of a topology over the 100 events, fresh state each time. */
    const runOf = (topology: string) => [bin, 'run', ...runArgs(topology, input, dir)];
    const rows: Array<[string, () => number]> = [
      ['featurestream --help', () => wall([bin, '--help'])],
      ['featurestream features list', () => wall([bin, 'features', 'list'])],
      ['featurestream topology list', () => wall([bin, 'topology', 'list'])],
      ['featurestream run --help', () => wall([bin, 'run', '--help'])],
      ['featurestream run llm-perf, 100 events (whole run)', () => wall(runOf('llm-perf'))],
      ['  run llm-perf: process start → first event decoded', () => firstEventOf(runOf('llm-perf'))],
      ['  run llm-features: process start → first event decoded', () => firstEventOf(runOf('llm-features'))],
    ];
    console.log(
      `${'command'.padEnd(56)} ${'median'.padStart(7)}   ${'node -e 0'.padStart(9)}   ratio (median of the rounds' ratios)`,
    );
    for (const [name, measure] of rows) {
      const r = alternating(measure);
      console.log(
        `${name.padEnd(56)} ${r.ms.toFixed(0).padStart(4)} ms   ${r.floor.toFixed(0).padStart(6)} ms   ${r.ratio.toFixed(2)}× node -e 0`,
      );
    }
    console.log(`load after: ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
