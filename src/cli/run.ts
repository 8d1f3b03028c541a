/**
 * `featurestream run`: a topology over an NDJSON file (or Kafka, `--kafka`) to its end; with no
 * arguments, the embedded default (a generated sample through `llm-features` into
 * `.featurestream/default/`).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { EmbedderName } from '../domains/llm/features/embeddings/models.js';
import type { RunSummary } from '../runtime/coordinator.js';
import { ConfigError } from '../shared/errors.js';
import { nonNegativeInt, positiveInt } from '../shared/flags.js';
import { progressBar } from '../shared/progress.js';
import { detail, featureSetOf, fmt, pluginOption, topologyOf } from './common.js';
import { checkInputFile, checkOutputFile, exitOnSignals, lockStateDir } from './guard.js';
import { registerKafkaOptions } from './kafka.js';
import { DEFAULT_SHARDS, defaultWorkers } from './run-defaults.js';

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

/** What {@link printSample} saw in the rows file: the event-time range and a row to point at. */
interface RowsSeen {
  /** The earliest and latest event time of the events behind the rows, ms. */
  readonly from: number;
  readonly to: number;
  /** A windowed row (perf_5min when there is one): the group, entity and a value to ask for. */
  readonly example: { group: string; entityType: string; entityId: string; value: string } | null;
}

/**
 * Prints the first row of each group, in the topology's group order, and returns the rows'
 * event-time range and an example row for the next commands.
 */
function printSample(out: string, groupOrder: readonly string[]): RowsSeen {
  const first = new Map<string, string>();
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  let example: RowsSeen['example'] = null;
  let windowed = { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    if (line === '') continue;
    const row = JSON.parse(line) as {
      group: string;
      entity_type: string;
      entity_id: string;
      window_start: string | null;
      event_time: string;
      values: Record<string, unknown>;
    };
    // The events' own times: rows of unwindowed groups carry them (window rows end later).
    const t = Date.parse(row.event_time);
    if (row.window_start === null) {
      from = Math.min(from, t);
      to = Math.max(to, t);
    }
    windowed = { from: Math.min(windowed.from, t), to: Math.max(windowed.to, t) };
    const better = example === null || (example.group !== 'perf_5min' && row.group === 'perf_5min');
    if (row.window_start !== null && better) {
      const value = Object.keys(row.values)[0];
      if (value !== undefined)
        example = { group: row.group, entityType: row.entity_type, entityId: row.entity_id, value };
    }
    if (first.has(row.group)) continue;
    const vals = Object.entries(row.values)
      .slice(0, 5)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
      .join(' ');
    first.set(row.group, `${row.entity_id.padEnd(18)} ${row.window_start ?? '-'}  ${vals}\n`);
  }
  const width = Math.max(10, ...[...first.keys()].map((g) => g.length));
  process.stdout.write('\nsample rows (first per group):\n');
  const rest = [...first.keys()].filter((g) => !groupOrder.includes(g));
  for (const g of [...groupOrder.filter((g) => first.has(g)), ...rest])
    process.stdout.write(`  ${g.padEnd(width)} ${first.get(g)!}`);
  return Number.isFinite(from) ? { from, to, example } : { ...windowed, example };
}

/** An instant as RFC 3339 to the second: `2026-03-02T00:00:00Z`. */
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The lines after the embedded default's summary: the files and stores, the event-time range of
 * the rows, and next commands that work as printed from this directory (they read the stores at
 * their default location).
 */
