import { schemaDecoder } from '../../operators/schemas.js';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Topology } from '../../topology/nodes.js';
import { withFeatureVersion } from '../../topology/versioned.js';
import { ConfigError } from '../shared/errors.js';
import { formatTimestamp } from '../shared/timestamp.js';
import { type RunSummary, runJob } from '../runtime/coordinator.js';
import type { RowSink } from '../runtime/sink.js';
import { openSinks } from '../stores/open-sinks.js';
import { featureSet } from '../registry/feature-set.js';
import { LOCK_FILE, lockDir } from '../stores/dir-lock.js';
import type { KafkaReplaySource, KafkaScanPartition } from './kafka-scan.js';
import { type ReplayPlan, replayPlan } from './plan.js';
import type { EventProgress } from './progress.js';
import { type ReplayInput, replayInputs, scanInputs } from './scan.js';

/** What `featurestream replay` does. */
export interface ReplayOptions {
  readonly topology: Topology;
  /** An NDJSON file (plain or .gz) or a directory of them; or a Kafka topic. */
  readonly input: string | KafkaReplaySource;
  readonly from: number;
  readonly to: number;
  readonly featureVersion: number;
  readonly online?: string;
  readonly offline?: string;
  /** Sinks to write instead of opening `online` / `offline` (a running `serve`'s push path). */
  readonly sinks?: readonly RowSink[];
  /** Feature rows written by the replay as NDJSON, or null. */
  readonly out: string | null;
  /** Scan output and run state; the same dir resumes a killed replay. Null: a temporary dir. */
  readonly stateDir: string | null;
  readonly fresh?: boolean;
  readonly workers: number;
  readonly shards: number;
  readonly checkpointIntervalMs: number;
  /** Lines per batch of the run (default: the run's). */
  readonly batchLines?: number;
  /** The run's provider options (see `RunOptions.providerOptions`). */
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly logger: Logger;
  /** Progress of the scan and of the run (bytes, total, events). */
  readonly progress?: (phase: 'scan' | 'run') => EventProgress;
}

/** What a replay did. */
export interface ReplaySummary {
  readonly plan: ReplayPlan;
  readonly version: number;
  readonly inputs: readonly ReplayInput[];
  readonly scan: { linesRead: number; linesKept: number; stoppedEarly: boolean; resumed: boolean };
  /** From Kafka: the offsets read per partition and the replay's own consumer group. */
  readonly kafka?: { readonly partitions: readonly KafkaScanPartition[]; readonly group: string };
  readonly run: RunSummary;
}

interface Manifest {
  readonly version: 1;
  readonly topology: string;
  readonly featureVersion: number;
  readonly from: number;
  readonly to: number;
  readonly inputs: readonly ReplayInput[];
  readonly scan?: {
    linesRead: number;
    linesKept: number;
    stoppedEarly: boolean;
    kafka?: { partitions: readonly KafkaScanPartition[]; group: string };
  };
}

const sameJob = (a: Manifest, b: Manifest) =>
  a.topology === b.topology &&
  a.featureVersion === b.featureVersion &&
  a.from === b.from &&
  a.to === b.to &&
  JSON.stringify(a.inputs) === JSON.stringify(b.inputs);

/**
 * Reprocesses the events with event time in `[from, to)` into feature version
 * `featureVersion`, beside the live version: scans the input for the events the range needs
 * (see {@link replayPlan}), then runs the topology over them with the run's checkpointed
 * runtime, writing only the rows whose windows end inside the range.
 *
 * Resumable: the scan lands in the state dir atomically with a manifest of the job, and the run
 * checkpoints there like `featurestream run`; after a kill the same command skips a finished
 * scan and resumes the run from its last checkpoint (the stores' idempotent writes make the
 * rows exactly once). A state dir of another job (topology, version, range, inputs) is refused.
 *
 * @example
 * await runReplay({ topology: llmPerfTopology(), input: 'events.ndjson', from, to,
 *   featureVersion: 2, offline: 'postgres://…', out: null, stateDir: '.replay', workers: 2,
 *   shards: 8, checkpointIntervalMs: 2000, logger });
 */
