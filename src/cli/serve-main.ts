/**
 * Standalone entry point for `serve` (the main CLI also has it):
 * `node dist/src/cli/serve-main.js serve --port 8080 …`. Exit codes as the main CLI: 0 done, 2 bad
 * arguments or configuration, 1 failure.
 *
 * @example
 * // node dist/src/cli/serve-main.js serve --help
 */
import { Command, CommanderError } from 'commander';
import { FeaturestreamError } from '../shared/errors.js';
import { registerServeCommand } from './serve.js';
import { installConfigLayers } from './config.js';
import { registerDomains } from './domains.js';
import { setDefaultTopology } from '../registry/feature-set.js';

registerDomains();
setDefaultTopology('llm-features');

const program = new Command().name('featurestream').showHelpAfterError().exitOverride();
installConfigLayers(program);
registerServeCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof FeaturestreamError) {
    process.stderr.write(`featurestream: ${err.message}\n`);
    process.exitCode = err.domain === 'config' ? 2 : 1;
  } else {
    process.stderr.write(
      `featurestream: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}