function printNext(
  seen: RowsSeen,
  files: { out: string; deadLetters: string; lateEvents: string; online: string; offline: string },
  /** The sample's known shift (`--shift`): the drift command then looks for it. */
  shift?: { readonly input: string; readonly from: number },
): void {
  const lines = [
    '',
    `rows: ${files.out}`,
    `dead letters: ${files.deadLetters}`,
    `late events: ${files.lateEvents}`,
    `online store: ${files.online}`,
    `offline store: ${files.offline}`,
  ];
  if (Number.isFinite(seen.from)) {
    // Whole minutes around the rows, halved for drift's two periods.
    const from = Math.floor(seen.from / 60_000) * 60_000;
    const to = Math.ceil((seen.to + 1) / 60_000) * 60_000;
    const mid = from + Math.round((to - from) / 2 / 60_000) * 60_000;
    lines.push(`event time: ${iso(seen.from)} – ${iso(seen.to)}`);
    const e = seen.example;
    if (e !== null) {
      lines.push(
        '',
        'next (these read the stores above; serve runs until Ctrl-C, the others can run beside it):',
        '  npx featurestream serve',
        `  curl 'localhost:8080/features/${e.entityType}/${e.entityId}?features=${e.value}'`,
        shift === undefined
          ? `  npx featurestream drift --group ${e.group} --pool --reference ${iso(from)}/${iso(mid)} --current ${iso(mid)}/${iso(to)} --format text`
          : // Per model, before the shift against the shifted last hour (12–13 windows a side).
            `  npx featurestream drift --group perf_5min --features ${shift.input === 'cost' ? 'avg_cost_per_request_5min' : 'latency_p50_5min'} --reference ${iso(from)}/${iso(shift.from)} --current ${iso(shift.from)}/${iso(Math.ceil(to / 300_000) * 300_000)} --min-samples 10 --format text`,
        `  npx featurestream export --group ${e.group} --format csv --out ${e.group}.csv`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * Adds `run` to the command line, with its Kafka and continuous-drift flags.
 *
 * @example
 * const run = await registerRunCommand(program);
 */
export async function registerRunCommand(program: Command): Promise<Command> {
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
      '--shift <spec>',
      'without --input (the embedded default): the sample with one known shift, MODEL:INPUT:FACTOR, as `generate --shift` makes it (e.g. gpt-4o:latency:3)',
    )
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
        .default(defaultWorkers()),
    )
    .addOption(
      new Option('--shards <n>', 'shards (units of state); fixed for a state dir')
        .argParser(positiveInt('--shards'))
        .default(DEFAULT_SHARDS),
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
      if (o.shift !== undefined && !embedded)
        throw new ConfigError(
          '--shift goes with the embedded default (no --input); for a file, use `featurestream generate --shift`',
          {
            field: '--shift',
          },
        );
      const shift =
        o.shift === undefined
          ? undefined
          : (await import('../domains/llm/generate/shift.js')).parseShift(o.shift as string);
      let input = o.input as string | undefined;
      let out = o.out as string | undefined;
      let stateDir = o.stateDir as string | undefined;
      let deadLetters = o.deadLetters as string | undefined;
      let lateEvents = o.lateEvents as string | undefined;
      let fresh = o.fresh as boolean;
      let online = o.online as string | undefined;
      let offline = o.offline as string | undefined;
      let emptyOffline = false;
      let shiftShown: { input: string; from: number } | undefined;
      if (embedded) {
        const dir = resolve('.featurestream/default');
        mkdirSync(dir, { recursive: true });
        input = join(dir, 'events.ndjson');
        out ??= join(dir, 'features.ndjson');
        stateDir ??= join(dir, 'state');
        // First of all: a second default run is refused before it touches the first one's files.
        lockRun(stateDir, true);
        const { defaultSample } = await import('../domains/llm/generate/default-sample.js');
        const { stats: g, reused } = await defaultSample(input, { events: 20_000, seed: 42 }, shift);
        process.stdout.write(
          reused
            ? `embedded default: the sample stream in ${input} (as this generator wrote it: reused)\n`
            : `embedded default: generated a sample stream into ${input}\n`,
        );
        process.stdout.write(`  ${fmt(g.lines)} events${detail(g.byType)}\n`);
        if (shift !== undefined && 'shiftFrom' in g)
          shiftShown = { input: shift.input, from: g.shiftFrom as number };
        if (shiftShown !== undefined)
          process.stdout.write(
            `  shift: ${shift!.model} ${shift!.input} ×${shift!.factor} from ${iso(shiftShown.from)} to the end\n`,
          );
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
        throw new ConfigError(
          '--out, --online or --offline is required with --input (where do the rows go?)',
          {
            field: '--out',
          },
        );
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
      // As a Kafka member runs it (src/cli/run-topology.ts): the same topology from both drivers.
      const topology = await (await import('./run-topology.js')).runTopology(base, {
        featureVersion: o.featureVersion as number | undefined,
        embedder,
      });
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
              await featureSetOf(base),
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
          providerOptions: (await import('../domains/llm/plugin.js')).promptEmbeddingOptions({
            cache: o.embeddingCache as string,
            model: embedder,
          }),
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
          ...(drift === undefined
            ? {}
            : { drift, driftAlerts: (o.driftAlerts as string | undefined) ?? null }),
        });
      } finally {
        await served?.close();
        await ui?.close();
      }
      bar?.done();
      printSummary(topology.name, summary, o.summaryJson as boolean);
      if (embedded && !o.summaryJson) {
        const seen = printSample(
          out!,
          (await featureSetOf(base)).groups.map((g) => g.group),
        );
        printNext(
          seen,
          {
            out: out!,
            deadLetters: deadLetters!,
            lateEvents: lateEvents!,
            online: online!,
            offline: offline!,
          },
          shiftShown,
        );
      }
    });
  registerKafkaOptions(runCommand);
  (await import('./bad-input.js')).registerDeadLetterOptions(runCommand);
  (await import('./drift-run-options.js')).registerDriftRunOptions(runCommand);
  return runCommand;
}

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
