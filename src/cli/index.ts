import { promptEmbeddingOptions } from '../domains/llm/plugin.js';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { Topology } from '../../topology/nodes.js';
import { ConfigError } from '../shared/errors.js';
import {
  checkInputFile,
  checkOutputFile,
  debugWanted,
  exitOnSignals,
  installProcessGuards,
  lockStateDir,
  markLoaded,
  reportError,
  withoutDebug,
} from './guard.js';
import { nonNegativeInt, positiveInt } from '../shared/flags.js';
import { registerWorkflowCommand } from './workflow.js';
import type { EmbedderName } from '../domains/llm/features/embeddings/models.js';
import { registerKafkaOptions } from './kafka.js';
import { registerServeCommand } from './serve.js';
import { registerStoreCommands } from './stores.js';
import { progressBar } from '../shared/progress.js';
import { registerDomains } from './domains.js';
import { setDefaultTopology } from '../registry/feature-set.js';
import type { RunSummary } from '../runtime/coordinator.js';

/**
 * The `featurestream` command line. Exit codes: 0 done; 2 bad arguments or configuration (the
 * message names the flag or field); 1 any other failure.
 */
const program = new Command();
/** The pool module, once `run` has prewarmed a pool (stopped in main() if runJob never took it). */
let prewarmedPools: typeof import('../runtime/shard-pool.js') | undefined;
// Commands registered by other modules take a synchronous topologyByName: load the topology
// modules before any action runs (never for --help).
program.hook('preAction', async (_program, action) => {
  if (action.name() === 'run' && action.opts().kafka === undefined) {
    // The pool's workers load their modules (~0.3 s each) while this thread loads and opens
    // everything else; runJob takes the pool over (issue 10: time to first event).
    prewarmedPools = await import('../runtime/shard-pool.js');
    prewarmedPools.prewarmShardPool(action.opts().workers as number, action.opts().shards as number);
  }
  await loadTopologies();
});

/**
 * The topology modules, loaded by the first command that needs them (a preAction hook loads them
 * before every action), not at start-up: `--help` and commands without a topology skip them.
 */
let topologies: typeof import('../../topology/index.js') | undefined;
const loadTopologies = async () => {
  topologies ??= await import('../../topology/index.js');
  return topologies;
};

/** A `--topology` value: a shipped topology's name or a topology file (.json, .yaml, .yml). */
function topologyByName(spec: string): Topology {
  if (topologies === undefined) throw new Error('internal: topology modules not loaded before the action');
  return topologies.loadTopology(spec, '--topology');
}

/** `--plugin ./module.js`, repeatable: user functions for topology files (docs/topology-files.md). */
const pluginOption = () =>
  new Option(
    '--plugin <module>',
    'an ES module of user filters, maps, aggregations and processors (repeatable)',
  ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);

/** The `--topology` of a command, with its `--plugin`s loaded. */
const topologyOf = async (o: { topology?: unknown; plugin?: unknown }) =>
  (await loadTopologies()).openTopology(
    (o.topology as string | undefined) ?? 'llm-features',
    (o.plugin as string[] | undefined) ?? [],
  );
