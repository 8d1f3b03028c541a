import { existsSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { nonNegativeInt, positiveInt } from '../shared/flags.js';
import { parseDateOrTimestamp } from '../shared/timestamp.js';
import type { OfflineStore } from '../stores/offline-postgres.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../stores/output-formats.js';

const OFFLINE_HELP = 'offline store: postgres://USER@HOST:PORT/DB[?schema=S], embedded or embedded:DIR';

const nonNegativeNumber = (flag: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0) || !Number.isFinite(n))
    throw new InvalidArgumentError(`${flag} must be a number ≥ 0, got "${v}"`);
  return n;
};
const instant = (flag: string) => (v: string) => {
  const t = /^-?\d+$/.test(v) ? Number(v) : parseDateOrTimestamp(v);
  if (t === null || !Number.isSafeInteger(t))
    throw new InvalidArgumentError(
      `${flag} must be RFC 3339, a date (YYYY-MM-DD) or ms since the epoch, got "${v}"`,
    );
  return t;
};

/** Opens the store of `--offline`, runs `fn`, closes it; a missing table becomes a clear ConfigError. */
export async function withStore<T>(
  o: { offline: string; schema?: string },
  fn: (store: OfflineStore) => Promise<T>,
): Promise<T> {
  // Loaded when a command runs, so registering the commands costs `--help` nothing.
  const { OfflineStore, pgCode } = await import('../stores/offline-postgres.js');
  const store = await OfflineStore.open(o.offline, {
    flag: '--offline',
    // How long an unreachable store is retried before the command fails (default 30 s).
    retryDeadlineMs: Number(process.env.FEATURESTREAM_RETRY_DEADLINE_MS ?? 30_000) || 30_000,
    ...(o.schema === undefined ? {} : { schema: o.schema }),
  });
  try {
    return await fn(store);
  } catch (err) {
    if (pgCode(err) === '42P01') {
      throw new ConfigError(
        `--offline: no feature store in ${store.client.description} (schema ${store.schema}): run \`featurestream db migrate\` or a run with --offline first`,
        { field: '--offline', cause: err },
      );
    }
    throw err;
  } finally {
    await store.close();
  }
}

const offlineOption = () => new Option('--offline <url>', OFFLINE_HELP).default('embedded');
const schemaOption = () =>
  new Option('--schema <name>', 'schema of the tables (overrides ?schema= in the URL)');

/**
 * Adds the store commands to a commander program:
 *
 * - `db migrate --offline URL` — apply pending migrations (prints the versions applied);
 * - `db retention --offline URL --days 90` — drop month partitions older than the retention
 *   (prints each dropped partition);
 * - `export --offline URL --group G [--version V] [--from T] [--to T] [--format ndjson|csv|parquet]
 *   [--out FILE]` — a group's offline rows (stdout by default);
 * - `training-set --entities FILE.csv --features a,b,… --offline URL [--version V] [--out FILE]
 *   [--format csv|ndjson|parquet]` — a point-in-time correct join.
 *
 * `--offline` defaults to `embedded` (`.featurestream/offline`). Summaries go to stderr, data to
 * stdout or `--out`. Errors are the project's typed errors (the CLI maps them to exit codes).
 *
 * @example
 * const program = new Command('featurestream');
 * registerStoreCommands(program);
 * await program.parseAsync(['node', 'featurestream', 'db', 'migrate', '--offline', 'embedded']);
 */
