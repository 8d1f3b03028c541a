/**
 * The `featurestream` command line: builds the program and registers the commands, one file per
 * command (or family) in src/cli/. Exit codes: 0 done; 2 bad arguments or configuration (the
 * message names the flag or field); 1 any other failure; 3 in use.
 */
import { Command } from 'commander';
import { loadTopologies, topologyByName } from './common.js';
import { registerDbCommands } from './db.js';
import { installConfigLayers } from './config.js';
import { registerExportCommand } from './export.js';
import { registerFeaturesCommands } from './features.js';
import { registerGenerateCommand } from './generate.js';
import { registerInitCommand } from './init.js';
import { debugWanted, installProcessGuards, markLoaded, reportError, withoutDebug } from './guard.js';
import { registerRunCommand } from './run.js';
import { earlyPoolSizes } from './run-defaults.js';
import { registerServeCommand } from './serve.js';
import { registerTopologyCommands } from './topology.js';
import { registerTrainingSetCommand } from './training-set.js';
import { registerWorkflowCommand } from './workflow.js';

const program = new Command();
// Configuration in layers (issue 32): flags, environment, --config file, defaults; the connection
// flags on every command that connects; `config show`. Its hooks run before the ones below.
installConfigLayers(program);
/** The pool module, once `run` has prewarmed a pool (stopped in main() if runJob never took it). */
let prewarmedPools: typeof import('../runtime/shard-pool.js') | undefined;
// Commands registered by other modules take a synchronous topologyByName: load the topology
// modules before any action runs (never for --help).
program.hook('preAction', async (_program, action) => {
  // The shipped domains: their schemas, functions, catalogs and topologies, here and in workers
  // (before a pool is prewarmed). Not for `--help`, which runs no action.
  (await import('./domains.js')).registerDomains();
  (await import('../registry/feature-set.js')).setDefaultTopology('llm-features');
  if (action.name() === 'run' && action.opts().kafka === undefined) {
    // The pool's workers load their modules (~0.3 s each) while this thread loads and opens
    // everything else; runJob takes the pool over (issue 10: time to first event).
    prewarmedPools = await import('../runtime/shard-pool.js');
    prewarmedPools.prewarmShardPool(action.opts().workers as number, action.opts().shards as number);
  }
  await loadTopologies();
});

program
  .name('featurestream')
  .description(
    'Turns event streams of LLM applications into ML features: a declarative topology of keyed ' +
      'event-time windows, processors and joins run on a worker pool, checkpointed in LevelDB, ' +
      'written exactly once to files, an online store (Redis) and an offline store (PostgreSQL), ' +
      'and served over HTTP.\n\n' +
      'Start with: featurestream run    (no arguments: a generated sample stream through all 65 features)\n\n' +
      'Exit codes: 0 done, 1 failure, 2 bad arguments, 3 state dir/store/port in use by another\n' +
      'process, 130/143 interrupted (SIGINT/SIGTERM). --debug (anywhere) adds stack traces to errors.',
  )
  .exitOverride();

await registerRunCommand(program);
registerTopologyCommands(program);
registerGenerateCommand(program);
registerInitCommand(program);
registerFeaturesCommands(program);
registerServeCommand(program);
registerWorkflowCommand(program);
registerDbCommands(program);
registerExportCommand(program);
registerTrainingSetCommand(program);
// Drift reports and quality scores (issue 12).
(await import('./drift.js')).registerDriftCommand(program);
(await import('./quality.js')).registerQualityCommand(program);
// Replay into a new feature version, version diffs, and the topology page (issue 13).
(await import('./replay.js')).registerReplayCommand(program, topologyByName);
(await import('./diff.js')).registerDiffCommand(program);
(await import('./ui.js')).registerUiCommand(program, topologyByName);

/**
 * After a usage error (an unknown flag, a missing value), one line pointing at the command's
 * help rather than the whole help: commander prints the error and its suggestion ("Did you mean
 * …?") first.
 */
function helpHintAfterError(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`(${path} --help lists the options)`);
  for (const sub of cmd.commands) helpHintAfterError(sub, `${path} ${sub.name()}`);
}
helpHintAfterError(program, 'featurestream');

async function main(): Promise<void> {
  // Our handlers, not a library's (see src/guard.ts): errors end here, as one line.
  installProcessGuards();
  markLoaded();
  const debug = debugWanted();
  try {
    await program.parseAsync(withoutDebug(process.argv));
  } catch (err) {
    installProcessGuards();
    // Help and version exit 0; usage errors exit 2 (commander already printed them).
    process.exitCode = reportError(err, debug);
  } finally {
    // A pool `run` prewarmed (preAction hook) but never reached runJob with: a failed start, or a
    // state dir that holds a finished job. A no-op when nothing was prewarmed or runJob took it.
    // Also the pool bin/featurestream.js started before the command line loaded (early-pool.ts)
    // when the command failed before its preAction hook (a usage error).
    if (prewarmedPools === undefined && earlyPoolSizes(process.argv.slice(2), process.env) !== null) {
      prewarmedPools = await import('../runtime/shard-pool.js');
    }
    await prewarmedPools?.discardPrewarmedPool();
  }
}

await main();
