/**
 * A standalone entry for the Kafka runner: `node dist/src/runtime/kafka/cli-entry.js run --kafka …`
 * takes the same flags as `featurestream run --kafka …` (see `command.ts`). The tests and the
 * benchmark start it until `src/cli.ts` dispatches `run --kafka` itself. Exit codes as the CLI:
 * 0 done (also after SIGTERM), 2 bad arguments or configuration, 1 failure.
 */
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { FeaturestreamError } from '../../errors.js';
import { registerKafkaRun } from './command.js';

const program = new Command().name('featurestream').exitOverride().showHelpAfterError();
registerKafkaRun(program, (level) => pino({ level }, pino.destination(2)));

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
// kafkajs and store clients may keep sockets and timers alive; the job is over.
setTimeout(() => process.exit(), 200).unref();
