import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { CheckpointStore } from '../../../state/checkpoint-store.js';
import { createBackend } from '../../../state/create-backend.js';
import type { Topology } from '../../../topology/nodes.js';
import { type FoldResult, writeCheckpoint, writeClaim } from '../../connectors/kafka/changelog.js';
import { filterBranch, type RepartitionFrame } from '../../connectors/kafka/frame.js';
import { InternalError } from '../../shared/errors.js';
import type { EncodedBranch, ProcessChunk } from '../protocol.js';
import { columnBuffers, type ShardPool } from '../shard-pool.js';
import { featureRules } from '../../../topology/feature-catalog.js';
import { Outputs, windowGroupsOf } from '../outputs.js';
import type { RowSink } from '../sink.js';
import type { KafkaMetrics } from './metrics.js';
import { type ShardRecord, writeShardRecord } from './shard-record.js';
import { SourceClock } from '../source-clock.js';
import { commitShards } from '../commit-step.js';

/** What every shard of a job shares. */
export interface ShardContext {
  readonly topology: Topology;
  readonly sourceTopic: string;
  /** Partitions of the source topic. */
  readonly sourcePartitions: number;
  /**
   * `repartition`: the shard reads frames of every source partition from a repartition topic;
   * its clock is the minimum over all of them. `direct`: shard s is source partition s.
   */
  readonly mode: 'repartition' | 'direct';
  readonly changelogTopic: string;
  /** LevelDB locations and shard records live here. */
  readonly stateDir: string;
  /** Per-shard NDJSON files (`shard-007.ndjson`) of rows, dead letters and late events; null = none. */
  readonly outDir: string | null;
  readonly deadLetterDir: string | null;
  readonly lateDir: string | null;
  readonly rowSinks: readonly RowSink[];
  readonly idleTimeoutMs: number;
  /** Finish (watermark +∞) once every source partition reached its end (`--stop-at-end`). */
  readonly stopAtEnd: boolean;
  readonly producer: Producer;
  readonly logger: Logger;
  /** Who claims shards (for the changelog's ownership records). */
  readonly owner: string;
  readonly metrics: KafkaMetrics;
  /** The worker pool the shard actors live on (the same as a file run's). */
  readonly pool: ShardPool;
}

/** A shard's positions and counters, stored with each checkpoint (marker meta and local meta). */
interface ShardMeta {
  readonly v: 1;
  /** Next offset to read in the shard's input partition. */
  readonly position: number;
  /** Per source partition, the greatest source offset already in the state (−1: none). */
  readonly seen: number[];
  readonly eof: number[];
  readonly clock: ReturnType<SourceClock['snapshot']>;
  readonly sinks: { out: number | null; deadLetters: number | null; late: number | null };
  readonly counters: ShardCounters;
  readonly done: boolean;
}

/** Totals of one shard over the whole job (they survive restores). */
export interface ShardCounters {
  records: number;
  deadLettersByReason: Record<string, number>;
  lateByWindow: Record<string, number>;
  rowsByGroup: Record<string, number>;
  /** Output values that failed their registry rule and were written as null, by `feature:reason`. */
  invalidValues: Record<string, number>;
}

const REF_SCALE = 2 ** 40;

/** Packs (source partition, offset) into one exact float (offsets < 2^40, partitions < 2^12). */
export function encodeRef(partition: number, offset: number): number {
  return partition * REF_SCALE + offset;
}

/** The file name of shard `s` in a per-shard output folder. */
export function shardFileName(shard: number): string {
  return `shard-${String(shard).padStart(3, '0')}.ndjson`;
}

/**
 * One shard of a Kafka job on this process: a {@link ShardActor} (the operators and their state
 * in a local LevelDB location) plus what the Kafka runner adds around it —
 *
 * - **dedup**: per source partition, the greatest source offset already folded into the state;
 *   records at or below it (replays after a crash or a rebalance) are dropped record by record;
 * - **clock**: a {@link SourceClock} over the source partitions, giving each record its exact
 *   on-event watermark;
 * - **outputs**: rows to the per-shard file (cut back to its committed length on restore) and to
 *   the row sinks; dead letters and late events to their per-shard files;
 * - **checkpoints**: local prepare → changelog entries + marker → shard record → local commit.
 *
 * Obtain tasks with `restoreShards` (shard-restore.ts).
 */