/** The feature set (registry entries) of a topology. */
const featureSetOf = async (t: Topology) => (await import('../registry/feature-set.js')).featureSet(t);

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const detail = (r: Record<string, number>) => {
  const parts = Object.entries(r)
    .sort()
    .map(([k, v]) => `${k} ${fmt(v)}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
};

function printSummary(name: string, s: RunSummary, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ topology: name, ...s })}\n`);
    return;
  }
  const lines = [
    `featurestream run — topology ${name}${s.alreadyComplete ? ' (already complete: nothing to do)' : ''}`,
    `  events read    ${fmt(s.eventsRead)}`,
    `  dead letters   ${fmt(s.deadLetters)}${detail(s.deadLettersByReason)}`,
    `  late events    ${fmt(s.lateEvents)}${detail(s.lateByWindow)}`,
    `  rows written   ${fmt(s.rowsWritten)}${detail(s.rowsByGroup)}`,
    `  invalid values ${fmt(Object.values(s.invalidValues).reduce((a, b) => a + b, 0))}${detail(s.invalidValues)} (written as null)`,
    ...Object.entries(s.provided).map(
      ([name, p]) =>
        `  ${name.padEnd(14)} ${fmt(p.keys)} looked up, ${p.keys === 0 ? 0 : ((100 * p.cacheHits) / p.keys).toFixed(1)}% from cache`,
    ),
    `  checkpoints    ${fmt(s.checkpoints)}${s.resumedFrom === null ? '' : ` (resumed from checkpoint ${s.resumedFrom})`}`,
    `  seconds        ${s.seconds.toFixed(2)}`,
    `  events/s       ${fmt(s.eventsPerSecond)}`,
    ...(s.firstEventMs === null
      ? []
      : [`  first event    ${fmt(s.firstEventMs)} ms after the process started`]),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printSample(out: string, perGroup = 3): void {
  const seen = new Map<string, number>();
  process.stdout.write('\nsample rows (first per group):\n');
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    if (line === '') continue;
    const row = JSON.parse(line) as {
      group: string;
      entity_id: string;
      window_start: string | null;
      values: object;
    };
    const n = seen.get(row.group) ?? 0;
    if (n >= perGroup) continue;
    seen.set(row.group, n + 1);
    const vals = Object.entries(row.values)
      .slice(0, 5)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
      .join(' ');
    process.stdout.write(
      `  ${row.group.padEnd(10)} ${row.entity_id.padEnd(18)} ${row.window_start ?? '-'}  ${vals}\n`,
    );
  }
}

program
  .name('featurestream')
  .description(
    'Turns event streams of LLM applications into ML features: a declarative topology of keyed ' +
      'event-time windows, processors and joins run on a worker pool, checkpointed in LevelDB, ' +
      'written exactly once to files, an online store (Redis) and an offline store (PostgreSQL), ' +
      'and served over HTTP.\n\n' +
      'Start with: featurestream run    (no arguments: a generated sample stream through all 65 features)\n\n' +
      'Exit codes: 0 done, 1 failure, 2 bad arguments, 3 state dir/store/port in use by another\n' +
      'process, 130/143 interrupted (SIGINT/SIGTERM). --debug (anywhere) adds stack traces to errors.',
  )
  .showHelpAfterError()
  .exitOverride();