export async function runReplay(opts: ReplayOptions): Promise<ReplaySummary> {
  const plan = replayPlan(opts.topology, opts.from, opts.to);
  const kafka = typeof opts.input === 'string' ? null : opts.input;
  const inputs =
    kafka === null
      ? replayInputs(opts.input as string).map((i) => ({ ...i, path: resolve(i.path) }))
      : [{ path: kafkaInputName(kafka), bytes: 0 }];
  const temporary = opts.stateDir === null;
  const dir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'featurestream-replay-'));
  mkdirSync(dir, { recursive: true });
  // One replay per state dir: a second one would interleave scans and checkpoints.
  const lock = lockDir(dir, '--state-dir: replay state dir');
  try {
    if (opts.fresh === true) {
      for (const n of readdirSync(dir))
        if (n !== LOCK_FILE) rmSync(join(dir, n), { recursive: true, force: true });
    }
    return await replayLocked(opts, plan, inputs, kafka, dir);
  } finally {
    lock.release();
    if (temporary) rmSync(dir, { recursive: true, force: true });
  }
}

/** How a Kafka source appears in the manifest (a state dir is for one topic on one cluster). */
const kafkaInputName = (k: KafkaReplaySource) => `kafka://${[...k.brokers].sort().join(',')}/${k.topic}`;

async function replayLocked(
  opts: ReplayOptions,
  plan: ReplayPlan,
  inputs: ReplayInput[],
  kafka: KafkaReplaySource | null,
  dir: string,
): Promise<ReplaySummary> {
  const manifestPath = join(dir, 'replay.json');
  const eventsPath = join(dir, 'replay-events.ndjson');
  const job: Manifest = {
    version: 1,
    topology: opts.topology.name,
    featureVersion: opts.featureVersion,
    from: opts.from,
    to: opts.to,
    inputs,
  };
  let manifest: Manifest | null = null;
  if (existsSync(manifestPath)) {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (!sameJob(manifest, job)) {
      throw new ConfigError(
        `--state-dir ${dir} holds another replay (topology ${manifest.topology} v${manifest.featureVersion}, ` +
          `${formatTimestamp(manifest.from)} – ${formatTimestamp(manifest.to)}); use another --state-dir or --fresh`,
        { field: '--state-dir' },
      );
    }
  } else {
    writeFileSync(manifestPath, `${JSON.stringify(job)}\n`);
  }
  let scan = manifest?.scan;
  const decodeNode = opts.topology.nodes.find((n) => n.kind === 'decode');
  if (decodeNode === undefined)
    throw new ConfigError(`topology ${opts.topology.name} has no decode node`, { field: '--topology' });
  const decode = schemaDecoder(decodeNode.schema);
  const resumed = scan !== undefined && existsSync(eventsPath);
  if (!resumed && kafka !== null) {
    const { scanKafka } = await import('./kafka-scan.js');
    const bar = opts.progress?.('scan');
    const k = await scanKafka(kafka, {
      out: eventsPath,
      readFrom: plan.readFrom,
      stopAt: plan.stopAt,
      seekAt: plan.seekAt,
      group: `featurestream-replay-${opts.topology.name}-v${opts.featureVersion}-${process.pid}-${Date.now()}`,
      logger: opts.logger,
      decode,
      ...(bar === undefined ? {} : { onProgress: (read, total) => bar.update(read, total, read) }),
    });
    bar?.done();
    scan = {
      linesRead: k.linesRead,
      linesKept: k.linesKept,
      stoppedEarly: k.stoppedEarly,
      kafka: { partitions: k.partitions, group: k.group },
    };
    writeFileSync(manifestPath, `${JSON.stringify({ ...job, scan })}\n`);
  } else if (!resumed) {
    const total = inputs.reduce((n, i) => n + i.bytes, 0);
    const bar = opts.progress?.('scan');
    scan = await scanInputs(inputs, eventsPath, plan.readFrom, plan.stopAt, decode, (bytes, lines) =>
      bar?.update(bytes, total, lines),
    );
    bar?.update(total, total, scan.linesRead);
    bar?.done();
    writeFileSync(manifestPath, `${JSON.stringify({ ...job, scan })}\n`);
  }
  opts.logger.info({ ...scan, eventsPath }, 'replay scan');
  const topology = withFeatureVersion(opts.topology, opts.featureVersion);
  const sinks = [
    ...(await openSinks(opts.online, opts.offline, topology.name, opts.logger, featureSet(topology))),
    ...(opts.sinks ?? []),
  ];
  const bar = opts.progress?.('run');
  const run = await runJob({
    topology,
    input: eventsPath,
    out: opts.out,
    deadLetters: null,
    lateEvents: null,
    stateDir: join(dir, 'run'),
    workers: opts.workers,
    shards: opts.shards,
    checkpointIntervalMs: opts.checkpointIntervalMs,
    ...(opts.batchLines === undefined ? {} : { batchLines: opts.batchLines }),
    logger: opts.logger,
    sinks,
    providerOptions: opts.providerOptions ?? {},
    rowFilter: (row) => row.eventTime >= plan.from && row.eventTime < plan.to,
    ...(bar === undefined ? {} : { onProgress: (b, t, lines) => bar.update(b, t, lines) }),
  });
  bar?.done();
  const { kafka: k, ...counts } = scan!;
  return {
    plan,
    version: opts.featureVersion,
    inputs,
    scan: { ...counts, resumed },
    ...(k === undefined ? {} : { kafka: k }),
    run,
  };
}

