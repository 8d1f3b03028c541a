import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseDateOrTimestamp } from '../shared/timestamp.js';
import type { QualityReport } from '../quality/score.js';
import { pluginOption } from './common.js';

const OFFLINE_HELP = 'offline store: postgres://USER@HOST:PORT/DB[?schema=S], embedded or embedded:DIR';

/** `30m`, `24h`, `7d`, `90s` → ms. */
export function parseDuration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(v.trim());
  if (m === null || !(Number(m[1]) > 0))
    throw new InvalidArgumentError(`${flag} must be a duration such as 90s, 30m, 24h or 7d, got "${v}"`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** The quality report as text: one line per feature value, worst first. */
export function qualityText(q: QualityReport): string {
  const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
  const header = [
    'score',
    'status',
    'group',
    'feature',
    'nulls',
    'fresh',
    'age s',
    'complete',
    'valid',
    'drift',
  ];
  const rows = q.features.map((f) => [
    f.score.toFixed(3),
    f.status,
    f.group,
    f.feature,
    pct(f.null_rate),
    f.freshness.toFixed(2),
    f.age_seconds === null ? '–' : String(f.age_seconds),
    pct(f.completeness),
    pct(f.validity),
    f.drift_status === 'insufficient_data' ? '–' : `${f.drift_status} ${f.drift_score?.toFixed(2)}`,
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return `quality at ${q.at} over ${q.window_seconds} s\n${all
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/**
 * Adds `featurestream quality` to a commander program: a 0–1 quality score per feature value from
 * the offline store (null rate, freshness vs the group's SLA, completeness, validation pass
 * share, drift against the previous window), worst first.
 *
 * @example
 * featurestream quality --offline postgres://postgres@127.0.0.1/test --window 24h --format text
 */
export function registerQualityCommand(program: Command): void {
  program
    .command('quality')
    .description(
      'Quality score (0–1) per feature value from the offline store: null rate, freshness vs the ' +
        "group's SLA, completeness, share passing validation and drift vs the previous window, worst first",
    )
    .addOption(new Option('--offline <url>', OFFLINE_HELP).default('embedded'))
    .addOption(new Option('--schema <name>', 'schema of the tables (overrides ?schema= in the URL)'))
    .option('--group <group>', 'only this group')
    .option(
      '--topology <name|file>',
      'the topology that wrote the rows (its features and validation rules)',
      'llm-features',
    )
    .addOption(pluginOption())
    .addOption(
      new Option('--at <time>', 'end of the window: RFC 3339, date or ms (default now)').argParser((v) => {
        const t = /^-?\d+$/.test(v) ? Number(v) : parseDateOrTimestamp(v);
        if (t === null || !Number.isSafeInteger(t))
          throw new InvalidArgumentError(`--at must be RFC 3339, a date or ms since the epoch, got "${v}"`);
        return t;
      }),
    )
    .addOption(
      new Option('--window <duration>', 'window length (drift compares it with the one before)')
        .argParser((v) => parseDuration('--window', v))
        .default(86_400_000, '24h'),
    )
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'text']).default('text'))
    .action(
      async (o: {
        offline: string;
        schema?: string;
        group?: string;
        topology: string;
        plugin?: string[];
        at?: number;
        window: number;
        format: 'json' | 'text';
      }) => {
        const [{ withStore, topologyOf, featureSetOf }, { computeQuality }] = await Promise.all([
          import('./common.js'),
          import('../quality/score.js'),
        ]);
        const set = await featureSetOf(await topologyOf(o));
        const q = await withStore(
          o,
          (store) =>
            computeQuality(async (sql, params) => (await store.client.query('quality', sql, params)).rows, {
              featureSet: set,
              schema: store.schema,
              windowMs: o.window,
              ...(o.at === undefined ? {} : { at: o.at }),
              ...(o.group === undefined ? {} : { group: o.group }),
            }),
          { readOnly: true },
        );
        process.stdout.write(o.format === 'json' ? `${JSON.stringify(q, null, 2)}\n` : qualityText(q));
      },
    );
}
