/** `featurestream replay`: reprocess an event-time range into a new feature version (issue 13). */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import type { Topology } from '../../topology/nodes.js';
import type { PayloadFormat } from '../connectors/kafka/payload.js';
import type { KafkaReplaySource } from '../replay/kafka-scan.js';
import { ConfigError } from '../shared/errors.js';
import { nonNegativeInt, positiveInt } from '../shared/flags.js';
import { fmt, instant } from './common.js';

/** The embedded default's sample stream (`featurestream run` with no arguments writes it). */
const DEFAULT_EVENTS = '.featurestream/default/events.ndjson';

/**
 * Fails with the store's InUseError (exit 3) when an embedded `--online`/`--offline` directory is
 * held by another process: a replay writes, so it cannot read a snapshot as `export` does.
 */
async function checkEmbeddedFree(online: string | undefined, offline: string | undefined): Promise<void> {
  const [{ parseOnlineSpec }, { parseOfflineSpec }, { lockDir }] = await Promise.all([
    import('../stores/online-store.js'),
    import('../stores/sql-client.js'),
    import('../stores/dir-lock.js'),
  ]);
  const dirs: [string, string][] = [];
  if (online !== undefined) {
    const s = parseOnlineSpec(online, '--online');
    if (s.kind === 'embedded') dirs.push([s.dir, '--online: store dir']);
  }
  if (offline !== undefined) {
    const s = parseOfflineSpec(offline, '--offline');
    if (s.kind === 'embedded') dirs.push([s.dir, '--offline: store dir']);
  }
  for (const [dir, what] of dirs) if (existsSync(dir)) lockDir(dir, what).release();
}

/**
 * When every embedded store the replay writes is held by one running `serve` that takes pushes
 * (src/stores/push.ts), a sink that writes through it, and only embedded stores are named; else
 * null (the stores are opened as usual, or {@link checkEmbeddedFree} says who holds them).
 */
async function pushSinkOf(
  online: string | undefined,
  offline: string | undefined,
  topology: string,
): Promise<import('../runtime/sink.js').RowSink | null> {
  const [{ parseOnlineSpec }, { parseOfflineSpec }, { findPushEndpoint, PushSink }] = await Promise.all([
    import('../stores/online-store.js'),
    import('../stores/sql-client.js'),
    import('../stores/push.js'),
  ]);
  const targets: { target: 'online' | 'offline'; dir: string }[] = [];
  if (online !== undefined) {
    const s = parseOnlineSpec(online, '--online');
    if (s.kind !== 'embedded') return null;
    targets.push({ target: 'online', dir: s.dir });
  }
  if (offline !== undefined) {
    const s = parseOfflineSpec(offline, '--offline');
    if (s.kind !== 'embedded') return null;
    targets.push({ target: 'offline', dir: s.dir });
  }
  const found = targets.map((t) => findPushEndpoint(t.dir));
  const first = found[0];
  if (first === undefined || first === null || found.some((f) => f?.url !== first.url)) return null;
  process.stderr.write(
    `note: ${targets.map((t) => t.dir).join(' and ')} ${targets.length > 1 ? 'are' : 'is'} held by featurestream serve pid ${first.pid}: writing through it (${first.url})\n`,
  );
  return new PushSink(
    first,
    topology,
    targets.map((t) => t.target),
  );
}

/** `--input FILE|DIR`, or `--kafka B --topic T` (exactly one). */
function replaySource(o: Record<string, unknown>): string | KafkaReplaySource {
  const input = o.input as string | undefined;
  const kafka = o.kafka as string | undefined;
  if ((input === undefined) === (kafka === undefined)) {
    throw new ConfigError('replay reads from exactly one of --input FILE|DIR or --kafka BROKERS --topic T', {
      field: '--input',
    });
  }
  if (input !== undefined) {
    for (const f of ['topic', 'schemaRegistry'] as const) {
      if (o[f] !== undefined)
        throw new ConfigError(`--${f === 'topic' ? 'topic' : 'schema-registry'} needs --kafka`, {
          field: '--kafka',
        });
    }
    return input;
  }
  const brokers = kafka!
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0 || brokers.some((b) => !/^[^:\s]+:\d+$/.test(b)))
    throw new ConfigError(`--kafka must be HOST:PORT[,HOST:PORT…], got "${kafka}"`, { field: '--kafka' });
  const topic = (o.topic as string | undefined)?.trim();
  if (topic === undefined || topic === '')
    throw new ConfigError('--topic is required with --kafka', { field: '--topic' });
  return {
    brokers,
    topic,
    format: o.format as PayloadFormat,
    schemaRegistry: (o.schemaRegistry as string | undefined) ?? null,
  };
}

