/**
 * One whole-process `featurestream run` of a build, as the benches time it: start-up and exit
 * included, the run's `--summary-json` line parsed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

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
 * Runs `node ROOT/bin/featurestream.js run ARGS --summary-json` and returns its summary and the
 * wall seconds of the whole process.
 */
export function timedRun(
  root: string,
  args: readonly string[],
  cwd?: string,
): { summary: BenchSummary; wallSeconds: number } {
  const t0 = performance.now();
  const out = execFileSync(
    process.execPath,
    [join(root, 'bin/featurestream.js'), 'run', ...args, '--summary-json'],
    { encoding: 'utf8', ...(cwd === undefined ? {} : { cwd }) },
  );
  const wallSeconds = (performance.now() - t0) / 1000;
  return { summary: JSON.parse(out.trim().split('\n').at(-1)!) as BenchSummary, wallSeconds };
}