export class ShardTask {
  position = 0;
  committedId: number;
  done = false;
  /** Rows, dead letters, late events and records since the last checkpoint. */
  dirty = false;
  /** The changelog offset after this task's last write: a greater end means another member wrote. */
  changelogEnd: number;
  readonly counters: ShardCounters;
  /** The counters when this task opened (the job's totals so far, from the checkpoint). */
  private readonly baseline: ShardCounters;
  /** Closed: every later operation is refused (checkpoint: does nothing). */
  closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly seen: number[];
  private readonly eofs: Set<number>;
  private readonly clock: SourceClock;
  private repairs: Map<string, string | null>;
  /** Rows, dead letters and late events to the counters, the per-shard files and the row sinks. */
  private readonly outputs: Outputs;

  private constructor(
    readonly shard: number,
    private readonly ctx: ShardContext,
    committedId: number,
    private epoch: number,
    changelogEnd: number,
    meta: ShardMeta | null,
    repairs: Map<string, string | null>,
  ) {
    this.committedId = committedId;
    this.changelogEnd = changelogEnd;
    this.repairs = repairs;
    const n = ctx.sourcePartitions;
    this.clock = new SourceClock(ctx.mode === 'direct' ? 1 : n, ctx.idleTimeoutMs);
    this.seen = new Array<number>(n).fill(-1);
    this.eofs = new Set();
    this.counters = {
      records: 0,
      deadLettersByReason: {},
      lateByWindow: {},
      rowsByGroup: {},
      invalidValues: {},
    };
    if (meta !== null) {
      this.position = meta.position;
      for (let p = 0; p < n && p < meta.seen.length; p++) this.seen[p] = meta.seen[p]!;
      for (const p of meta.eof) this.eofs.add(p);
      this.clock.restore(meta.clock, Date.now());
      this.done = meta.done;
      Object.assign(this.counters, structuredClone(meta.counters));
      this.counters.invalidValues ??= {};
    }
    this.baseline = structuredClone(this.counters);
    const file = (dir: string | null) => (dir === null ? null : join(dir, shardFileName(shard)));
    this.outputs = new Outputs({
      files: { out: file(ctx.outDir), deadLetters: file(ctx.deadLetterDir), lateEvents: file(ctx.lateDir) },
      committed:
        meta === null
          ? null
          : { out: meta.sinks.out, deadLetters: meta.sinks.deadLetters, lateEvents: meta.sinks.late },
      sinks: ctx.rowSinks,
      rules: featureRules(ctx.topology),
      counters: this.counters,
      windowGroups: windowGroupsOf(ctx.topology),
      onRows: (group, n) => ctx.metrics.rows.inc({ group }, n),
      onDeadLetter: (reason) => ctx.metrics.deadLetters.inc({ reason }),
    });
  }

  /** @internal Builds a task from a local state brought up to the changelog (see `restoreShards`, shard-restore.ts). */
  static async open(
    ctx: ShardContext,
    shard: number,
    rec: ShardRecord | null,
    fold: FoldResult,
  ): Promise<ShardTask> {
    const location = shardLocation(ctx.stateDir, shard);
    const local = rec?.id ?? 0;
    const store = new CheckpointStore(createBackend({ kind: 'leveldb', location }));
    let committedId = local;
    let repairs: Map<string, string | null>;
    try {
      const snap = await store.restore(local);
      if (snap.checkpointId !== local) {
        throw new InternalError(
          `shard ${shard}: local state is at checkpoint ${snap.checkpointId}, its record says ${local}`,
        );
      }
      if (fold.marker !== null && fold.marker.id > local) {
        await store.prepare(fold.marker.id, fold.committed, { kafka: fold.marker.meta });
        await store.commit(fold.marker.id);
        committedId = fold.marker.id;
      }
      repairs = new Map();
      for (const k of fold.repairKeys) {
        repairs.set(k, fold.committed.has(k) ? fold.committed.get(k)! : (snap.entries.get(k) ?? null));
      }
    } finally {
      await store.close();
    }
    // Take ownership: later writes of an older epoch are ignored by every future restore.
    const epoch = Math.max(fold.epoch, rec?.epoch ?? 0) + 1;
    const claim = await writeClaim(ctx.producer, ctx.changelogTopic, shard, epoch, ctx.owner);
    writeShardRecord(ctx.stateDir, { version: 1, shard, id: committedId, after: claim + 1, epoch });

    const opened = await ctx.pool.call({
      type: 'open',
      shard,
      topology: ctx.topology,
      location,
      committedId,
    });
    if (opened.type !== 'opened') throw new InternalError(`shard ${shard} answered ${opened.type} to open`);
    const meta = opened.meta;
    const parsed = meta.kafka === undefined ? null : (JSON.parse(meta.kafka) as ShardMeta);
    return new ShardTask(shard, ctx, committedId, epoch, claim + 1, parsed, repairs);
  }