const runCommand = program
  .command('run')
  .description(
    'Run a topology over an NDJSON event file (plain or .gz) to its end. With no arguments, runs the\n' +
      'embedded default: generates a sample stream of all event types and runs the full llm-features\n' +
      'topology (65 features in 9 groups) on it with LevelDB state.',
  )
  .option(
    '--topology <name|file>',
    'topology to run: a shipped name (featurestream topology list) or a .json/.yaml/.yml file',
    'llm-features',
  )
  .addOption(pluginOption())
  .option('--input <file>', 'NDJSON events, plain or .gz')
  .option(
    '--out <file>',
    'feature rows as NDJSON (exactly once across crashes); optional when --online or --offline is given',
  )
  .option('--dead-letters <file>', 'malformed events with line, offset, reason code and raw text')
  .option('--late-events <file>', 'the late-data side output (events past their windows’ allowed lateness)')
  .option(
    '--state-dir <dir>',
    'LevelDB state and checkpoints; run again with the same dir to resume after a crash',
  )
  .option('--fresh', 'delete any previous state in --state-dir first', false)
  .addOption(
    new Option(
      '--feature-version <n>',
      'write every group as this version (a new version beside the old, e.g. replaying history with new code)',
    ).argParser(positiveInt('--feature-version')),
  )
  .option('--online <url>', 'online store: redis://HOST:PORT[/DB] or embedded[:DIR]')
  .option('--offline <url>', 'offline store: postgres://USER@HOST:PORT/DB or embedded[:DIR]')
  .option(
    '--embedding-cache <dir>',
    'persistent cache of prompt embeddings (by content hash and model version)',
    '.featurestream/embeddings',
  )
  .addOption(
    new Option(
      '--embedder <name>',
      'prompt embedder: static (SIF word vectors, fast, the default) or use-lite (Universal Sentence ' +
        'Encoder Lite, cached); the derived group is written as version 2 (static) or 1 (use-lite) ' +
        'unless --feature-version is given',
    )
      .choices(['static', 'use-lite'])
      .default('static'),
  )
  .addOption(
    new Option('--workers <n>', 'worker threads')
      .argParser(positiveInt('--workers'))
      .default(Math.min(4, availableParallelism())),
  )
  .addOption(
    new Option('--shards <n>', 'shards (units of state); fixed for a state dir')
      .argParser(positiveInt('--shards'))
      .default(8),
  )
  .addOption(
    new Option('--checkpoint-interval <ms>', 'milliseconds between checkpoints')
      .argParser(nonNegativeInt('--checkpoint-interval'))
      .default(2000),
  )
  .addOption(
    new Option('--batch-lines <n>', 'lines per source batch')
      .argParser(positiveInt('--batch-lines'))
      .default(2048),
  )
  .option('--summary-json', 'print the summary as one JSON line', false)
  .addOption(
    new Option(
      '--ui-port <port>',
      'serve the live topology page on this port while the job runs (see `ui`)',
    ).argParser(nonNegativeInt('--ui-port')),
  )
  .addOption(
    new Option('--log-level <level>', 'log level (logs go to stderr)')
      .choices(['debug', 'info', 'warn', 'error'])
      .default('warn'),
  )
  .addHelpText(
    'after',
    '\nExamples:\n' +
      '  featurestream run\n' +
      '  featurestream run --topology llm-features --input events.ndjson.gz --out rows.ndjson \\\n' +
      '      --dead-letters dl.ndjson --state-dir .state --workers 2 --checkpoint-interval 1000\n' +
      '\nAfter a crash, run the same command again: it resumes from the last checkpoint and\n' +
      'completes the same output. Exit codes: 0 done, 2 bad arguments, 1 failure.',
  )
  .action(async (o) => {
    // Loaded here, not at start-up: a command loads only what it uses (issue 10).
    const { pino } = await import('pino');
    const logger = pino({ level: o.logLevel as string }, pino.destination(2));
    if (o.kafka !== undefined) {
      // A Kafka consumer-group member (issue 5): see src/runtime/kafka/.
      await (await import('./kafka.js')).runKafkaCommand(o, logger);
      // The run is complete and checkpointed; a Kafka client socket left open by a broker that
      // just came back must not keep the process from exiting.
      setTimeout(() => process.exit(process.exitCode ?? 0), 5_000).unref();
      return;
    }
    const embedded = o.input === undefined;
    let input = o.input as string | undefined;
    let out = o.out as string | undefined;
    let stateDir = o.stateDir as string | undefined;
    let deadLetters = o.deadLetters as string | undefined;
    let lateEvents = o.lateEvents as string | undefined;
    let fresh = o.fresh as boolean;
    let online = o.online as string | undefined;
    let offline = o.offline as string | undefined;
    let emptyOffline = false;
    if (embedded) {
      const dir = resolve('.featurestream/default');
      mkdirSync(dir, { recursive: true });
      input = join(dir, 'events.ndjson');
      out ??= join(dir, 'features.ndjson');
      stateDir ??= join(dir, 'state');
      // First of all: a second default run is refused before it touches the first one's files.
      lockRun(stateDir, true);
      const { defaultSample } = await import('../domains/llm/generate/default-sample.js');
      const { stats: g, reused } = await defaultSample(input, { events: 20_000, seed: 42 });
      process.stdout.write(
        reused
          ? `embedded default: the sample stream in ${input} (as this generator wrote it: reused)\n`
          : `embedded default: generated a sample stream into ${input}\n`,
      );
      process.stdout.write(`  ${fmt(g.lines)} events${detail(g.byType)}\n`);
      deadLetters ??= join(dir, 'dead-letters.ndjson');
      lateEvents ??= join(dir, 'late-events.ndjson');
      // The embedded stores: a LevelDB online store and PGlite (PostgreSQL in the process).
      online ??= `embedded:${join(dir, 'online')}`;
      offline ??= `embedded:${join(dir, 'offline')}`;
      // Like its state, the embedded default's stores start fresh on every run: the online store
      // is removed; the offline store's directory is kept (a new one costs PGlite an initdb, ~4 s)
      // and its schema emptied when it opens.
      if (o.online === undefined) rmSync(join(dir, 'online'), { recursive: true, force: true });
      emptyOffline = o.offline === undefined;
      fresh = true;
    } else if (out === undefined && online === undefined && offline === undefined) {
      throw new ConfigError('--out, --online or --offline is required with --input (where do the rows go?)', {
        field: '--out',
      });
    }
    if (!embedded && stateDir !== undefined) lockRun(stateDir, fresh);
    if (checkInputFile(input!) === 0) {
      process.stderr.write(`featurestream: warning: --input ${input} is empty: no events\n`);
    }
    checkOutputFile(out, '--out');
    checkOutputFile(deadLetters, '--dead-letters');
    checkOutputFile(lateEvents, '--late-events');
    const base = await topologyOf(o);
    const embedder = o.embedder as EmbedderName;
    const topology =
      o.featureVersion === undefined
        ? (await import('../domains/llm/features/embeddings/models.js')).withEmbedderVersion(base, embedder)
        : (await import('../../topology/versioned.js')).withFeatureVersion(base, o.featureVersion as number);
    // The registry and store TTLs describe the topology's groups as defined, not a replayed version.
    const { openSinks } = await import('../stores/open-sinks.js');
    const { runJob } = await import('../runtime/coordinator.js');
    const opening = openSinks(online, offline, topology.name, logger, await featureSetOf(base), {
      emptyEmbeddedOffline: emptyOffline,
    });
    // The embedded default's own stores (no flags to check) open while the run starts; stores
    // named by flags open first, so a bad one fails before any input is read, and so do the
    // stores of a run with --metrics-port (each sink keeps its own metrics).
    const sinks =
      embedded && o.online === undefined && o.offline === undefined && o.metricsPort === undefined
        ? [(await import('../runtime/deferred-sinks.js')).deferredSinks(opening, 'embedded stores')]
        : await opening;
    const bar = process.stderr.isTTY ? progressBar('reading') : undefined;
    // Continuous drift (issue 12), when --drift names groups.
    const drift = await (await import('./drift-run-options.js')).driftMonitorOf(o);
    // Prometheus metrics of the run on --metrics-port (issue 12).
    const served =
      o.metricsPort === undefined
        ? null
        : await (await import('../monitoring/serve-run-metrics.js')).serveRunMetrics(
            o.metricsPort as number,
            stateDir ?? null,
            drift,
          );
    // The live topology page (issue 13), fed by the coordinator.
    const ui =
      o.uiPort === undefined
        ? undefined
        : await (await import('../ui/server.js')).startUiServer(topology, o.uiPort as number);
    if (ui !== undefined) process.stderr.write(`topology page: http://127.0.0.1:${ui.port}/\n`);
    let summary: RunSummary;
    try {
      summary = await runJob({
        ...(ui === undefined ? {} : { observer: ui.metrics }),
        sinks: served === null ? sinks : served.metrics.instrumentSinks(sinks),
        ...(served === null ? {} : { metrics: served.metrics }),
        providerOptions: promptEmbeddingOptions({ cache: o.embeddingCache as string, model: embedder }),
        topology,
        input: input!,
        out: out ?? null,
        deadLetters: deadLetters ?? null,
        lateEvents: lateEvents ?? null,
        stateDir: stateDir ?? null,
        workers: o.workers as number,
        shards: o.shards as number,
        checkpointIntervalMs: o.checkpointInterval as number,
        batchLines: o.batchLines as number,
        fresh: stateDir === undefined && fresh, // lockRun emptied a locked state dir
        deadLetterPolicy: (await import('./bad-input.js')).fileDeadLetterPolicy(o),
        logger,
        ...(bar === undefined ? {} : { onProgress: bar.update }),
        ...(drift === undefined ? {} : { drift, driftAlerts: (o.driftAlerts as string | undefined) ?? null }),
      });
    } finally {
      await served?.close();
      await ui?.close();
    }
    bar?.done();
    printSummary(topology.name, summary, o.summaryJson as boolean);
    if (embedded && !o.summaryJson) {
      printSample(out!);
      process.stdout.write(
        `\nrows: ${out}\ndead letters: ${deadLetters}\nlate events: ${lateEvents}\n` +
          `online store: ${online}\noffline store: ${offline}\n` +
          `serve them: npx featurestream serve --online ${online} --offline ${offline}\n`,
      );
    }
  });

