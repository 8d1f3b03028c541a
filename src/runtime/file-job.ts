import { addProviderStats } from '../../operators/providers.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type ByteBatch, type FilePosition, lineOf } from '../connectors/file-source.js';
import { featureRules } from '../../topology/feature-catalog.js';
import { planTopology, type TopologyPlan } from '../../topology/plan.js';
import { type InputError, InternalError } from '../shared/errors.js';
import {
  type CheckpointRecord,
  clockRecord,
  openCheckpoint,
  restoreClock,
  writeCheckpoint,
} from './checkpoint-record.js';
import { type Counters, type RunOptions, type RunSummary, summarize } from './run-options.js';
import { HeadCheck, overWhole } from './dead-letter-policy.js';
import { FileDriver, type RetainedBatch } from './file-driver.js';
import { type OutputCounters, Outputs, windowGroupsOf } from './outputs.js';
import type { ShardResponse } from './protocol.js';
import { createShardPool, type ShardPool } from './shard-pool.js';
import { type ShardOutput, ShardRouter } from './shard-router.js';
import { SourceClock } from './source-clock.js';
import { commitShards } from './commit-step.js';
import { type CommitLog, runLoop, type WorkSource } from './loop.js';

/** Records buffered for or in flight to the shards before the reader waits. */
const MAX_BUFFERED = 200_000;

/**
 * A run over the file driver (one part, a byte position) in the job loop (`loop.ts`): reads
 * the part's batches, has them decoded and run through the stateless chains on the pool, routes
 * the records by key to the shard actors, hands what fires to the outputs, and drives aligned
 * checkpoints. Replays run through it too (`src/replay`), with a row filter.
 *
 * A checkpoint is an aligned barrier: the loop stops routing, lets every shard finish the records
 * sent before the barrier, asks each shard to write its changed state together with the source
 * position in one batch (phase 1), flushes the sinks and fsyncs the output files, and then commits
 * the checkpoint record atomically; shards fold their delta when told (phase 2). After a crash,
 * shards come back at the committed checkpoint, output files are cut back to their committed
 * lengths, and the source resumes at the committed position: every row ends up in the outputs
 * exactly once.
 */
export class FileJob {
  private readonly log: Logger;
  private readonly plan: TopologyPlan;
  private readonly runId = `${process.pid}-${Date.now()}`;
  private readonly started = performance.now();
  private firstEventMs: number | null = null;
  private readonly driver: FileDriver;
  private damaged: InputError | null = null;
  private readonly record: CheckpointRecord | null;
  private readonly counters: Counters & OutputCounters;
  private readonly head: HeadCheck;
  private readonly clock = new SourceClock(1);
  private position: FilePosition;
  private checkpointId: number;
  private checkpoints = 0;
  private readonly eventsAtStart: number;
  private readonly recordsByKeyBy: Record<string, number> | null;
  private outputs!: Outputs;
  private driftAlerts: ((alerts: readonly unknown[]) => void) | null = null;
  private pool!: ShardPool;
  private router!: ShardRouter<RetainedBatch>;

  constructor(private readonly opts: RunOptions) {
    this.log = opts.logger;
    this.plan = planTopology(opts.topology);
    this.driver = new FileDriver(opts.input, opts.batchLines ?? 2048, (err) => {
      this.damaged = err;
    });
    this.record = openCheckpoint(opts.stateDir, opts.topology.name, opts.shards, opts.fresh === true);
    const c = this.record?.counters
      ? structuredClone(this.record.counters)
      : { eventsRead: 0, deadLettersByReason: {}, lateByWindow: {}, rowsByGroup: {} };
    this.counters = { ...c, invalidValues: c.invalidValues ?? {}, provided: c.provided ?? {} };
    this.counters.headDeadLettersByReason = c.headDeadLettersByReason ?? {};
    this.head = new HeadCheck(
      opts.deadLetterPolicy ?? null,
      this.counters.headDeadLettersByReason,
      opts.input,
    );
    this.position = this.record?.position ?? this.driver.start();
    this.checkpointId = this.record?.id ?? 0;
    this.eventsAtStart = this.counters.eventsRead;
    this.recordsByKeyBy = opts.observer === undefined ? null : {};
  }

