import { addProviderStats, type ProviderStats } from '../../operators/providers.js';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { FeatureRow } from '../../operators/operator.js';
import type { Topology } from '../../topology/nodes.js';
import { planTopology } from '../../topology/plan.js';
import {
  type ByteBatch,
  type FilePosition,
  lineOf,
  readByteBatches,
  SharedBatchBuffers,
} from '../connectors/file-source.js';
import { ConfigError, type InputError, InternalError } from '../shared/errors.js';
import {
  type CheckpointRecord,
  clockRecord,
  readCheckpoint,
  restoreClock,
  writeCheckpoint,
} from './checkpoint-record.js';
import { SourceClock } from './source-clock.js';
import type { LateRef, ProcessChunk, ShardRequest, ShardResponse } from './protocol.js';
import type { RowSink } from './sink.js';
import { type OutputCounters, Outputs, windowGroupsOf } from './outputs.js';
import { columnBuffers, createShardPool } from './shard-pool.js';
import type { LiveObserver } from './observer.js';
import { featureRules } from '../../topology/feature-catalog.js';
import type { RowMonitor, RunObserver } from './observer.js';
import { type DeadLetterPolicy, deadLetterShareError, overShare } from './dead-letter-policy.js';

/** What a run reads, writes and how it is parallelised. */
export interface RunOptions {
  readonly topology: Topology;
  readonly input: string;
  /** Feature rows as NDJSON (the file sink), or null. */
  readonly out: string | null;
  readonly deadLetters: string | null;
  /** The late-data side output as NDJSON, or null (late events are still counted). */
  readonly lateEvents: string | null;
  /** LevelDB state and checkpoint record; null keeps state in memory (no restart). */
  readonly stateDir: string | null;
  readonly workers: number;
  readonly shards: number;
  readonly checkpointIntervalMs: number;
  readonly batchLines?: number;
  /** Delete any previous state in stateDir first. */
  readonly fresh?: boolean;
  readonly logger: Logger;
  /** Called about twice a second with the bytes and lines read so far (lines count from the file's start). */
  readonly onProgress?: (bytes: number, total: number, lines: number) => void;
  /**
   * Keeps only the rows for which this holds (all rows when absent): a replay writes only the
   * windows that end inside its range. Rows left out are neither counted nor written.
   */
  readonly rowFilter?: (row: FeatureRow) => boolean;
  /** A live view of the job (the web UI's metrics), or none. */
  readonly observer?: LiveObserver;
  /**
   * External sinks (online/offline stores, Kafka). Rows, dead letters and late records are
   * handed to them in batches and flushed before each checkpoint commits (exactly-once with
   * idempotent sinks); a slow or unavailable sink holds the input back.
   */
  readonly sinks?: readonly RowSink[];
  /** The run's options of each provider the topology's maps need, by provider name (`operators/providers.ts`). */
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Continuous drift (src/drift/monitor.ts): sees every validated row, and at each checkpoint
   * its drift rows join the output (group `drift`) and its alerts go to `driftAlerts`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a monitor of any alert type (its alerts go only to its own side output)
  readonly drift?: RowMonitor<any>;
  /** The drift alerts side output (NDJSON), or null. */
  readonly driftAlerts?: string | null;
  /** Prometheus metrics of the run (src/monitoring/run-metrics.ts). */
  readonly metrics?: RunObserver;
  /**
   * Stop (exit 1, after committing what was read) when dead letters are more than
   * `maxShare` of the first `window` lines or of the whole input (`dead-letter-policy.ts`);
   * absent or null: count them and go on.
   */
  readonly deadLetterPolicy?: DeadLetterPolicy | null;
}

/** What a run did. Counters are totals over the whole job, across restarts. */
export interface RunSummary {
  readonly eventsRead: number;
  readonly deadLetters: number;
  readonly deadLettersByReason: Record<string, number>;
  readonly lateEvents: number;
  readonly lateByWindow: Record<string, number>;
  readonly rowsWritten: number;
  readonly rowsByGroup: Record<string, number>;
  readonly checkpoints: number;
  /** Output values that failed their registry rule and were written as null, by `feature:reason`. */
  readonly invalidValues: Record<string, number>;
  /** Per provider: distinct keys resolved per batch, and how many a cache answered. */
  readonly provided: ProviderStats;
  /** The checkpoint this process resumed from, or null for a fresh start. */
  readonly resumedFrom: number | null;
  /** True when the state dir held a finished job and nothing was run. */
  readonly alreadyComplete: boolean;
  /** Seconds and events/s of this process. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /**
   * Milliseconds from the start of the process to the first event decoded by a worker and back
   * at the coordinator (start-up: module loading, the pool, opening state), or null when no event was read.
   */
  readonly firstEventMs: number | null;
}

