/**
 * One whole-process `featurestream run` of a build, as the benches time it: start-up and exit
 * included, the run's `--summary-json` line parsed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The preload that reports a process's peak RSS (`peak-rss.ts`). */
const PEAK_RSS = fileURLToPath(new URL('./peak-rss.js', import.meta.url));

/** The run summary fields the benches read (`--summary-json`, the last line of stdout). */
export interface BenchSummary {
  readonly eventsRead: number;
  readonly eventsPerSecond: number;
  readonly rowsWritten: number;
  readonly seconds: number;
  /** Per provider since 0.2 (`prompt-embedding`); 0.1.0 wrote `embeddings`. */
  readonly provided?: Record<string, { keys: number; cacheHits: number }>;
  readonly embeddings?: { prompts: number; cacheHits: number };
}

/**
 * The arguments every CLI bench passes: the topology over the input, rows and state in `dir`,
 * a fresh state, `workers` workers when given (then the bench's own, e.g. `--checkpoint-interval`).
 */
export function runArgs(topology: string, input: string, dir: string, workers?: string): string[] {
  return [
    '--topology',
    topology,
    '--input',
    input,
    '--out',
    join(dir, 'rows.ndjson'),
    '--state-dir',
    join(dir, 'state'),
    '--fresh',
    ...(workers === undefined ? [] : ['--workers', workers]),
  ];
}

/**
 * Runs `node ROOT/bin/featurestream.js run ARGS --summary-json` and returns its summary, the
 * wall seconds of the whole process and its peak RSS in MB (main thread and workers).
 */
export function timedRun(
  root: string,
  args: readonly string[],
  cwd?: string,
): { summary: BenchSummary; wallSeconds: number; peakRssMb: number } {
  const rssDir = mkdtempSync(join(tmpdir(), 'fs-bench-rss-'));
  const rssFile = join(rssDir, 'maxrss');
  try {
    const t0 = performance.now();
    const out = execFileSync(
      process.execPath,
      ['--import', PEAK_RSS, join(root, 'bin/featurestream.js'), 'run', ...args, '--summary-json'],
      {
        encoding: 'utf8',
        env: { ...process.env, FEATURESTREAM_BENCH_RSS_FILE: rssFile },
        ...(cwd === undefined ? {} : { cwd }),
      },
    );
    const wallSeconds = (performance.now() - t0) / 1000;
    const peakRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
    return { summary: JSON.parse(out.trim().split('\n').at(-1)!) as BenchSummary, wallSeconds, peakRssMb };
  } finally {
    rmSync(rssDir, { recursive: true, force: true });
  }
}