  async run(): Promise<RunSummary> {
    const { opts, record } = this;
    const sinks = opts.sinks ?? [];
    if (record?.done === true) {
      this.log.info({ checkpoint: record.id }, 'state dir holds a finished job: nothing to do');
      // The stores were opened for this run: close them, or an open Redis client keeps the process.
      await Promise.allSettled(sinks.map((sk) => sk.close()));
      return summarize(this.counters, 0, record.id, true, this.started, 0, null);
    }
    this.openOutputs();
    if (record !== null) {
      restoreClock(this.clock, record.clock, Date.now());
      const { line, offset } = this.position;
      this.log.info({ checkpoint: record.id, line, offset }, 'resuming from checkpoint');
    }
    this.pool = createShardPool(opts.workers, opts.shards);
    this.router = new ShardRouter<RetainedBatch>({
      pool: this.pool,
      shards: opts.shards,
      clock: () => this.clock.current,
      rowsAsLines: this.outputs.rowsAsLines,
      onOutput: (shard, res, n, seconds) => this.onOutput(shard, res, n, seconds),
      release: (b) => this.driver.release(b),
    });
    this.attachObservers();
    try {
      await this.openShards();
      await this.readAll();
      await this.closeShards();
    } finally {
      await this.pool.destroy();
      await Promise.allSettled(sinks.map((sk) => sk.close()));
      this.outputs.close();
    }
    const processed = this.counters.eventsRead - this.eventsAtStart;
    return summarize(
      this.counters,
      this.checkpoints,
      record?.id ?? null,
      false,
      this.started,
      processed,
      this.firstEventMs,
    );
  }

  private openOutputs(): void {
    const { opts } = this;
    this.outputs = new Outputs({
      files: { out: opts.out, deadLetters: opts.deadLetters, lateEvents: opts.lateEvents },
      committed: this.record?.sinks ?? null,
      sinks: opts.sinks ?? [],
      rules: featureRules(opts.topology),
      counters: this.counters,
      windowGroups: windowGroupsOf(opts.topology),
      ...(opts.rowFilter === undefined ? {} : { rowFilter: opts.rowFilter }),
      ...(opts.drift === undefined ? {} : { drift: opts.drift }),
    });
    // Continuous drift: state rebuilt from the committed rows; alerts rewritten from its drift rows.
    this.driftAlerts = opts.drift === undefined ? null : opts.drift.openAlerts(opts, this.record !== null);
  }

  private attachObservers(): void {
    const { opts, counters } = this;
    const clock = () => this.clock.current;
    opts.metrics?.attach({
      counters,
      clock,
      offset: () => this.position.offset,
      totalBytes: this.driver.totalBytes,
    });
    if (this.recordsByKeyBy === null) return;
    opts.observer!.attach({
      workers: opts.workers,
      shards: opts.shards,
      stateDir: opts.stateDir,
      counters,
      recordsByKeyBy: this.recordsByKeyBy,
      clock,
    });
  }

  /** What a shard fired: rows, late events; the sinks written while the shards work. */
  private onOutput(shard: number, res: ShardOutput, n: number, seconds: number): void {
    this.opts.metrics?.shardProcessed(shard, n, seconds);
    if (res.lines === undefined) this.outputs.rows(res.rows);
    else this.outputs.lines(res.lines);
    for (const [line, op, ts] of res.late) {
      this.outputs.late(op, () => {
        const at = this.driver.lineAt(line);
        const { source } = this.driver;
        return {
          source,
          position: at?.offset ?? -1,
          line: line + 1,
          window: op,
          eventTime: ts,
          raw: at?.raw ?? null,
        };
      });
    }
    this.outputs.startSinkWrite();
  }