/** The dry run's account: what a replay would read and write. */
export function describeReplay(
  topology: Topology,
  input: string | { readonly source: KafkaReplaySource; readonly partitions: readonly KafkaScanPartition[] },
  from: number,
  to: number,
  featureVersion: number,
  targets: { online?: string; offline?: string; out?: string | null },
): string {
  const plan = replayPlan(topology, from, to);
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  const t = formatTimestamp;
  const dur = (ms: number) => `${(ms / 60_000).toFixed(ms % 60_000 === 0 ? 0 : 2)} min`;
  const lines = [
    `replay ${topology.name} → version ${featureVersion} (dry run: nothing is read or written)`,
    `  range         [${t(from)}, ${t(to)})`,
    `  reads         events with event time ≥ ${t(plan.readFrom)} (range start − ${dur(plan.margin)}: largest window + lateness)`,
    `  stops         at the first event with event time ≥ ${t(plan.stopAt)} (every window ending by ${t(to)} is final)`,
    ...inputLines(input, plan, mb),
    `  writes        rows of version ${featureVersion} whose window ends in (${t(from)}, ${t(to)}] (event_time in the range)`,
    ...plan.nodes.map(
      (n) =>
        `                ${n.group.padEnd(20)} ${n.id} (extent ${dur(n.extent)}, lateness ${dur(n.lateness)}, out-of-orderness ${dur(n.outOfOrderness)})`,
    ),
    `  to            ${[
      targets.offline === undefined ? null : `offline ${targets.offline}`,
      targets.online === undefined ? null : `online ${targets.online}`,
      targets.out == null ? null : `file ${targets.out}`,
    ]
      .filter((x) => x !== null)
      .join(', ')}`,
  ];
  return `${lines.join('\n')}\n`;
}

function inputLines(
  input: string | { readonly source: KafkaReplaySource; readonly partitions: readonly KafkaScanPartition[] },
  plan: ReplayPlan,
  mb: (n: number) => string,
): string[] {
  if (typeof input === 'string') {
    const inputs = replayInputs(input);
    return [
      `  inputs        ${inputs.length} file${inputs.length === 1 ? '' : 's'}, ${mb(inputs.reduce((n, i) => n + i.bytes, 0))}`,
      ...inputs.map((i) => `                ${i.path} (${mb(i.bytes)})`),
    ];
  }
  const total = input.partitions.reduce((n, p) => n + (BigInt(p.end) - BigInt(p.start)), 0n);
  return [
    `  kafka         topic ${input.source.topic} on ${input.source.brokers.join(',')}, own consumer group (no offsets committed)`,
    `  seeks         to the first message with timestamp ≥ ${formatTimestamp(plan.seekAt)} (read start − largest out-of-orderness), at most ${total} messages`,
    ...input.partitions.map(
      (p) =>
        `                partition ${p.partition}: offsets [${p.start}, ${p.end}) — ${BigInt(p.end) - BigInt(p.start)} messages`,
    ),
  ];
}