interface Counters {
  eventsRead: number;
  deadLettersByReason: Record<string, number>;
  lateByWindow: Record<string, number>;
  rowsByGroup: Record<string, number>;
  invalidValues?: Record<string, number>;
  provided?: Record<string, { keys: number; cacheHits: number }>;
  /** Dead letters by reason among the first lines the dead-letter policy checks. */
  headDeadLettersByReason?: Record<string, number>;
}

interface RetainedBatch {
  readonly batch: ByteBatch;
  refs: number;
}

class ShardLink {
  chunks: ProcessChunk[] = [];
  pending = 0;
  inFlight: Promise<void> | null = null;
  sentClock = Number.NEGATIVE_INFINITY;
  covered: RetainedBatch[] = [];
  constructor(readonly shard: number) {}
}

/**
 * The coordinator: reads the source, decodes and runs the stateless chains, routes records by
 * key to shard actors on a piscina pool, writes what they fire to the sinks, and drives
 * aligned checkpoints.
 *
 * A checkpoint is an aligned barrier: the coordinator stops routing, lets every shard finish
 * the records sent before the barrier, asks each shard to write its changed state together
 * with the source position in one batch (phase 1), fsyncs the sink files, and then commits the
 * checkpoint record atomically (write + rename); shards fold their delta when told (phase 2).
 * After a crash, shards come back at the committed checkpoint, sink files are cut back to their
 * committed lengths, and the source resumes at the committed position: every row ends up in the
 * sinks exactly once.
 */