/**
 * Takes the state dir's lock before anything else runs (src/guard.ts), empties it with `fresh`,
 * and holds it until the process ends; SIGINT/SIGTERM end the run with one line and 130/143.
 */
function lockRun(stateDir: string, fresh: boolean): void {
  // Signals first: one arriving right after the lock is taken still releases it (so does exit).
  let lock: { release(): void } | null = null;
  exitOnSignals('run', () => lock?.release());
  lock = lockStateDir(stateDir, fresh);
}

registerKafkaOptions(runCommand);
(await import('./bad-input.js')).registerDeadLetterOptions(runCommand);
(await import('./drift-run-options.js')).registerDriftRunOptions(runCommand);

const topologyCmd = program.command('topology').description('Inspect topologies and write topology files');
topologyCmd
  .command('show')
  .description(
    'Print a topology as a topology file (json, yaml: run --topology FILE reads it back), a Graphviz\n' +
      'dot graph, a Mermaid flowchart, an SVG drawing or a self-contained HTML page',
  )
  .option('--topology <name|file>', 'a shipped name or a .json/.yaml/.yml file', 'llm-features')
  .addOption(pluginOption())
  .addOption(
    new Option('--format <format>', 'output format')
      .choices(['json', 'yaml', 'dot', 'mermaid', 'svg', 'html'])
      .default('json'),
  )
  .addHelpText(
    'after',
    '\nExample: write the shipped topology as a file, edit it, run it:\n' +
      '  featurestream topology show --topology llm-perf --format yaml > perf.yaml\n' +
      '  featurestream run --topology perf.yaml --input events.ndjson --out rows.ndjson',
  )
  .action(async (o) => {
    const t = await topologyOf(o);
    if (o.format === 'svg' || o.format === 'html') {
      const ui = await import('../ui/server.js');
      process.stdout.write(o.format === 'svg' ? `${await ui.topologySvg(t)}\n` : ui.topologyHtml(t));
      return;
    }
    const format = o.format as 'json' | 'yaml' | 'dot' | 'mermaid';
    process.stdout.write(
      format === 'json' || format === 'yaml'
        ? (await loadTopologies()).serializeTopology(t, format)
        : `${(await import('../../topology/render.js')).renderTopology(t, format)}\n`,
    );
  });
