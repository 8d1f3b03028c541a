import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { FeaturestreamError } from '../shared/errors.js';
import { parseDateOrTimestamp } from '../shared/timestamp.js';
import { positiveInt } from '../shared/flags.js';
import { pluginOption } from './common.js';
import type { Period } from '../drift/report.js';

const OFFLINE_HELP = 'offline store: postgres://USER@HOST:PORT/DB[?schema=S], embedded or embedded:DIR';

/** `--fail-on-drift` found drift: the report is written, the process exits 1. */
export class DriftDetectedError extends FeaturestreamError {
  constructor(message: string) {
    super('user-input', message);
  }
}

function instant(flag: string, v: string): number {
  const t = /^-?\d+$/.test(v) ? Number(v) : parseDateOrTimestamp(v);
  if (t === null || !Number.isSafeInteger(t))
    throw new InvalidArgumentError(
      `${flag}: "${v}" is not RFC 3339, a date (YYYY-MM-DD) or ms since the epoch`,
    );
  return t;
}

/** A `FROM/TO` period flag parser: [FROM, TO), each RFC 3339, a date or ms since the epoch. */
export const periodFlag =
  (flag: string) =>
  (v: string): Period => {
    const parts = v.split('/');
    if (parts.length !== 2)
      throw new InvalidArgumentError(`${flag} must be FROM/TO (e.g. 2026-01-01/2026-01-08), got "${v}"`);
    const from = instant(flag, parts[0]!.trim());
    const to = instant(flag, parts[1]!.trim());
    if (to <= from) throw new InvalidArgumentError(`${flag}: TO must be after FROM, got "${v}"`);
    return { from, to };
  };

interface DriftFlags {
  offline: string;
  schema?: string;
  group: string;
  topology: string;
  plugin?: string[];
  entity?: string;
  features?: string;
  version?: number;
  reference: Period;
  current: Period;
  format: 'json' | 'html' | 'text';
  out?: string;
  pool: boolean;
  minSamples?: number;
  failOnDrift: boolean;
}

/**
 * Adds `featurestream drift` to a commander program: compares two periods of a group in the
 * offline store per (entity, feature) and writes a JSON, HTML or text report (drifted first).
 * Exit code 0, or 1 with `--fail-on-drift` when any feature has status `drift`.
 *
 * @example
 * featurestream drift --offline postgres://postgres@127.0.0.1/test --group perf_5min \
 *   --reference 2026-01-01/2026-01-08 --current 2026-01-08/2026-01-15 --format html --out drift.html
 */
export function registerDriftCommand(program: Command): void {
  program
    .command('drift')
    .description(
      'Compare two periods of a feature group in the offline store, per entity and feature: KS ' +
        'statistic and p-value, Wasserstein distance / reference sd, PSI over 10 reference-quantile ' +
        'bins, mean shift as z, χ² and Jensen–Shannon for categorical values; status no_drift / ' +
        'possible_drift / drift with severity. Report as JSON, self-contained HTML or text, drifted first.',
    )
    .addOption(new Option('--offline <url>', OFFLINE_HELP).default('embedded'))
    .addOption(new Option('--schema <name>', 'schema of the tables (overrides ?schema= in the URL)'))
    .requiredOption('--group <group>', 'feature group, e.g. perf_5min')
    .option(
      '--topology <name|file>',
      'the topology that wrote the group (its features: ids, names, categorical values)',
      'llm-features',
    )
    .addOption(pluginOption())
    .option('--entity <id>', 'only this entity id')
    .option('--features <list>', 'comma-separated value names, feature names or ids (default: all)')
    .addOption(
      new Option('--version <n>', 'group version (default: the highest in the periods)').argParser(
        positiveInt('--version'),
      ),
    )
    .addOption(
      new Option('--reference <from/to>', 'reference period [FROM, TO): RFC 3339, date or ms')
        .argParser(periodFlag('--reference'))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--current <from/to>', 'current period [FROM, TO): RFC 3339, date or ms')
        .argParser(periodFlag('--current'))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--format <format>', 'report format').choices(['json', 'html', 'text']).default('json'),
    )
    .option('--out <file>', 'report file (default stdout)')
    .option('--pool', 'compare all entities of the group together (entity_id "*")', false)
    .addOption(
      new Option('--min-samples <n>', 'fewer values on a side: insufficient_data (default 20)').argParser(
        positiveInt('--min-samples'),
      ),
    )
    .option('--fail-on-drift', 'exit 1 when any feature has status drift', false)
    .addHelpText(
      'after',
      '\nExample:\n' +
        '  featurestream drift --offline postgres://postgres@127.0.0.1:5432/test --group perf_5min \\\n' +
        '      --reference 2026-01-01/2026-01-08 --current 2026-01-08/2026-01-15 --format html --out drift.html',
    )
    .action(async (o: DriftFlags) => {
      const [{ withStore, topologyOf, featureSetOf }, { buildDriftReport }, { renderDriftReport }] =
        await Promise.all([
          import('./common.js'),
          import('../drift/report.js'),
          import('../drift/render.js'),
        ]);
      const set = await featureSetOf(await topologyOf(o));
      const features = o.features
        ?.split(',')
        .map((f) => f.trim())
        .filter((f) => f !== '');
      const result = await withStore(
        o,
        (store) =>
          buildDriftReport(store, {
            featureSet: set,
            group: o.group,
            reference: o.reference,
            current: o.current,
            pooled: o.pool,
            ...(o.entity === undefined ? {} : { entity: o.entity }),
            ...(features === undefined ? {} : { features }),
            ...(o.version === undefined ? {} : { version: o.version }),
            ...(o.minSamples === undefined ? {} : { minSamples: o.minSamples }),
          }),
        { readOnly: true },
      );
      const text = renderDriftReport(result, o.format);
      if (o.out === undefined) process.stdout.write(text);
      else writeFileSync(o.out, text);
      const s = result.report.summary;
      process.stderr.write(
        `drift: ${result.report.features.length} (entity, feature) pairs: ${s.drift} drift, ${s.possible_drift} possible drift, ${s.no_drift} no drift, ${s.insufficient_data} insufficient data${o.out === undefined ? '' : ` → ${o.out}`}\n`,
      );
      if (o.failOnDrift && s.drift > 0) {
        const which = result.report.features
          .filter((f) => f.status === 'drift')
          .slice(0, 5)
          .map((f) => `${f.feature} of ${f.entity_id} (${f.severity})`);
        throw new DriftDetectedError(
          `--fail-on-drift: ${s.drift} feature(s) drifted: ${which.join(', ')}${s.drift > 5 ? ', …' : ''}`,
        );
      }
    });
}