export async function runJob(opts: RunOptions): Promise<RunSummary> {
  const log = opts.logger;
  const plan = planTopology(opts.topology);
  const rules = featureRules(opts.topology);
  const runId = `${process.pid}-${Date.now()}`;
  const started = performance.now();
  let firstEventMs: number | null = null;
  if (!existsSync(opts.input))
    throw new ConfigError(`--input: no such file: ${opts.input}`, { field: '--input' });
  const totalBytes = statSync(opts.input).size;

  let record: CheckpointRecord | null = null;
  if (opts.stateDir !== null) {
    if (opts.fresh === true) rmSync(opts.stateDir, { recursive: true, force: true });
    mkdirSync(opts.stateDir, { recursive: true });
    record = readCheckpoint(opts.stateDir);
    if (record !== null) {
      if (record.topology !== opts.topology.name) {
        throw new ConfigError(
          `--state-dir holds a checkpoint of topology "${record.topology}", not "${opts.topology.name}" (use another --state-dir or --fresh)`,
          { field: '--state-dir' },
        );
      }
      if (record.shards !== opts.shards) {
        throw new ConfigError(
          `--shards must stay ${record.shards} for the state in --state-dir (got ${opts.shards}); the key→shard mapping depends on it`,
          { field: '--shards' },
        );
      }
    }
  }
  const counters: Counters = record?.counters
    ? structuredClone(record.counters)
    : { eventsRead: 0, deadLettersByReason: {}, lateByWindow: {}, rowsByGroup: {} };
  counters.invalidValues ??= {};
  counters.provided ??= {};
  counters.headDeadLettersByReason ??= {};
  const headByReason = counters.headDeadLettersByReason;
  const policy = opts.deadLetterPolicy ?? null;
  const headLines = policy?.window ?? 0;
  const providedCounts = counters.provided;
  const sinks = opts.sinks ?? [];
  const source = resolve(opts.input);
  if (record?.done === true) {
    log.info({ checkpoint: record.id }, 'state dir holds a finished job: nothing to do');
    // The stores were opened for this run: close them, or an open Redis client keeps the process.
    await Promise.allSettled(sinks.map((sk) => sk.close()));
    return summarize(counters, 0, record.id, true, started, 0, null);
  }

  const resumedFrom = record === null ? null : record.id;
  const outputs = new Outputs({
    files: { out: opts.out, deadLetters: opts.deadLetters, lateEvents: opts.lateEvents },
    committed: record?.sinks ?? null,
    sinks,
    rules,
    counters: counters as Counters & OutputCounters,
    windowGroups: windowGroupsOf(opts.topology),
    ...(opts.rowFilter === undefined ? {} : { rowFilter: opts.rowFilter }),
    ...(opts.drift === undefined ? {} : { drift: opts.drift }),
  });
  // Continuous drift: state rebuilt from the committed rows; alerts rewritten from its drift rows.
  const driftAlerts = opts.drift === undefined ? null : opts.drift.openAlerts(opts, record !== null);
  const clock = new SourceClock(1);
  opts.metrics?.attach({ counters, clock: () => clock.current, offset: () => position.offset, totalBytes });
  if (record !== null) restoreClock(clock, record.clock, Date.now());
  let position: FilePosition = record?.position ?? { offset: 0, line: 0 };
  let checkpointId = record?.id ?? 0;
  let checkpoints = 0;
  const eventsAtStart = counters.eventsRead;
  if (resumedFrom !== null) {
    log.info(
      { checkpoint: resumedFrom, line: position.line, offset: position.offset },
      'resuming from checkpoint',
    );
  }

  const pool = createShardPool(opts.workers, opts.shards);
  const call = (req: ShardRequest, transferList?: ArrayBuffer[]): Promise<ShardResponse> =>
    pool.call(req, transferList);

  const links = Array.from({ length: opts.shards }, (_, s) => new ShardLink(s));
  const retained = new Map<number, RetainedBatch>();
  let failure: unknown = null;
  let inFlightRecords = 0;
  let pendingRecords = 0;

  const batchLines = opts.batchLines ?? 2048;
  /** The retained batch holding source line `n`, if any. */
  const batchOf = (n: number): RetainedBatch | undefined => {
    // Batches start at multiples of the batch size unless a restart changed it: try that first.
    const guess = retained.get(n - (n % batchLines));
    if (guess !== undefined && n < guess.batch.firstLine + guess.batch.count) return guess;
    for (const b of retained.values()) {
      if (n >= b.batch.firstLine && n < b.batch.firstLine + b.batch.count) return b;
    }
    return undefined;
  };
  // Batch memory: a released batch's bytes are read by no one any more, and hold the next one's.
  const buffers = new SharedBatchBuffers();
  const release = (b: RetainedBatch) => {
    if (--b.refs > 0) return;
    retained.delete(b.batch.firstLine);
    buffers.recycle(b.batch.bytes);
  };

  const rowsAsLines = outputs.rowsAsLines;
  const writeLate = (late: readonly LateRef[]) => {
    for (const [line, op, ts] of late) {
      outputs.late(op, () => {
        const batch = batchOf(line)?.batch;
        return {
          source,
          position: batch === undefined ? -1 : batch.offsets[line - batch.firstLine]!,
          line: line + 1,
          window: op,
          eventTime: ts,
          raw: batch === undefined ? null : lineOf(batch, line - batch.firstLine),
        };
      });
    }
  };

  const send = (link: ShardLink): void => {
    if (link.inFlight !== null || failure !== null) return;
    const now = clock.current;
    if (link.pending === 0 && now === link.sentClock) return;
    const chunks = link.chunks;
    link.chunks = [];
    const transfer = columnBuffers(chunks);
    const n = link.pending;
    const covered = link.covered;
    link.covered = [];
    link.pending = 0;
    pendingRecords -= n;
    inFlightRecords += n;
    link.sentClock = now;
    const sentAt = performance.now();
    link.inFlight = call(
      { type: 'process', shard: link.shard, chunks, endClock: now, now: Date.now(), rowsAsLines },
      transfer,
    ).then((res) => {
      if (res.type !== 'output')
        throw new InternalError(`shard ${link.shard} answered ${res.type} to process`);
      opts.metrics?.shardProcessed(link.shard, n, (performance.now() - sentAt) / 1000);
      if (res.lines === undefined) outputs.rows(res.rows);
      else outputs.lines(res.lines);
      writeLate(res.late);
      outputs.startSinkWrite();
      for (const b of covered) release(b);
      inFlightRecords -= n;
      link.inFlight = null;
      send(link);
    });
    link.inFlight.catch((err: unknown) => {
      failure ??= err;
    });
  };
  const anyInFlight = () => links.filter((l) => l.inFlight !== null).map((l) => l.inFlight!);
  const drain = async () => {
    for (;;) {
      for (const l of links) send(l);
      const busy = anyInFlight();
      if (failure !== null) throw failure;
      if (busy.length === 0) return;
      await Promise.allSettled(busy);
    }
  };

  const recordsByKeyBy: Record<string, number> | null = opts.observer === undefined ? null : {};
  if (recordsByKeyBy !== null) {
    opts.observer!.attach({
      workers: opts.workers,
      shards: opts.shards,
      stateDir: opts.stateDir,
      counters,
      recordsByKeyBy,
      clock: () => clock.current,
    });
  }

  const checkpoint = async (done: boolean) => {
    const t0 = performance.now();
    try {
      await checkpointOnce(done);
    } catch (err) {
      opts.metrics?.checkpoint((performance.now() - t0) / 1000, false);
      throw err;
    }
    opts.metrics?.checkpoint((performance.now() - t0) / 1000, true);
  };
  const checkpointOnce = async (done: boolean) => {
    const checkpointStarted = performance.now();
    await drain();
    if (opts.drift !== undefined) {
      const step = opts.drift.advance(done ? Number.POSITIVE_INFINITY : clock.current);
      outputs.rows(step.rows);
      driftAlerts?.(step.alerts);
    }
    const id = checkpointId + 1;
    const meta = { line: String(position.line), offset: String(position.offset), input: opts.input };
    await Promise.all(links.map((l) => call({ type: 'checkpoint', shard: l.shard, id, meta })));
    // Everything before the barrier is durable in the external sinks before the commit.
    await outputs.flush();
    const rec: CheckpointRecord = {
      version: 1,
      id,
      topology: opts.topology.name,
      shards: opts.shards,
      input: opts.input,
      position,
      clock: clockRecord(clock),
      sinks: outputs.commit(),
      counters,
      done,
    };
    if (opts.stateDir !== null) writeCheckpoint(opts.stateDir, rec);
    await Promise.all(links.map((l) => call({ type: 'commit', shard: l.shard, id })));
    checkpointId = id;
    checkpoints++;
    opts.observer?.checkpoint({ id, ms: performance.now() - checkpointStarted, done });
    log.debug({ checkpoint: id, line: position.line, done }, 'checkpoint committed');
  };

  try {
    const opened = await Promise.all(
      links.map((l) =>
        call({
          type: 'open',
          shard: l.shard,
          topology: opts.topology,
          location: opts.stateDir === null ? null : join(opts.stateDir, `shard-${l.shard}`),
          committedId: checkpointId,
        }),
      ),
    );
    for (const o of opened) {
      if (o.type !== 'opened') throw new InternalError(`shard answered ${o.type} to open`);
      if (resumedFrom !== null && o.meta.line !== String(position.line)) {
        throw new InternalError(
          `shard ${o.shard} restored position line ${o.meta.line}, the checkpoint record says ${position.line}`,
        );
      }
    }

    let lastCheckpoint = performance.now();
    let lastProgress = 0;
    const maxBuffered = 200_000;
    const maxDecoding = Math.max(4, opts.workers * 3);
    const decoding: Array<{ batch: ByteBatch; result: Promise<ShardResponse> }> = [];

    /** Takes the oldest decoded batch, in source order: dead letters, routing, clock, position. */
    const forwardNext = async () => {
      const { batch, result } = decoding.shift()!;
      const res = await result;
      if (res.type !== 'decoded') throw new InternalError(`decode answered ${res.type}`);
      if (failure !== null) throw failure;
      counters.eventsRead += res.events;
      if (firstEventMs === null && res.events > 0) firstEventMs = performance.now();
      for (const [i, reason, detail] of res.dl) {
        if (batch.firstLine + i < headLines) headByReason[reason] = (headByReason[reason] ?? 0) + 1;
        outputs.deadLetter(reason, () => ({
          source,
          line: batch.firstLine + i + 1,
          offset: batch.offsets[i]!,
          reason,
          detail,
          raw: lineOf(batch, i),
        }));
      }
      if (res.provided !== undefined) {
        addProviderStats(providedCounts, res.provided);
      }
      const retainedBatch: RetainedBatch = { batch, refs: 1 };
      retained.set(batch.firstLine, retainedBatch);
      const baseClock = clock.current;
      res.perShard.forEach((branches, s) => {
        if (branches === null) return;
        const link = links[s]!;
        let n = 0;
        for (let c = 0; c < branches.length; c++) {
          const count = branches[c]?.count ?? 0;
          n += count;
          if (recordsByKeyBy !== null && count > 0) {
            const k = plan.keyed[c]!.keyBy.id;
            recordsByKeyBy[k] = (recordsByKeyBy[k] ?? 0) + count;
          }
        }
        link.chunks.push({ branches, baseClock });
        link.pending += n;
        pendingRecords += n;
        link.covered.push(retainedBatch);
        retainedBatch.refs++;
      });
      if (res.maxTs > Number.NEGATIVE_INFINITY) clock.observe(0, res.maxTs, Date.now());
      position = batch.end;
      release(retainedBatch);
      for (const l of links) send(l);
      while (pendingRecords + inFlightRecords > maxBuffered && failure === null) {
        await Promise.race(anyInFlight());
        for (const l of links) send(l);
      }
      // Backpressure from the external sinks: a slow or unavailable store holds the input back
      // (one write runs beside the processing; the next full buffer waits for it).
      await outputs.backpressure();
    };
    const forwardAll = async () => {
      while (decoding.length > 0) await forwardNext();
    };

    let damaged: InputError | null = null;
    const onDamage = (err: InputError) => {
      damaged = err;
    };
    /** The dead-letter policy's check of the first lines, once they are read: the error, or null. */
    let headChecked = false;
    const headOver = (): InputError | null => {
      if (policy === null || headChecked || position.line < headLines) return null;
      headChecked = true;
      const dead = Object.values(headByReason).reduce((a, b) => a + b, 0);
      const share = { records: headLines, deadLetters: dead, byReason: headByReason };
      return overShare(share, policy)
        ? deadLetterShareError(
            `--input ${opts.input}`,
            share,
            policy,
            `the first ${headLines.toLocaleString('en-US')} lines`,
          )
        : null;
    };
    // A rerun of a run the check stopped stops again before reading (unless the threshold changed).
    const stoppedBefore = headOver();
    if (stoppedBefore !== null) throw stoppedBefore;
    let stopped: InputError | null = null;
    const topologyJson = JSON.stringify(opts.topology);
    for await (const batch of readByteBatches(opts.input, position, batchLines, onDamage, buffers)) {
      if (failure !== null) throw failure;
      decoding.push({
        batch,
        result: call({
          type: 'decode',
          shard: -1,
          runId,
          topologyJson,
          shards: opts.shards,
          bytes: batch.bytes,
          starts: batch.starts,
          ends: batch.ends,
          firstLine: batch.firstLine,
          providerOptions: opts.providerOptions ?? {},
        }),
      });
      while (decoding.length >= maxDecoding) await forwardNext();
      stopped ??= headOver();
      if (stopped !== null) break;
      const t = performance.now();
      if (opts.onProgress !== undefined && t - lastProgress > 500) {
        lastProgress = t;
        opts.onProgress(batch.end.offset, totalBytes, batch.end.line);
      }
      if (t - lastCheckpoint >= opts.checkpointIntervalMs) {
        await forwardAll();
        await checkpoint(false);
        lastCheckpoint = performance.now();
      }
    }
    await forwardAll();
    // Damaged input: what came before the damage is committed, then the run fails naming it.
    if (damaged !== null) {
      await checkpoint(false);
      throw damaged;
    }
    // Mostly dead letters (the first lines, or the whole input): commit what was read and stop;
    // the windows do not fire, so a rerun with a higher threshold finishes the same job.
    stopped ??= headOver();
    if (stopped === null && policy !== null) {
      const whole = {
        records: counters.eventsRead,
        deadLetters: Object.values(counters.deadLettersByReason).reduce((a, b) => a + b, 0),
        byReason: counters.deadLettersByReason,
      };
      if (overShare(whole, policy))
        stopped = deadLetterShareError(`--input ${opts.input}`, whole, policy, 'the whole input');
    }
    if (stopped !== null) {
      await checkpoint(false);
      throw stopped;
    }
    // End of a bounded input: the watermark goes to +∞ and every window fires.
    clock.finish();
    await drain();
    await checkpoint(true);
    opts.onProgress?.(totalBytes, totalBytes, position.line);
    await Promise.all(links.map((l) => call({ type: 'close', shard: l.shard })));
  } finally {
    await pool.destroy();
    await Promise.allSettled(sinks.map((sk) => sk.close()));
    outputs.close();
  }
  return summarize(
    counters,
    checkpoints,
    resumedFrom,
    false,
    started,
    counters.eventsRead - eventsAtStart,
    firstEventMs,
  );
}

function summarize(
  c: Counters,
  checkpoints: number,
  resumedFrom: number | null,
  alreadyComplete: boolean,
  started: number,
  processedHere: number,
  firstEventMs: number | null,
): RunSummary {
  const seconds = (performance.now() - started) / 1000;
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return {
    eventsRead: c.eventsRead,
    deadLetters: sum(c.deadLettersByReason),
    deadLettersByReason: c.deadLettersByReason,
    lateEvents: sum(c.lateByWindow),
    lateByWindow: c.lateByWindow,
    rowsWritten: sum(c.rowsByGroup),
    rowsByGroup: c.rowsByGroup,
    checkpoints,
    invalidValues: c.invalidValues ?? {},
    provided: c.provided ?? {},
    resumedFrom,
    alreadyComplete,
    seconds,
    eventsPerSecond: seconds > 0 ? processedHere / seconds : 0,
    firstEventMs,
  };
}
