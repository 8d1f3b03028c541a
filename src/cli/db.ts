/** `featurestream db migrate|retention`: offline store administration. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { offlineOption, schemaOption, withStore } from './common.js';

const nonNegativeNumber = (flag: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0) || !Number.isFinite(n))
    throw new InvalidArgumentError(`${flag} must be a number ≥ 0, got "${v}"`);
  return n;
};

/**
 * Adds `db migrate` (apply pending migrations, printing the versions applied) and `db retention`
 * (drop month partitions older than `--days`, printing each) to the command line. `--offline`
 * defaults to `embedded` (the embedded default's store, `.featurestream/default/offline`).
 *
 * @example
 * registerDbCommands(program); // featurestream db migrate --offline embedded
 */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('Offline store administration');
  db.command('migrate')
    .description('Create or upgrade the offline store tables (idempotent)')
    .addOption(offlineOption())
    .addOption(schemaOption())
    .action(async (o: { offline: string; schema?: string }) => {
      await withStore(o, async (store) => {
        const applied = await store.migrate();
        process.stdout.write(
          applied.length === 0
            ? `offline store ${store.client.description} (schema ${store.schema}): up to date\n`
            : `offline store ${store.client.description} (schema ${store.schema}): applied migrations ${applied.join(', ')}\n`,
        );
      });
    });
  db.command('retention')
    .description('Drop the month partitions of feature_values older than the retention (never single rows)')
    .addOption(offlineOption())
    .addOption(schemaOption())
    .addOption(
      new Option('--days <n>', 'retention in days').argParser(nonNegativeNumber('--days')).default(90),
    )
    .action(async (o: { offline: string; schema?: string; days: number }) => {
      await withStore(o, async (store) => {
        const dropped = await store.dropPartitionsOlderThan(o.days);
        if (dropped.length === 0) process.stdout.write(`no partition older than ${o.days} days\n`);
        for (const name of dropped) process.stdout.write(`dropped ${name}\n`);
      });
    });
}
