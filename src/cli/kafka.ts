import { runTopology } from './run-topology.js';
import type { EmbedderName } from '../domains/llm/features/embeddings/models.js';
import { kafkaDeadLetterPolicy } from './bad-input.js';
import { type Command, Option } from 'commander';
import type { Logger } from 'pino';
import { nonNegativeInt as nonNegative, positiveInt as positive } from '../shared/flags.js';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../connectors/kafka/payload-formats.js';
import { ConfigError } from '../shared/errors.js';
import type { KafkaJobOptions, KafkaRunSummary } from '../runtime/kafka/job.js';

/**
 * The Kafka flags of `featurestream run`. The contract:
 *
 * ```
 * featurestream run --topology llm-features --kafka BROKERS --topic T --group G [--offline URL]
 *     [--online URL] [--state-dir DIR] [--checkpoint-interval MS] [--stop-at-end]
 * ```
 *
 * With `--kafka`, `--out`, `--dead-letters` and `--late-events` name *folders* of per-shard
 * NDJSON files (`shard-007.ndjson`; each shard's file is exactly once across crashes and
 * takeovers), `--shards` is the partition count of the repartition and changelog topics when
 * they are created, `--workers` sizes the same worker pool as a file run's (decode and the
 * stateless chains on any worker, shard actors pinned), and `--input`, `--batch-lines` and
 * `--fresh` do not apply.
 *
 * SIGTERM / SIGINT: finish the current batch, checkpoint, leave the group, exit 0.
 *
 * @example
 * // in src/cli.ts, on the existing `run` command:
 * registerKafkaOptions(runCommand);
 * // in its action, before the file path:
 * if (o.kafka !== undefined) { await runKafkaCommand(o, logger); return; }
 */
export function registerKafkaOptions(cmd: Command): Command {
  return cmd
    .option('--kafka <brokers>', 'read from Kafka: bootstrap servers, comma-separated (HOST:PORT,…)')
    .option('--topic <topic>', 'with --kafka: the source topic (e.g. feedback-events)')
    .option('--group <group>', 'with --kafka: consumer group id; also names the internal topics')
    .option(
      '--topic-key <attr>',
      'with --kafka: attribute the topic is keyed by; stages keyed otherwise repartition',
      'id',
    )
    .addOption(
      new Option(
        '--format <format>',
        'with --kafka: payload format (auto: schema-registry framed if byte 0 is 0)',
      )
        .choices([...PAYLOAD_FORMATS])
        .default('auto'),
    )
    .option(
      '--schema-registry <url>',
      'with --kafka: Confluent schema registry for framed Avro / JSON Schema',
    )
    .option('--output-topic <topic>', 'with --kafka: also write feature rows to this topic (keyed by entity)')
    .option('--dead-letter-topic <topic>', 'with --kafka: also send dead letters here (reason in headers)')
    .option('--stop-at-end', 'with --kafka: process up to the end offsets seen at start, then exit', false)
    .addOption(
      new Option(
        '--idle-timeout <ms>',
        'with --kafka: leave a silent source partition out of the watermark',
      ).argParser(nonNegative('--idle-timeout')),
    )
    .addOption(
      new Option('--session-timeout <ms>', 'with --kafka: consumer group session timeout')
        .argParser(positive('--session-timeout'))
        .default(30_000),
    )
    .addOption(
      new Option('--heartbeat-interval <ms>', 'with --kafka: consumer heartbeat interval')
        .argParser(positive('--heartbeat-interval'))
        .default(3000),
    )
    .addOption(
      new Option('--fetch-max-wait <ms>', 'with --kafka: how long a fetch waits for data')
        .argParser(positive('--fetch-max-wait'))
        .default(500),
    )
    .addOption(
      new Option('--fetch-max-bytes <n>', 'with --kafka: bytes fetched per partition per request')
        .argParser(positive('--fetch-max-bytes'))
        .default(1 << 20),
    )
    .addOption(
      new Option(
        '--max-repartition-lag <frames>',
        'with --kafka: pause reading the source while a shard is this many frames behind',
      )
        .argParser(positive('--max-repartition-lag'))
        .default(64),
    )
    .addOption(
      new Option(
        '--repartition-compression <codec>',
        'with --kafka: compression of the internal repartition topic (none: less CPU; gzip: fewer bytes)',
      )
        .choices(['none', 'gzip'])
        .default('none'),
    )
    .addOption(
      new Option(
        '--metrics-port <port>',
        'serve /metrics, /healthz and /readyz (file runs: while the run lasts)',
      ).argParser(nonNegative('--metrics-port')),
    );
}

