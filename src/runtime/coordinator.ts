import { JobLoop } from './job-loop.js';
import type { RunOptions, RunSummary } from './run-options.js';

export type { RunOptions, RunSummary } from './run-options.js';

/**
 * Runs a topology over a file: the job loop (`job-loop.ts`) over the file driver. See
 * {@link JobLoop} for how it reads, processes and checkpoints exactly once.
 *
 * @example
 * const summary = await runJob({ topology, input: 'events.ndjson', out: 'features.ndjson',
 *   deadLetters: null, lateEvents: null, stateDir: null, workers: 2, shards: 4,
 *   checkpointIntervalMs: 5000, logger });
 */
export function runJob(opts: RunOptions): Promise<RunSummary> {
  return new JobLoop(opts).run();
}
