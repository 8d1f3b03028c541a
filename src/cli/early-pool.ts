/**
 * The worker pool of a plain file `run`, started before the command line loads (issue 30:
 * time to first event). A worker thread needs longer to start and load its modules than the main
 * thread needs to reach the job, so the sooner the pool starts the sooner the first event is
 * decoded: bin/featurestream.js starts it right away, and the command takes it over
 * (`createShardPool` with the same sizes). Only when the sizes can be read off the arguments
 * alone — no `--config` or `FEATURESTREAM_CONFIG`, no `FEATURESTREAM_RUN_*` variable, no Kafka,
 * no help; anything else starts the pool where it did before (the `preAction` hook, once the
 * options are known). A pool the command does not take is stopped at exit (index.ts).
 *
 * @example
 * await startEarlyPool(process.argv.slice(2), process.env); // true: `run --input e.ndjson --out r.ndjson`
 */
import { earlyPoolSizes } from './run-defaults.js';

/**
 * Starts the pool of a plain file run (see above); false when the command line is not one (the
 * pool's modules are then not loaded: `run --help` stays as quick as before).
 */
export async function startEarlyPool(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<boolean> {
  const sizes = earlyPoolSizes(args, env);
  if (sizes === null) return false;
  const [{ prewarmShardPool, setWorkerPreload }, { domainWorkerModules }] = await Promise.all([
    import('../runtime/shard-pool.js'),
    import('./domain-workers.js'),
  ]);
  setWorkerPreload(domainWorkerModules());
  prewarmShardPool(sizes.workers, sizes.shards);
  return true;
}