export function registerStoreCommands(program: Command): void {
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
        await withStore(o, async (store) => {
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
        });
      },
    );

  program
    .command('training-set')
    .description(
      'Point-in-time correct training set: for each (entity, timestamp) of a CSV, the latest value of ' +
        'each feature with event_time ≤ timestamp and within its group TTL — never a later value. ' +
        'The CSV has entity_type,entity_id,timestamp (a header naming them, in any order, passes other ' +
        'columns such as labels through; without a header they are the first three columns). ' +
        'timestamp: RFC 3339, YYYY-MM-DD or ms since the epoch. ' +
        'With --kind workflow: ranking data from an api_call stream (--input) — one row per (call, ' +
        'candidate) with the WF features as they were before the call, the label (was it the next ' +
        'call) and the query group — as DIR/train.csv and LightGBM’s DIR/train.tsv + train.tsv.query.',
    )
    .addOption(
      new Option(
        '--kind <kind>',
        'llm: point-in-time join from the offline store; workflow: ranking rows from --input',
      )
        .choices(['llm', 'workflow'])
        .default('llm'),
    )
    .option('--entities <file>', 'CSV of entity_type,entity_id,timestamp (--kind llm)')
    .option('--features <list>', 'comma-separated feature ids, names or value names (--kind llm)')
    .option('--input <file>', 'NDJSON api_call events, plain or .gz, in time order (--kind workflow)')
    .option(
      '--spec <file>',
      'OpenAPI 3 document of the API surface, or "builtin" (--kind workflow)',
      'builtin',
    )
    .addOption(
      new Option('--negatives <n>', 'other endpoints per call, sampled; 0 = every endpoint (--kind workflow)')
        .argParser(nonNegativeInt('--negatives'))
        .default(8),
    )
    .addOption(
      new Option('--seed <n>', 'seed of the negative sampling (--kind workflow)')
        .argParser(nonNegativeInt('--seed'))
        .default(1),
    )
    .option(
      '--no-embeddings',
      'leave semantic_similarity empty instead of embedding prompts (--kind workflow)',
    )
    .addOption(offlineOption())
    .addOption(schemaOption())
    .addOption(
      new Option('--version <n>', "version of every group (default: each group's current)").argParser(
        positiveInt('--version'),
      ),
    )
    .addOption(new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('csv'))
    .option(
      '--out <file>',
      'output file (default stdout); with --kind workflow, the output folder (required)',
    )
    .option(
      '--topology <name|file>',
      'the topology whose features and groups --features names (a shipped name or a topology file)',
      'llm-features',
    )
    .addOption(
      new Option('--plugin <module>', 'plugin module the --topology file uses (repeatable)').argParser(
        (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
      ),
    )
    .action(
      async (o: {
        kind: 'llm' | 'workflow';
        entities?: string;
        features?: string;
        input?: string;
        spec: string;
        negatives: number;
        seed: number;
        embeddings: boolean;
        offline: string;
        schema?: string;
        version?: number;
        format: OutputFormat;
        out?: string;
        topology: string;
        plugin?: string[];
      }) => {
        if (o.kind === 'workflow') {
          await workflowTrainingSet(o);
          return;
        }
        for (const f of ['entities', 'features'] as const)
          if (o[f] === undefined)
            throw new ConfigError(`training-set: --${f} is required (--kind llm)`, { field: `--${f}` });
        const entities = o.entities!;
        const { openTopology } = await import('../../topology/index.js');
        const { featureSet } = await import('../registry/feature-set.js');
        const set = featureSet(await openTopology(o.topology, o.plugin ?? []));
        const features = o
          .features!.split(',')
          .map((f) => f.trim())
          .filter((f) => f !== '');
        await withStore(o, async (store) => {
          const { buildTrainingSet } = await import('../stores/training-set.js');
          const r = await buildTrainingSet(store, entities, {
            features,
            format: o.format,
            out: o.out ?? null,
            progress: true,
            featureSet: set,
            ...(o.version === undefined ? {} : { version: o.version }),
          });
          process.stderr.write(
            `training set: ${r.rows} rows × ${r.columns.length} columns${o.out === undefined ? '' : ` to ${o.out}`}\n`,
          );
        });
      },
    );
}

/** `training-set --kind workflow`: see src/workflow/training-export.ts. */
async function workflowTrainingSet(o: {
  input?: string;
  out?: string;
  spec: string;
  negatives: number;
  seed: number;
  embeddings: boolean;
}): Promise<void> {
  for (const f of ['input', 'out'] as const)
    if (o[f] === undefined)
      throw new ConfigError(`training-set: --${f} is required with --kind workflow`, { field: `--${f}` });
  if (!existsSync(o.input!))
    throw new ConfigError(`training-set: --input ${o.input} does not exist`, { field: '--input' });
  const [{ exportWorkflowTraining }, { resolveSpec }] = await Promise.all([
    import('../domains/api-workflow/training-export.js'),
    import('../domains/api-workflow/openapi.js'),
  ]);
  const spec = resolveSpec(o.spec);
  const embedder = o.embeddings
    ? await (await import('../domains/llm/features/embeddings/embedder.js')).Embedder.open({ cacheDir: null })
    : null;
  try {
    const r = await exportWorkflowTraining({
      input: o.input!,
      outDir: o.out!,
      spec,
      negatives: o.negatives,
      seed: o.seed,
      embedder,
      progress: true,
    });
    const bad = Object.entries(r.deadLetters);
    process.stderr.write(
      `training set: ${r.queries} queries, ${r.rows} rows (${spec.title}, ${spec.endpoints.length} endpoints) to ${r.files.join(', ')}; ` +
        `${r.lines} lines read, ${r.unmatched} calls outside the surface, ${r.otherTypes} other events, ` +
        `${bad.length === 0 ? 'no bad lines' : `bad lines: ${bad.map(([k, v]) => `${k} ${v}`).join(', ')}`}\n`,
    );
  } finally {
    await embedder?.close();
  }
}