  private async closeShards(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.opts.shards }, (_, shard) => this.pool.call({ type: 'close', shard })),
    );
  }

  private async openShards(): Promise<void> {
    const { opts } = this;
    const opened = await Promise.all(
      Array.from({ length: opts.shards }, (_, shard) =>
        this.pool.call({
          type: 'open',
          shard,
          topology: opts.topology,
          location: opts.stateDir === null ? null : join(opts.stateDir, `shard-${shard}`),
          committedId: this.checkpointId,
        }),
      ),
    );
    for (const o of opened) {
      if (o.type !== 'opened') throw new InternalError(`shard answered ${o.type} to open`);
      const at = this.driver.decodePosition({ offset: o.meta.offset ?? '', meta: o.meta.line ?? null });
      if (this.record !== null && at?.line !== this.position.line) {
        throw new InternalError(
          `shard ${o.shard} restored position line ${o.meta.line}, the checkpoint record says ${this.position.line}`,
        );
      }
    }
  }

  private async checkpoint(done: boolean): Promise<void> {
    const t0 = performance.now();
    try {
      await this.checkpointOnce(done);
    } catch (err) {
      this.opts.metrics?.checkpoint((performance.now() - t0) / 1000, false);
      throw err;
    }
    this.opts.metrics?.checkpoint((performance.now() - t0) / 1000, true);
  }

  private async checkpointOnce(done: boolean): Promise<void> {
    const { opts } = this;
    const started = performance.now();
    await this.router.drain();
    if (opts.drift !== undefined) {
      const step = opts.drift.advance(done ? Number.POSITIVE_INFINITY : this.clock.current);
      this.outputs.rows(step.rows);
      this.driftAlerts?.(step.alerts);
    }
    const id = this.checkpointId + 1;
    const pos = this.driver.encodePosition(this.position);
    // Everything before the barrier is durable in the external sinks before the commit.
    await commitShards({
      pool: this.pool,
      shards: Array.from({ length: opts.shards }, (_, s) => s),
      id,
      outputs: this.outputs,
      meta: () => ({ line: pos.meta!, offset: pos.offset, input: opts.input }),
      commit: (sinks) => {
        if (opts.stateDir === null) return;
        const { shards, input } = opts;
        const topology = opts.topology.name;
        const clock = clockRecord(this.clock);
        const counters = this.counters;
        const rec: CheckpointRecord = {
          version: 1,
          id,
          topology,
          shards,
          input,
          position: this.position,
          clock,
          sinks,
          counters,
          done,
        };
        writeCheckpoint(opts.stateDir, rec);
      },
    });
    this.checkpointId = id;
    this.checkpoints++;
    opts.observer?.checkpoint({ id, ms: performance.now() - started, done });
    this.log.debug({ checkpoint: id, line: this.position.line, done }, 'checkpoint committed');
  }

  /** Takes the oldest decoded batch, in source order: dead letters, routing, clock, position. */
  private async forward(batch: ByteBatch, result: Promise<ShardResponse>): Promise<void> {
    const res = await result;
    if (res.type !== 'decoded') throw new InternalError(`decode answered ${res.type}`);
    this.router.check();
    this.counters.eventsRead += res.events;
    if (this.firstEventMs === null && res.events > 0) this.firstEventMs = performance.now();
    const { source } = this.driver;
    for (const [i, reason, detail] of res.dl) {
      this.head.deadLetter(batch.firstLine + i, reason);
      this.outputs.deadLetter(reason, () => ({
        source,
        line: batch.firstLine + i + 1,
        offset: batch.offsets[i]!,
        reason,
        detail,
        raw: lineOf(batch, i),
      }));
    }
    if (res.provided !== undefined) addProviderStats(this.counters.provided!, res.provided);
    const retained = this.driver.retain(batch);
    const baseClock = this.clock.current;
    res.perShard.forEach((branches, s) => {
      if (branches === null) return;
      this.router.route(s, branches, baseClock, retained);
      retained.refs++;
      if (this.recordsByKeyBy === null) return;
      branches.forEach((b, c) => {
        const k = this.plan.keyed[c]!.keyBy.id;
        if ((b?.count ?? 0) > 0) this.recordsByKeyBy![k] = (this.recordsByKeyBy![k] ?? 0) + b!.count;
      });
    });
    if (res.maxTs > Number.NEGATIVE_INFINITY) this.clock.observe(0, res.maxTs, Date.now());
    this.position = batch.end;
    this.driver.release(retained);
    this.router.sendAll();
    await this.router.throttle(MAX_BUFFERED);
    // Backpressure from the external sinks: a slow or unavailable store holds the input back
    // (one write runs beside the processing; the next full buffer waits for it).
    await this.outputs.backpressure();
  }

  /**
   * Reads the part to its end (or a stop) in the job loop (`loop.ts`): each batch is a unit of
   * work, decoded beside the batches before it and forwarded in source order; then the last
   * checkpoint. A checkpoint runs while the next batches are read and decoded (decoding touches
   * no state): they are forwarded once it is committed, so workers done with their shards'
   * records decode instead of waiting for the slowest shard to reach the barrier.
   */
  private async readAll(): Promise<void> {
    const { opts, driver } = this;
    const maxDecoding = Math.max(4, opts.workers * 3);
    const decoding: Array<{ batch: ByteBatch; result: Promise<ShardResponse> }> = [];
    /** The checkpoint under way: nothing is forwarded (the position stays at its barrier) until it is committed. */
    let barrier: Promise<void> | null = null;
    let lastCheckpoint = performance.now();
    const committed = async () => {
      if (barrier === null) return;
      const b = barrier;
      barrier = null;
      await b;
      lastCheckpoint = performance.now();
    };
    const forwardNext = async () => {
      await committed();
      const d = decoding.shift()!;
      await this.forward(d.batch, d.result);
    };
    const forwardAll = async () => {
      while (decoding.length > 0) await forwardNext();
      await committed();
    };
    // A rerun of a run the check stopped stops again before reading (unless the threshold changed).
    const stoppedBefore = this.head.over(this.position.line);
    if (stoppedBefore !== null) throw stoppedBefore;
    let stopped: InputError | null = null;
    let lastProgress = 0;
    const topologyJson = JSON.stringify(opts.topology);
    const take = async (batch: ByteBatch) => {
      this.router.check();
      decoding.push({ batch, result: this.decode(batch, topologyJson) });
      while (decoding.length >= maxDecoding) await forwardNext();
      stopped ??= this.head.over(this.position.line);
      if (stopped !== null) return;
      const t = performance.now();
      if (opts.onProgress !== undefined && t - lastProgress > 500) {
        lastProgress = t;
        opts.onProgress(batch.end.offset, driver.totalBytes, batch.end.line);
      }
    };
    // Each batch is a unit of work (alone: forwarded in source order); the reading ends at the
    // end of the part or at a dead-letter stop.
    const from = this.position;
    const source: WorkSource = {
      async *work() {
        for await (const batch of driver.read(0, from)) {
          yield { exclusive: true, run: () => take(batch) };
          if (stopped !== null) break;
        }
      },
    };
    const log: CommitLog = {
      due: () =>
        stopped === null &&
        barrier === null &&
        performance.now() - lastCheckpoint >= opts.checkpointIntervalMs
          ? 'interval'
          : null,
      checkpoint: async () => {
        await forwardAll();
        barrier = this.checkpoint(false);
        // Awaited before the next forward; marked handled here so a failure is not reported early.
        barrier.catch(() => {});
      },
      final: async () => {
        await forwardAll();
        await this.finish(stopped);
      },
    };
    try {
      await runLoop(source, log);
    } catch (err) {
      // A checkpoint under way ends (committed or not) before the run fails: none of it runs on after.
      await (barrier as Promise<void> | null)?.catch(() => {});
      throw err;
    }
  }

  private decode(batch: ByteBatch, topologyJson: string): Promise<ShardResponse> {
    return this.pool.call({
      type: 'decode',
      shard: -1,
      runId: this.runId,
      topologyJson,
      shards: this.opts.shards,
      bytes: batch.bytes,
      starts: batch.starts,
      ends: batch.ends,
      firstLine: batch.firstLine,
      providerOptions: this.opts.providerOptions ?? {},
    });
  }

  /** The end of the input, damage or a dead-letter stop: commit what was read, fail or fire every window. */
  private async finish(stoppedEarly: InputError | null): Promise<void> {
    // Damaged input: what came before the damage is committed, then the run fails naming it.
    if (this.damaged !== null) {
      await this.checkpoint(false);
      throw this.damaged;
    }
    // Mostly dead letters (the first lines, or the whole input): commit what was read and stop;
    // the windows do not fire, so a rerun with a higher threshold finishes the same job.
    const stopped =
      stoppedEarly ??
      this.head.over(this.position.line) ??
      overWhole(this.opts.deadLetterPolicy ?? null, this.counters, this.opts.input);
    if (stopped !== null) {
      await this.checkpoint(false);
      throw stopped;
    }
    // End of a bounded input: the watermark goes to +∞ and every window fires.
    this.clock.finish();
    await this.router.drain();
    await this.checkpoint(true);
    this.opts.onProgress?.(this.driver.totalBytes, this.driver.totalBytes, this.position.line);
  }
}