  /** What this task added to the counters since it opened (this process's share). */
  countersSinceOpen(): ShardCounters {
    const diff = (a: Record<string, number>, b: Record<string, number>) => {
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(a)) if (v - (b[k] ?? 0) !== 0) out[k] = v - (b[k] ?? 0);
      return out;
    };
    return {
      records: this.counters.records - this.baseline.records,
      deadLettersByReason: diff(this.counters.deadLettersByReason, this.baseline.deadLettersByReason),
      lateByWindow: diff(this.counters.lateByWindow, this.baseline.lateByWindow),
      rowsByGroup: diff(this.counters.rowsByGroup, this.baseline.rowsByGroup),
      invalidValues: diff(this.counters.invalidValues, this.baseline.invalidValues),
    };
  }

  /** Partition p's clock as this shard knows it (direct mode: the source partition's own clock). */
  partitionClock(p: number): number {
    return this.clock.partitionClock(this.ctx.mode === 'direct' ? 0 : p);
  }

  /** The greatest source offset of partition p folded into the state (−1: none). */
  seenOffset(p: number): number {
    return this.seen[p] ?? -1;
  }

  /**
   * Runs frames through the operators, in order; `offset` is each frame's position in the
   * shard's input partition (frames before {@link position} are already in the state). Writes
   * what fires to the outputs.
   */
  process(items: ReadonlyArray<{ offset: number; frame: RepartitionFrame }>, now: number): Promise<void> {
    return this.serial(() => this.processNow(items, now));
  }

  private async processNow(
    items: ReadonlyArray<{ offset: number; frame: RepartitionFrame }>,
    now: number,
  ): Promise<void> {
    if (this.closed) throw new InternalError(`shard ${this.shard} is closed`);
    if (this.done) {
      // Frames past the end (sent again by a source stage that restarted): nothing to fold in,
      // but the position moves, so it is checkpointed too. A group offset committed past the
      // changelog's position would make the shard's next owner refuse its input as lost frames.
      for (const { offset } of items) {
        if (offset < this.position) continue;
        this.position = offset + 1;
        this.dirty = true;
      }
      return;
    }
    const chunks: ProcessChunk[] = [];
    /** Raw text of the records that may turn out late (they are out of order in their partition). */
    const raws = new Map<number, string>();
    const source = (p: number) => `${this.ctx.sourceTopic}/${p}`;
    for (const { offset, frame } of items) {
      if (offset < this.position) continue;
      this.position = offset + 1;
      this.dirty = true;
      const p = frame.partition;
      if (p < 0 || p >= this.seen.length) {
        throw new InternalError(
          `shard ${this.shard}: frame from source partition ${p} of ${this.seen.length}`,
        );
      }
      const seen = this.seen[p]!;
      const ci = this.ctx.mode === 'direct' ? 0 : p;
      const clockBefore = this.clock.frameClock(ci, now);
      const branches: Array<EncodedBranch | null> = frame.branches.map((b) => {
        if (b === null || b === undefined || b.count === 0) return null;
        const kept = b.refs[0]! <= seen ? filterBranch(b, (i) => b.refs[i]! > seen) : b;
        if (kept.count === 0) return null;
        const clock = kept.clock;
        const refs = kept.refs;
        for (let i = 0; i < kept.count; i++) {
          clock[i] = clockBefore(Math.max(clock[i]!, frame.base));
          refs[i] = encodeRef(p, refs[i]!);
        }
        this.counters.records += kept.count;
        return kept;
      });
      if (branches.some((b) => b !== null)) chunks.push({ branches, baseClock: Number.NEGATIVE_INFINITY });
      for (const d of frame.deadLetters) {
        if (d.offset <= seen) continue;
        // A file's dead letter's fields under the same names (line: the record's 1-based
        // position in its partition, offset: its Kafka offset), then the partition and key.
        this.outputs.deadLetter(d.reason, () => ({
          source: source(p),
          line: d.offset + 1,
          offset: d.offset,
          reason: d.reason,
          detail: d.detail,
          raw: d.raw,
          extra: { source: source(p), key: d.key, raw_base64: d.rawBase64 },
          ...(d.rawBase64 === undefined ? {} : { sinkRaw: d.rawBase64 }),
        }));
      }
      for (const [offset, raw] of frame.raws ?? []) if (offset > seen) raws.set(encodeRef(p, offset), raw);
      if (frame.last > seen) this.seen[p] = frame.last;
      this.clock.observe(ci, frame.end, now);
      if (frame.eof) this.eofs.add(p);
    }
    const finishing = this.ctx.stopAtEnd && this.allEof();
    const endClock = finishing ? this.clock.finish() : this.clock.recompute(now);
    // Rows only go to the shard's file: the worker validates and formats them (as in a file run).
    const rowsAsLines = this.outputs.rowsAsLines;
    const res = await this.ctx.pool.call(
      { type: 'process', shard: this.shard, chunks, endClock, now, rowsAsLines },
      columnBuffers(chunks),
    );
    if (res.type !== 'output') throw new InternalError(`shard ${this.shard} answered ${res.type} to process`);
    if (finishing) this.done = true;
    if (res.lines === undefined) this.outputs.rows(res.rows);
    else this.outputs.lines(res.lines);
    for (const [ref, op, ts] of res.late) {
      this.outputs.late(op, () => {
        const p = Math.floor(ref / REF_SCALE);
        const offset = ref - p * REF_SCALE;
        const source = `${this.ctx.sourceTopic}/${p}`;
        const raw = raws.get(ref) ?? null;
        return {
          source,
          position: offset,
          line: offset + 1,
          window: op,
          eventTime: ts,
          raw,
          extra: { source, offset },
        };
      });
    }
    this.outputs.startSinkWrite();
    await this.outputs.backpressure();
  }

  /** Source partition p reached its end without a frame saying so (direct mode, nothing left to read). */
  endOfInput(p: number, now: number): Promise<void> {
    return this.serial(async () => {
      if (this.closed || this.done || this.eofs.has(p)) return;
      this.eofs.add(p);
      this.dirty = true;
      await this.processNow([], now);
    });
  }

  /** True when every source partition feeding this shard reached its end. */
  allEof(): boolean {
    return this.ctx.mode === 'direct' ? this.eofs.has(this.shard) : this.eofs.size >= this.seen.length;
  }

  /**
   * Checkpoints the shard if anything changed: row sinks flushed, files fsynced, state changes
   * prepared locally, written to the changelog with a marker, the shard record updated, and the
   * local delta folded. Returns whether a checkpoint was taken. A failure leaves the shard
   * unusable: close it and restore it again.
   */
  checkpoint(): Promise<boolean> {
    return this.serial(() => this.checkpointNow());
  }

  private async checkpointNow(): Promise<boolean> {
    if (this.closed || (!this.dirty && this.repairs.size === 0)) return false;
    const started = performance.now();
    const id = this.committedId + 1;
    let metaText = '';
    const entries = new Map(this.repairs);
    await commitShards({
      pool: this.ctx.pool,
      shards: [this.shard],
      id,
      outputs: this.outputs,
      withChanges: true,
      meta: (sinks) => {
        const meta: ShardMeta = {
          v: 1,
          position: this.position,
          seen: [...this.seen],
          eof: [...this.eofs].sort((a, b) => a - b),
          clock: this.clock.snapshot(),
          sinks: { out: sinks.out, deadLetters: sinks.deadLetters, late: sinks.lateEvents },
          counters: this.counters,
          done: this.done,
        };
        metaText = JSON.stringify(meta);
        return { kafka: metaText };
      },
      commit: async (_sinks, changes) => {
        for (const [k, v] of changes) entries.set(k, v);
        const { producer, changelogTopic, stateDir } = this.ctx;
        const marker = { id, meta: metaText };
        const markerOffset = await writeCheckpoint(
          producer,
          changelogTopic,
          this.shard,
          this.epoch,
          entries,
          marker,
        );
        writeShardRecord(stateDir, {
          version: 1,
          shard: this.shard,
          id,
          after: markerOffset + 1,
          epoch: this.epoch,
        });
        this.changelogEnd = markerOffset + 1;
      },
    });
    this.committedId = id;
    this.repairs = new Map();
    this.dirty = false;
    this.ctx.metrics.checkpointSeconds.observe((performance.now() - started) / 1000);
    this.ctx.logger.debug(
      {
        shard: this.shard,
        checkpoint: id,
        entries: entries.size,
        position: this.position,
        eof: this.eofs.size,
        done: this.done,
      },
      'shard checkpoint committed',
    );
    return true;
  }

  /** Closes the shard without a checkpoint (what was not checkpointed is redone by the next owner). */
  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      this.outputs.close();
      await this.ctx.pool.call({ type: 'close', shard: this.shard });
    });
  }

  /** Operations on a shard run one at a time (a close waits for a checkpoint in progress). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** The LevelDB location of a shard. */
export function shardLocation(stateDir: string, shard: number): string {
  return join(stateDir, `shard-${shard}`);
}