/** The parsed flags `runKafkaCommand` reads (commander's camel-cased names). */
export interface KafkaCommandFlags {
  readonly topology?: string;
  /** `--plugin`: user-function modules (docs/topology-files.md). */
  readonly plugin?: readonly string[];
  readonly kafka?: string;
  readonly topic?: string;
  readonly group?: string;
  readonly topicKey?: string;
  readonly format?: string;
  readonly schemaRegistry?: string;
  readonly outputTopic?: string;
  readonly deadLetterTopic?: string;
  readonly stopAtEnd?: boolean;
  readonly idleTimeout?: number;
  readonly sessionTimeout?: number;
  readonly heartbeatInterval?: number;
  readonly fetchMaxWait?: number;
  readonly fetchMaxBytes?: number;
  readonly maxRepartitionLag?: number;
  readonly repartitionCompression?: 'none' | 'gzip';
  readonly metricsPort?: number;
  /** `--ui-port`: this member serves the topology page (src/ui/kafka-feed.ts). */
  readonly uiPort?: number;
  readonly out?: string;
  readonly deadLetters?: string;
  readonly lateEvents?: string;
  readonly stateDir?: string;
  readonly checkpointInterval?: number;
  readonly shards?: number;
  readonly online?: string;
  readonly offline?: string;
  readonly embeddingCache?: string;
  readonly summaryJson?: boolean;
  readonly workers?: number;
  readonly featureVersion?: number;
  /** The prompt embedder (`--embedder`), as for file runs. */
  readonly embedder?: string;
  /** `--max-dead-letter-share`, `--dead-letter-window`: the opt-in bad-input stop (src/cli/bad-input.ts). */
  readonly maxDeadLetterShare?: number;
  readonly deadLetterWindow?: number;
}

/** Checks the flags and turns them into job options (ConfigError naming the flag on a bad one). */
export async function kafkaJobOptions(
  o: KafkaCommandFlags,
  logger: Logger,
): Promise<Omit<KafkaJobOptions, 'rowSinks'>> {
  // The topology modules load here, not when the flags are registered (`--help` stays light).
  const { openTopology } = await import('../../topology/index.js');
  const need = (v: string | undefined, flag: string): string => {
    if (v === undefined || v.trim() === '')
      throw new ConfigError(`${flag} is required with --kafka`, { field: flag });
    return v.trim();
  };
  const brokers = need(o.kafka, '--kafka')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  for (const b of brokers) {
    if (!/^[^:\s]+:\d+$/.test(b))
      throw new ConfigError(`--kafka: "${b}" is not HOST:PORT`, { field: '--kafka' });
  }
  // A shipped name or a topology file, with the `--plugin`s and the file's own plugins loaded here
  // and, from the paths the topology carries, in every pool worker (as for file runs).
  const topology = await openTopology(o.topology ?? 'llm-features', o.plugin ?? []);
  const format = (o.format ?? 'auto') as PayloadFormat;
  if (!PAYLOAD_FORMATS.includes(format)) {
    throw new ConfigError(`--format must be one of ${PAYLOAD_FORMATS.join(', ')}, got "${o.format}"`, {
      field: '--format',
    });
  }
  return {
    topology: await runTopology(topology, o),
    ...(o.workers === undefined ? {} : { workers: o.workers }),
    brokers,
    topic: need(o.topic, '--topic'),
    group: need(o.group, '--group'),
    topicKey: o.topicKey ?? 'id',
    ...(o.shards === undefined ? {} : { shards: o.shards }),
    stateDir: o.stateDir ?? null,
    out: o.out ?? null,
    deadLetters: o.deadLetters ?? null,
    lateEvents: o.lateEvents ?? null,
    outputTopic: o.outputTopic ?? null,
    deadLetterTopic: o.deadLetterTopic ?? null,
    format,
    schemaRegistry: o.schemaRegistry ?? null,
    checkpointIntervalMs: o.checkpointInterval ?? 2000,
    stopAtEnd: o.stopAtEnd === true,
    ...(o.idleTimeout === undefined ? {} : { idleTimeoutMs: o.idleTimeout }),
    sessionTimeoutMs: o.sessionTimeout ?? 30_000,
    heartbeatIntervalMs: o.heartbeatInterval ?? 3000,
    maxWaitTimeMs: o.fetchMaxWait ?? 500,
    maxBytesPerPartition: o.fetchMaxBytes ?? 1 << 20,
    maxRepartitionLag: o.maxRepartitionLag ?? 64,
    repartitionCompression: o.repartitionCompression ?? 'none',
    metricsPort: o.metricsPort ?? null,
    providerOptions: (await import('../domains/llm/plugin.js')).promptEmbeddingOptions({
      cache: o.embeddingCache ?? null,
      ...(o.embedder === undefined ? {} : { model: o.embedder as EmbedderName }),
    }),
    deadLetterPolicy: kafkaDeadLetterPolicy(o),
    logger,
  };
}