topologyCmd
  .command('list')
  .description('List the shipped topologies')
  .action(async () => {
    for (const [name, make] of (await loadTopologies()).TOPOLOGIES)
      process.stdout.write(`${name}\t${make().description ?? ''}\n`);
  });

program
  .command('generate')
  .description('Write a deterministic, realistic sample event stream (NDJSON, or gzip when FILE ends in .gz)')
  .addOption(
    new Option('--events <n>', 'number of events').argParser(positiveInt('--events')).makeOptionMandatory(),
  )
  .addOption(new Option('--seed <n>', 'random seed').argParser(nonNegativeInt('--seed')).default(1))
  .requiredOption('--out <file>', 'output file')
  .addOption(
    new Option(
      '--kind <kind>',
      'llm: all 8 event types, realistic traffic; perf: performance_metrics only; api: labelled api_call sessions',
    )
      .choices(['llm', 'perf', 'api'])
      .default('llm'),
  )
  .option(
    '--spec <file>',
    'with --kind api: sessions over this OpenAPI 3 document (.json or .json.gz) instead of the shipped surface; families derived from its resources',
  )
  .addOption(new Option('--models <n>', 'number of models').argParser(positiveInt('--models')).default(6))
  .addOption(new Option('--bad-fraction <x>', 'share of malformed lines').default('0.002'))
  .addOption(
    new Option('--late-fraction <x>', 'share of events late beyond the allowed lateness').default('0.002'),
  )
  .action(async (o) => {
    const frac = (flag: string, v: string) => {
      const x = Number(v);
      if (!(x >= 0 && x < 1))
        throw new ConfigError(`${flag} must be a number in [0, 1), got "${v}"`, { field: flag });
      return x;
    };
    const common = {
      events: o.events as number,
      seed: o.seed as number,
      models: o.models as number,
      badFraction: frac('--bad-fraction', o.badFraction as string),
      lateFraction: frac('--late-fraction', o.lateFraction as string),
    };
    checkOutputFile(o.out as string, '--out');
    if (o.spec !== undefined && o.kind !== 'api')
      throw new ConfigError('--spec goes with --kind api', { field: '--spec' });
    if (o.kind === 'api') {
      const { writeApiEvents } = await import('../domains/api-workflow/generate/api-stream.js');
      let families: import('../domains/api-workflow/generate/api-stream.js').Family[] | undefined;
      if (o.spec !== undefined) {
        const [{ familiesFromSpec }, { loadOpenApi }] = await Promise.all([
          import('../domains/api-workflow/generate/api-families.js'),
          import('../domains/api-workflow/openapi.js'),
        ]);
        const spec = loadOpenApi(o.spec as string);
        families = familiesFromSpec(spec);
        process.stderr.write(
          `${spec.title}: ${spec.endpoints.length} operations, ${families.length} scenario families (${families
            .slice(0, 4)
            .map((f) => f.name.slice(f.name.indexOf(':') + 1))
            .join(', ')}, …)\n`,
        );
      }
      const r = await writeApiEvents(o.out as string, {
        ...common,
        noise: 0.1,
        ...(families === undefined ? {} : { families }),
      });
      process.stdout.write(`wrote ${fmt(r.lines)} api_call events to ${o.out}\n`);
      return;
    }
    if (o.kind === 'perf') {
      const { writePerfEvents } = await import('../domains/llm/generate/perf-stream.js');
      const r = await writePerfEvents(o.out as string, common);
      process.stdout.write(`wrote ${fmt(r.lines)} events to ${o.out}\n`);
      return;
    }
    const { writeLlmEvents } = await import('../domains/llm/generate/llm-stream.js');
    const r = await writeLlmEvents(o.out as string, common);
    process.stdout.write(`wrote ${fmt(r.lines)} events to ${o.out}${detail(r.byType)}\n`);
  });

