import { FileJob } from './file-job.js';
import type { RunOptions, RunSummary } from './run-options.js';

export type { RunOptions, RunSummary } from './run-options.js';

/**
 * Runs a topology over a file: the job loop (`loop.ts`) over the file driver (`file-job.ts`). See
 * {@link FileJob} for how it reads, processes and checkpoints exactly once.
 *
 * @example
 * const summary = await runJob({ topology, input: 'events.ndjson', out: 'features.ndjson',
 *   deadLetters: null, lateEvents: null, stateDir: null, workers: 2, shards: 4,
 *   checkpointIntervalMs: 5000, logger });
 */
export function runJob(opts: RunOptions): Promise<RunSummary> {
  return new FileJob(opts).run();
}
