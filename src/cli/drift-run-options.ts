import { type Command, Option } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { positiveInt } from '../shared/flags.js';
import { parseDuration } from './quality.js';
import { periodFlag } from './drift.js';
import type { DriftMonitor } from '../drift/monitor.js';

/** The `run` flags of continuous drift, as commander parses them. */
export interface DriftRunFlags {
  drift?: string;
  driftCurrent: number;
  driftReference: string;
  driftEvery?: number;
  driftDelay: number;
  driftMinSamples?: number;
  driftAlerts?: string;
}

const duration = (flag: string) => (v: string) => parseDuration(flag, v);

/**
 * Adds the continuous-drift flags to `run`: `--drift GROUPS` turns it on for those groups;
 * `--drift-current`, `--drift-reference` (a trailing duration, or a fixed FROM/TO period),
 * `--drift-every`, `--drift-delay`, `--drift-min-samples`, `--drift-alerts FILE`.
 *
 * @example
 * registerDriftRunOptions(program.command('run'));
 */
export function registerDriftRunOptions(run: Command): void {
  run
    .option('--drift <groups>', 'continuous drift of these groups (comma-separated): rows of group "drift"')
    .addOption(
      new Option('--drift-current <duration>', 'drift: sliding current window (event time)')
        .argParser(duration('--drift-current'))
        .default(3_600_000, '1h'),
    )
    .option(
      '--drift-reference <duration|from/to>',
      'drift: the trailing period before the current window, or a fixed FROM/TO period',
      '24h',
    )
    .addOption(
      new Option('--drift-every <duration>', 'drift: evaluate every (default: the current window)').argParser(
        duration('--drift-every'),
      ),
    )
    .addOption(
      new Option(
        '--drift-delay <duration>',
        'drift: evaluate a boundary once the clock is this far past it (rows final)',
      )
        .argParser(duration('--drift-delay'))
        .default(1_800_000, '30m'),
    )
    .addOption(
      new Option(
        '--drift-min-samples <n>',
        'drift: fewer values on a side → insufficient data (default 20)',
      ).argParser(positiveInt('--drift-min-samples')),
    )
    .option('--drift-alerts <file>', 'drift: alert events (status drift) as NDJSON');
}

/** The monitor the flags ask for, or undefined without `--drift`. */
export async function driftMonitorOf(o: DriftRunFlags): Promise<DriftMonitor | undefined> {
  if (o.drift === undefined) return undefined;
  const groups = o.drift
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  let reference: { trailingMs: number } | { from: number; to: number };
  try {
    reference = o.driftReference.includes('/')
      ? periodFlag('--drift-reference')(o.driftReference)
      : { trailingMs: parseDuration('--drift-reference', o.driftReference) };
  } catch (err) {
    throw new ConfigError(
      `--drift-reference must be a duration (24h) or a FROM/TO period: ${(err as Error).message}`,
      { field: '--drift-reference' },
    );
  }
  // Loaded only when --drift asks for it (prom-client and the statistics stay out of start-up).
  const { DriftMonitor } = await import('../drift/monitor.js');
  return new DriftMonitor({
    groups,
    currentMs: o.driftCurrent,
    reference,
    delayMs: o.driftDelay,
    ...(o.driftEvery === undefined ? {} : { everyMs: o.driftEvery }),
    ...(o.driftMinSamples === undefined ? {} : { minSamples: o.driftMinSamples }),
  });
}