/**
 * Adds `replay --topology T --input FILE|DIR --from T1 --to T2 --feature-version N [--online URL]
 * [--offline URL] [--out FILE] [--state-dir D] [--dry-run]` to the command line: reprocesses
 * `[T1, T2)` into version N beside the live version. The heavy modules load only when it runs.
 *
 * @example
 * registerReplayCommand(program, topologyByName);
 */
export function registerReplayCommand(program: Command, topologyByName: (name: string) => Topology): void {
  program
    .command('replay')
    .description(
      'Reprocess the events with event time in [--from, --to) into a new feature version beside the live one.\n' +
        'Reads from --from minus the largest window + lateness, so every window ending in the range is\n' +
        'complete, and writes only the windows that end inside the range. Resumable: after a kill, run the\n' +
        'same command with the same --state-dir.',
    )
    .option('--topology <name>', 'topology to run', 'llm-features')
    .option(
      '--input <file|dir>',
      `NDJSON events (plain or .gz), or a directory of them read in name order (default: ${DEFAULT_EVENTS}, the embedded default's, when it exists)`,
    )
    .option('--kafka <brokers>', 'read from Kafka instead: bootstrap servers (HOST:PORT,…)')
    .option('--topic <topic>', 'with --kafka: the source topic')
    .addOption(
      new Option(
        '--format <format>',
        'with --kafka: payload format (auto: schema-registry framed if byte 0 is 0)',
      )
        .choices(['auto', 'json', 'registry'])
        .default('auto'),
    )
    .option('--schema-registry <url>', 'with --kafka: Confluent schema registry for framed payloads')
    .addOption(
      new Option('--from <time>', 'range start, inclusive (RFC 3339, date or ms)')
        .argParser(instant('--from'))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--to <time>', 'range end, exclusive (RFC 3339, date or ms)')
        .argParser(instant('--to'))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--feature-version <n>', 'the version to write (beside the live one)')
        .argParser(positiveInt('--feature-version'))
        .makeOptionMandatory(),
    )
    .option(
      '--online <url>',
      'online store: redis://HOST:PORT[/DB] or embedded[:DIR] (with none of --online, --offline, --out: embedded)',
    )
    .option(
      '--offline <url>',
      'offline store: postgres://USER@HOST:PORT/DB or embedded[:DIR] (with none of --online, --offline, --out: embedded)',
    )
    .option('--out <file>', 'also write the replayed rows as NDJSON')
    .option(
      '--state-dir <dir>',
      'scan output and checkpoints; the same dir resumes a killed replay (default: temporary)',
    )
    .option('--fresh', 'delete any previous state in --state-dir first', false)
    .option('--dry-run', 'print what would be read and written, and exit', false)
    .option('--embedding-cache <dir>', 'persistent cache of prompt embeddings', '.featurestream/embeddings')
    .addOption(
      new Option('--workers <n>', 'worker threads')
        .argParser(positiveInt('--workers'))
        .default(Math.min(4, availableParallelism())),
    )
    .addOption(
      new Option('--shards <n>', 'shards (units of state)').argParser(positiveInt('--shards')).default(8),
    )
    .addOption(
      new Option('--checkpoint-interval <ms>', 'milliseconds between checkpoints')
        .argParser(nonNegativeInt('--checkpoint-interval'))
        .default(2000),
    )
    .addOption(
      new Option('--batch-lines <n>', 'events per batch of the run').argParser(positiveInt('--batch-lines')),
    )
    .option('--summary-json', 'print the summary as one JSON line', false)
    .addOption(
      new Option('--log-level <level>', 'log level (logs go to stderr)')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('warn'),
    )
    .addHelpText(
      'after',
      '\nExample:\n' +
        '  featurestream replay --topology llm-features --input events.ndjson.gz \\\n' +
        '      --from 2025-01-15T10:00:00Z --to 2025-01-15T14:00:00Z --feature-version 2 \\\n' +
        '      --offline postgres://postgres@127.0.0.1:5432/test --state-dir .replay-v2\n' +
        '  featurestream diff --offline postgres://postgres@127.0.0.1:5432/test --group perf_5min \\\n' +
        '      --versions 1,2 --from 2025-01-15T10:00:00Z --to 2025-01-15T14:00:00Z',
    )
    .action(async (o) => {
      const topology = topologyByName(o.topology as string);
      const { describeReplay, runReplay } = await import('../replay/replay.js');
      if (o.to <= o.from) throw new ConfigError('--to must be after --from', { field: '--to' });
      // The embedded default's stream and stores, when nothing else is named (the journey after
      // `featurestream run`): replay needs no arguments but the range and the version.
      if (o.input === undefined && o.kafka === undefined && existsSync(DEFAULT_EVENTS))
        o.input = DEFAULT_EVENTS;
      if (o.online === undefined && o.offline === undefined && o.out === undefined) {
        o.online = 'embedded';
        o.offline = 'embedded';
      }
      const input = replaySource(o);
      if (o.dryRun) {
        let described: Parameters<typeof describeReplay>[1];
        if (typeof input === 'string') described = input;
        else {
          const { kafkaScanPlan } = await import('../replay/kafka-scan.js');
          const { replayPlan } = await import('../replay/plan.js');
          const seekAt = replayPlan(topology, o.from, o.to).seekAt;
          described = { source: input, partitions: await kafkaScanPlan(input, seekAt) };
        }
        process.stdout.write(
          describeReplay(topology, described, o.from, o.to, o.featureVersion, {
            online: o.online,
            offline: o.offline,
            out: o.out ?? null,
          }),
        );
        return;
      }
      // Embedded stores a `serve` holds are written through it; held by anything else, the
      // replay fails now, not after the scan.
      const pushed = await pushSinkOf(
        o.online as string | undefined,
        o.offline as string | undefined,
        topology.name,
      );
      if (pushed === null)
        await checkEmbeddedFree(o.online as string | undefined, o.offline as string | undefined);
      const { eventProgress } = await import('../replay/progress.js');
      const { pino } = await import('pino');
      const logger = pino({ level: o.logLevel as string }, pino.destination(2));
      const tty = process.stderr.isTTY === true;
      const s = await runReplay({
        topology,
        input,
        from: o.from,
        to: o.to,
        featureVersion: o.featureVersion,
        ...(o.online === undefined || pushed !== null ? {} : { online: o.online }),
        ...(o.offline === undefined || pushed !== null ? {} : { offline: o.offline }),
        ...(pushed === null ? {} : { sinks: [pushed] }),
        out: o.out ?? null,
        stateDir: o.stateDir ?? null,
        fresh: o.fresh,
        workers: o.workers,
        shards: o.shards,
        checkpointIntervalMs: o.checkpointInterval,
        ...(o.batchLines === undefined ? {} : { batchLines: o.batchLines }),
        providerOptions: (await import('../domains/llm/plugin.js')).promptEmbeddingOptions({
          cache: o.embeddingCache,
        }),
        logger,
        progress: (phase) => eventProgress(phase === 'scan' ? 'replay: scan' : 'replay: run', tty),
      });
      if (o.summaryJson) {
        process.stdout.write(`${JSON.stringify({ topology: topology.name, ...s })}\n`);
        return;
      }
      const r = s.run;
      const detail = (rec: Record<string, number>) =>
        Object.entries(rec)
          .sort()
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', ');
      process.stdout.write(
        [
          `featurestream replay — topology ${topology.name} → version ${s.version}${r.alreadyComplete ? ' (already complete: nothing to do)' : ''}`,
          `  range          [${new Date(s.plan.from).toISOString()}, ${new Date(s.plan.to).toISOString()})`,
          `  read from      ${new Date(s.plan.readFrom).toISOString()} (largest window + lateness before the range)`,
          ...(s.kafka === undefined
            ? []
            : [
                `  kafka          group ${s.kafka.group} (no offsets committed); ${s.kafka.partitions
                  .map((p) => `p${p.partition} [${p.start}, ${p.end})`)
                  .join(', ')}`,
              ]),
          `  scanned        ${fmt(s.scan.linesRead)} lines, kept ${fmt(s.scan.linesKept)}${s.scan.stoppedEarly ? ' (stopped once the range was settled)' : ''}${s.scan.resumed ? ' (scan reused)' : ''}`,
          `  events         ${fmt(r.eventsRead)}`,
          `  late events    ${fmt(r.lateEvents)}`,
          `  rows written   ${fmt(r.rowsWritten)} (${detail(r.rowsByGroup)})`,
          `  checkpoints    ${fmt(r.checkpoints)}${r.resumedFrom === null ? '' : ` (resumed from checkpoint ${r.resumedFrom})`}`,
          `  seconds        ${r.seconds.toFixed(2)}`,
          `  events/s       ${fmt(r.eventsPerSecond)}`,
          '',
        ].join('\n'),
      );
    });
}
