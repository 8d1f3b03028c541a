/**
 * The store commands on their own (`db migrate`, `db retention`, `export`, `training-set`), for
 * running them without the main CLI: `node dist/src/cli/stores-main.js db migrate --offline embedded`.
 * Exit codes as the main CLI: 0 done; 2 bad arguments or configuration; 1 any other failure.
 *
 * @example
 * // node dist/src/cli/stores-main.js export --offline postgres://postgres@127.0.0.1/test --group perf_5min --format csv
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { FeaturestreamError } from '../shared/errors.js';
import { installConfigLayers } from './config.js';
import { registerDbCommands } from './db.js';
import { registerExportCommand } from './export.js';
import { registerTrainingSetCommand } from './training-set.js';

/**
 * Runs the store commands on `argv` (as `process.argv`); resolves to the exit code.
 *
 * @example
 * process.exitCode = await runStoreCli(process.argv);
 */
export async function runStoreCli(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('featurestream')
    .description('featurestream store commands')
    .showHelpAfterError()
    .exitOverride();
  installConfigLayers(program);
  registerDbCommands(program);
  registerExportCommand(program);
  registerTrainingSetCommand(program);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof FeaturestreamError) {
      process.stderr.write(`featurestream: ${err.message}\n`);
      return err.domain === 'config' ? 2 : 1;
    }
    process.stderr.write(
      `featurestream: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runStoreCli(process.argv);
}