const featuresCmd = program.command('features').description("A topology's features and groups");
featuresCmd
  .command('list')
  .description('List every feature: id, name, category, entity, group, window, version, validation rule')
  .option('--topology <name|file>', 'a shipped name or a .json/.yaml/.yml file', 'llm-features')
  .addOption(pluginOption())
  .option('--json', 'print a JSON array of registry entries', false)
  .option('--group <group>', 'only this group')
  .action(async (o) => {
    const set = await featureSetOf(await topologyOf(o));
    if (o.group !== undefined && !set.features.some((f) => f.group === o.group)) {
      const groups = [...new Set(set.features.map((f) => f.group))].join(', ');
      throw new ConfigError(`--group: unknown group "${o.group}" (known: ${groups})`, { field: '--group' });
    }
    const list = set.features.filter((f) => o.group === undefined || f.group === o.group);
    if (o.json) {
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return;
    }
    const rows = list.map((f) => [f.id, f.name, f.group, f.entity, f.window ?? '-', `v${f.version}`]);
    const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) {
      process.stdout.write(`${r.map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c)).join('  ')}\n`);
    }
    process.stdout.write(
      `${list.length} features, ${list.reduce((n, f) => n + f.valueNames.length, 0)} values\n`,
    );
  });

registerServeCommand(program);
registerWorkflowCommand(program);
registerStoreCommands(program);
// Drift reports and quality scores (issue 12).
(await import('./drift.js')).registerDriftCommand(program);
(await import('./quality.js')).registerQualityCommand(program);
// Replay into a new feature version, version diffs, and the topology page (issue 13).
(await import('./replay.js')).registerReplayCommands(program, topologyByName);
(await import('./ui.js')).registerUiCommand(program, topologyByName);

async function main(): Promise<void> {
  // Our handlers, not a library's (see src/guard.ts): errors end here, as one line.
  installProcessGuards();
  markLoaded();
  const debug = debugWanted();
  try {
    // The shipped domains: their schemas, functions, catalogs and topologies, here and in workers.
    registerDomains();
    setDefaultTopology('llm-features');
    await program.parseAsync(withoutDebug(process.argv));
  } catch (err) {
    installProcessGuards();
    // Help and version exit 0; usage errors exit 2 (commander already printed them).
    process.exitCode = reportError(err, debug);
  } finally {
    // A pool `run` prewarmed (preAction hook) but never reached runJob with: a failed start, or a
    // state dir that holds a finished job. A no-op when nothing was prewarmed or runJob took it.
    await prewarmedPools?.discardPrewarmedPool();
  }
}

await main();