/**
 * Runs `featurestream run --kafka …` from parsed flags: opens the store sinks (`--online`,
 * `--offline`), runs the job until the end of a bounded run (`--stop-at-end`) or SIGTERM/SIGINT
 * (graceful: finish the batch, checkpoint, leave the group), and prints the summary (one JSON
 * line with `--summary-json`).
 */
export async function runKafkaCommand(o: KafkaCommandFlags, logger: Logger): Promise<KafkaRunSummary> {
  const base = await kafkaJobOptions(o, logger);
  // Loaded here so that registering the Kafka flags costs `--help` nothing.
  const [{ openSinks }, { runKafkaJob }, { featureSet }] = await Promise.all([
    import('../stores/open-sinks.js'),
    import('../runtime/kafka/job.js'),
    import('../registry/feature-set.js'),
  ]);
  const rowSinks = await openSinks(
    o.online,
    o.offline,
    base.topology.name,
    logger,
    featureSet(base.topology),
  );
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    logger.info({ signal: sig }, 'stopping: finishing the batch, checkpointing, leaving the group');
    abort.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const ui =
    o.uiPort === undefined
      ? null
      : await (await import('../ui/kafka-feed.js')).startKafkaUi(base.topology, o.uiPort, {
          group: base.group,
          topic: base.topic,
          workers: base.workers ?? 1,
        });
  if (ui !== null) process.stderr.write(`topology page: http://127.0.0.1:${ui.server.port}/\n`);
  try {
    const summary = await runKafkaJob({
      ...base,
      rowSinks,
      signal: abort.signal,
      ...(ui === null ? {} : { metrics: ui.metrics, onAssignment: ui.onAssignment }),
    });
    printKafkaSummary(base.topology.name, summary, o.summaryJson === true);
    return summary;
  } finally {
    await ui?.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** Prints a run summary to stdout (human or one JSON line). */
export function printKafkaSummary(topology: string, s: KafkaRunSummary, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ topology, ...s })}\n`);
    return;
  }
  const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const detail = (r: Record<string, number>) => {
    const parts = Object.entries(r)
      .sort()
      .map(([k, v]) => `${k} ${fmt(v)}`);
    return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
  };
  const lines = [
    `featurestream run --kafka — topology ${topology}, ${s.mode}, ${s.shards} shards, stopped by ${s.stoppedBy}`,
    `  events read    ${fmt(s.eventsRead)} (this process)`,
    `  dead letters   ${fmt(s.deadLetters)}${detail(s.deadLettersByReason)}`,
    `  late events    ${fmt(s.lateEvents)}${detail(s.lateByWindow)}`,
    `  invalid values ${fmt(Object.values(s.invalidValues).reduce((a, b) => a + b, 0))}${detail(s.invalidValues)}`,
    `  rows written   ${fmt(s.rowsWritten)}${detail(s.rowsByGroup)}`,
    `  checkpoints    ${fmt(s.checkpoints)}`,
    `  restored       ${fmt(s.restoredShards)} shards, ${fmt(s.rebalances)} rebalances`,
    `  seconds        ${s.seconds.toFixed(2)}`,
    `  events/s       ${fmt(s.eventsPerSecond)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
