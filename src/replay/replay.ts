import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Topology } from '../../topology/nodes.js';
import { withFeatureVersion } from '../../topology/versioned.js';
import { ConfigError } from '../errors.js';
import { formatTimestamp } from '../events/timestamp.js';
import { type RunSummary, runJob } from '../runtime/coordinator.js';
import { openSinks } from '../runtime/open-sinks.js';
import { type ReplayPlan, replayPlan } from './plan.js';
import type { EventProgress } from './progress.js';
import { type ReplayInput, replayInputs, scanInputs } from './scan.js';

/** What `featurestream replay` does. */
export interface ReplayOptions {
  readonly topology: Topology;
  /** An NDJSON file (plain or .gz) or a directory of them. */
  readonly input: string;
  readonly from: number;
  readonly to: number;
  readonly featureVersion: number;
  readonly online?: string;
  readonly offline?: string;
  /** Feature rows written by the replay as NDJSON, or null. */
  readonly out: string | null;
  /** Scan output and run state; the same dir resumes a killed replay. Null: a temporary dir. */
  readonly stateDir: string | null;
  readonly fresh?: boolean;
  readonly workers: number;
  readonly shards: number;
  readonly checkpointIntervalMs: number;
  readonly embeddingCache?: string | null;
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
  readonly run: RunSummary;
}

interface Manifest {
  readonly version: 1;
  readonly topology: string;
  readonly featureVersion: number;
  readonly from: number;
  readonly to: number;
  readonly inputs: readonly ReplayInput[];
  readonly scan?: { linesRead: number; linesKept: number; stoppedEarly: boolean };
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
  const inputs = replayInputs(opts.input).map((i) => ({ ...i, path: resolve(i.path) }));
  const temporary = opts.stateDir === null;
  const dir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'featurestream-replay-'));
  if (opts.fresh === true) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
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
  try {
    let scan = manifest?.scan;
    const resumed = scan !== undefined && existsSync(eventsPath);
    if (!resumed) {
      const total = inputs.reduce((n, i) => n + i.bytes, 0);
      const bar = opts.progress?.('scan');
      scan = await scanInputs(inputs, eventsPath, plan.readFrom, plan.stopAt, (bytes, lines) =>
        bar?.update(bytes, total, lines),
      );
      bar?.update(total, total, scan.linesRead);
      bar?.done();
      writeFileSync(manifestPath, `${JSON.stringify({ ...job, scan })}\n`);
    }
    opts.logger.info({ ...scan, eventsPath }, 'replay scan');
    const topology = withFeatureVersion(opts.topology, opts.featureVersion);
    const sinks = await openSinks(opts.online, opts.offline, topology.name, opts.logger);
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
      logger: opts.logger,
      sinks,
      embeddingCache: opts.embeddingCache ?? null,
      rowFilter: (row) => row.eventTime >= plan.from && row.eventTime < plan.to,
      ...(bar === undefined ? {} : { onProgress: (b, t, lines) => bar.update(b, t, lines) }),
    });
    bar?.done();
    return {
      plan,
      version: opts.featureVersion,
      inputs,
      scan: { ...scan!, resumed },
      run,
    };
  } finally {
    if (temporary) rmSync(dir, { recursive: true, force: true });
  }
}

/** The dry run's account: what a replay would read and write. */
export function describeReplay(
  topology: Topology,
  input: string,
  from: number,
  to: number,
  featureVersion: number,
  targets: { online?: string; offline?: string; out?: string | null },
): string {
  const plan = replayPlan(topology, from, to);
  const inputs = replayInputs(input);
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  const t = formatTimestamp;
  const dur = (ms: number) => `${(ms / 60_000).toFixed(ms % 60_000 === 0 ? 0 : 2)} min`;
  const lines = [
    `replay ${topology.name} → version ${featureVersion} (dry run: nothing is read or written)`,
    `  range         [${t(from)}, ${t(to)})`,
    `  reads         events with event time ≥ ${t(plan.readFrom)} (range start − ${dur(plan.margin)}: largest window + lateness)`,
    `  stops         at the first event with event time ≥ ${t(plan.stopAt)} (every window ending by ${t(to)} is final)`,
    `  inputs        ${inputs.length} file${inputs.length === 1 ? '' : 's'}, ${mb(inputs.reduce((n, i) => n + i.bytes, 0))}`,
    ...inputs.map((i) => `                ${i.path} (${mb(i.bytes)})`),
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
