/** `featurestream training-set`: a point-in-time correct join, or (`--kind workflow`) ranking data. */
import { existsSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { nonNegativeInt, positiveInt } from '../shared/flags.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../stores/output-formats.js';
import { offlineOption, schemaOption, withStore } from './common.js';

/**
 * Adds `training-set --entities FILE.csv --features a,b,… --offline URL [--version V]
 * [--out FILE] [--format csv|ndjson|parquet]` to the command line (or `--kind workflow
 * --input EVENTS --out DIR`).
 *
 * @example
 * registerTrainingSetCommand(program);
 */
export function registerTrainingSetCommand(program: Command): void {
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
        await withStore(
          o,
          async (store) => {
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
          },
          { readOnly: true },
        );
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
