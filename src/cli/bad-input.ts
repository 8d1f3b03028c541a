import { type Command, InvalidArgumentError, Option } from 'commander';
import { FILE_DEAD_LETTER_POLICY, type DeadLetterPolicy } from '../runtime/dead-letter-policy.js';
import { positiveInt } from '../shared/flags.js';

/** The flags of the bad-input policy as commander parses them. */
export interface DeadLetterFlags {
  readonly maxDeadLetterShare?: number;
  readonly deadLetterWindow?: number;
}

/** A share in [0, 1] (commander argument parser naming the flag). */
const share =
  (flag: string) =>
  (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !(x >= 0 && x <= 1))
      throw new InvalidArgumentError(`${flag} must be a number in [0, 1], got "${v}"`);
    return x;
  };

/**
 * Adds `--max-dead-letter-share` and `--dead-letter-window` to `run` (src/runtime/dead-letter-policy.ts).
 * File runs stop by default over 0.5 of the first 1,000 lines or of the whole input; Kafka
 * members only when the flag is given.
 *
 * @example
 * registerDeadLetterOptions(runCommand);
 */
export function registerDeadLetterOptions(cmd: Command): void {
  cmd
    .addOption(
      new Option(
        '--max-dead-letter-share <x>',
        'stop (exit 1, after committing what was read) when dead letters are more than this share: ' +
          'file runs over the first --dead-letter-window lines and over the whole input (default 0.5); ' +
          'Kafka members over each window of records (default: never, log and go on); 1 never stops',
      ).argParser(share('--max-dead-letter-share')),
    )
    .addOption(
      new Option(
        '--dead-letter-window <n>',
        'records the share is checked over (file runs: the first lines; Kafka: each window of this member’s records); default 1000',
      ).argParser(positiveInt('--dead-letter-window')),
    );
}

/** The policy of a file run: the flags, else stop over half of the first 1,000 lines or of the input. */
export function fileDeadLetterPolicy(o: DeadLetterFlags): DeadLetterPolicy {
  return {
    maxShare: o.maxDeadLetterShare ?? FILE_DEAD_LETTER_POLICY.maxShare,
    window: o.deadLetterWindow ?? FILE_DEAD_LETTER_POLICY.window,
  };
}

/** The policy of a Kafka member: null (log, count and go on) unless `--max-dead-letter-share` is given. */
export function kafkaDeadLetterPolicy(o: DeadLetterFlags): DeadLetterPolicy | null {
  if (o.maxDeadLetterShare === undefined) return null;
  return { maxShare: o.maxDeadLetterShare, window: o.deadLetterWindow ?? FILE_DEAD_LETTER_POLICY.window };
}
