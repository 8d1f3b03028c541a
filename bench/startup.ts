/**
 * `npm run bench:startup` — wall time of short CLI commands, each process started `RUNS` times
 * (median), beside `node -e 0` measured in the same run (the floor: starting Node itself).
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

const RUNS = Number(process.env.RUNS ?? 9);
const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/featurestream.js');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median wall ms of `RUNS` runs of `node args`. */
function timed(args: readonly string[]): number {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** Median of the run's own `firstEventMs` (process start → first event decoded) over `RUNS` runs. */
function firstEvent(args: readonly string[]): number {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(process.execPath, [...args, '--summary-json'], { encoding: 'utf8' });
    const s = JSON.parse(out.trim().split('\n').at(-1)!) as { firstEventMs: number | null };
    if (s.firstEventMs === null) throw new Error('the run read no event');
    ms.push(s.firstEventMs);
  }
  return median(ms);
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
    const floor = timed(['-e', '0']);
    /** `run` of a topology over the 100 events, fresh state each time. */
    const runArgs = (topology: string) => [
      bin,
      'run',
      '--topology',
      topology,
      '--input',
      input,
      '--out',
      join(dir, 'rows.ndjson'),
      '--state-dir',
      join(dir, 'state'),
      '--fresh',
    ];
    const rows: Array<[string, number]> = [
      ['node -e 0 (floor)', floor],
      ['featurestream --help', timed([bin, '--help'])],
      ['featurestream features list', timed([bin, 'features', 'list'])],
      ['featurestream topology list', timed([bin, 'topology', 'list'])],
      ['featurestream run --help', timed([bin, 'run', '--help'])],
      ['featurestream run llm-perf, 100 events (whole run)', timed(runArgs('llm-perf'))],
      ['  run llm-perf: process start → first event decoded', firstEvent(runArgs('llm-perf'))],
      ['  run llm-features: process start → first event decoded', firstEvent(runArgs('llm-features'))],
    ];
    for (const [name, ms] of rows) {
      console.log(
        `${name.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms   ${(ms / floor).toFixed(2)}× floor   +${(ms - floor).toFixed(0)} ms`,
      );
    }
    console.log(`load after: ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
