/** `featurestream diff`: compare two feature versions of a group in the offline store. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { instant, readSnapshotIfInUse, storeWaitingLine } from './common.js';

const versionPair = (v: string): [number, number] => {
  const parts = v.split(',').map((x) => Number(x.trim()));
  if (parts.length !== 2 || !parts.every((n) => Number.isSafeInteger(n) && n > 0))
    throw new InvalidArgumentError(`--versions must be two positive integers A,B, got "${v}"`);
  return [parts[0]!, parts[1]!];
};

/**
 * Adds `diff --offline URL --group G --versions A,B --from T1 --to T2` to the command line: per
 * feature, count, rows changed, share changed, mean absolute change.
 *
 * @example
 * registerDiffCommand(program);
 */
export function registerDiffCommand(program: Command): void {
  program
    .command('diff')
    .description(
      'Compare two feature versions of a group in the offline store over an event-time range: per\n' +
        'feature, the rows in each version, how many changed, the share changed and the mean absolute change.',
    )
    .option(
      '--offline <url>',
      'offline store: postgres://USER@HOST:PORT/DB[?schema=S] or embedded[:DIR]',
      'embedded',
    )
    .requiredOption('--group <group>', 'feature group, e.g. perf_5min')
    .addOption(
      new Option('--versions <a,b>', 'the two versions, e.g. 1,2')
        .argParser(versionPair)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--from <time>', 'event_time ≥ this (RFC 3339, date or ms)')
        .argParser(instant('--from'))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--to <time>', 'event_time < this (RFC 3339, date or ms)')
        .argParser(instant('--to'))
        .makeOptionMandatory(),
    )
    .option('--json', 'print the summary as JSON', false)
    .action(async (o) => {
      if (o.to <= o.from) throw new ConfigError('--to must be after --from', { field: '--to' });
      const { OfflineStore } = await import('../stores/offline-postgres.js');
      const { diffVersions, formatDiff } = await import('../replay/diff.js');
      const store = await OfflineStore.open(o.offline as string, {
        flag: '--offline',
        retryDeadlineMs: 30_000,
        refusedIsFinal: true,
        onWaiting: storeWaitingLine,
        snapshotIfInUse: readSnapshotIfInUse,
      });
      try {
        const [a, b] = o.versions as [number, number];
        const d = await diffVersions(store, o.group as string, a, b, o.from as number, o.to as number);
        process.stdout.write(o.json ? `${JSON.stringify(d)}\n` : formatDiff(d));
      } finally {
        await store.close();
      }
    });
}
