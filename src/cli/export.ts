/** `featurestream export`: a group's offline rows as NDJSON, CSV or Parquet. */
import { type Command, Option } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { positiveInt } from '../shared/flags.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../stores/output-formats.js';
import { instant, offlineOption, schemaOption, withStore } from './common.js';

/**
 * Adds `export --offline URL --group G [--version V] [--from T] [--to T]
 * [--format ndjson|csv|parquet] [--out FILE]` to the command line: a group's offline rows
 * (stdout by default; the summary goes to stderr).
 *
 * @example
 * registerExportCommand(program);
 */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description("Export a feature group's offline rows as NDJSON (the file sink's format), CSV or Parquet")
    .addOption(offlineOption())
    .addOption(schemaOption())
    .requiredOption('--group <group>', 'feature group, e.g. perf_5min')
    .addOption(
      new Option('--version <n>', 'only this version (default: all)').argParser(positiveInt('--version')),
    )
    .addOption(
      new Option('--from <time>', 'event_time ≥ this (RFC 3339, date or ms)').argParser(instant('--from')),
    )
    .addOption(
      new Option('--to <time>', 'event_time < this (RFC 3339, date or ms)').argParser(instant('--to')),
    )
    .addOption(new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('ndjson'))
    .option('--out <file>', 'output file (default stdout)')
    .action(
      async (o: {
        offline: string;
        schema?: string;
        group: string;
        version?: number;
        from?: number;
        to?: number;
        format: OutputFormat;
        out?: string;
      }) => {
        if (o.from !== undefined && o.to !== undefined && o.to <= o.from) {
          throw new ConfigError('--to must be after --from', { field: '--to' });
        }
        await withStore(
          o,
          async (store) => {
            const { exportFeatures } = await import('../stores/export.js');
            const r = await exportFeatures(store, {
              group: o.group,
              format: o.format,
              out: o.out ?? null,
              progress: true,
              ...(o.version === undefined ? {} : { version: o.version }),
              ...(o.from === undefined ? {} : { from: o.from }),
              ...(o.to === undefined ? {} : { to: o.to }),
            });
            process.stderr.write(
              `exported ${r.rows} rows of ${o.group}${o.out === undefined ? '' : ` to ${o.out}`}\n`,
            );
          },
          { readOnly: true },
        );
      },
    );
}
