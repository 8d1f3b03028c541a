import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import { ExternalError, InternalError } from '../../shared/errors.js';
import { restartWhenKafkaJsGivesUp } from './consumer-restart.js';

/**
 * The changelog of shard state: one compacted Kafka topic, partition s = shard s. At every
 * checkpoint a shard appends the state entries it changed (key `operatorId/key`, value = the
 * entry, or a tombstone for a delete) and then a **marker** carrying the checkpoint id and the
 * shard's positions. Everything before the last marker is committed; entries after it belong to
 * a checkpoint that never completed (the writer died) and are ignored.
 *
 * Ownership is fenced by epochs: a process that takes a shard over first appends a **claim**
 * with an epoch greater than any it read; every record carries its writer's epoch (header
 * `fs-epoch`), and records of an older epoch that appear after a newer claim — writes of a
 * previous owner that had not noticed it lost the shard — are ignored when reading.
 *
 * Compaction keeps the latest record per key. An ignored (uncommitted or fenced) record may have
 * made compaction drop the committed value of its key, so after a restore those keys are
 * **repaired**: the new owner writes their committed value (or a tombstone) again with its next
 * checkpoint ({@link ChangelogFold.result} `repairKeys`).
 *
 * @example
 * const fold = new ChangelogFold();
 * for (const rec of records) fold.add(rec);
 * const { committed, marker, epoch, repairKeys } = fold.result();
 */

/** Key of checkpoint markers (never an entry key: those always contain a `/`). */
export const MARKER_KEY = '__featurestream.checkpoint';
/** Key of ownership claims. */
export const CLAIM_KEY = '__featurestream.owner';
/** Header with the writer's epoch. */
export const EPOCH_HEADER = 'fs-epoch';

/** One record read back from a changelog partition. */
export interface ChangelogRecord {
  readonly offset: number;
  readonly key: string;
  /** null = tombstone. */
  readonly value: string | null;
  readonly epoch: number;
}

/** A checkpoint marker: the checkpoint id and the shard's meta (positions, sink lengths, …). */
export interface ChangelogMarker {
  readonly id: number;
  readonly meta: string;
  readonly offset: number;
  readonly epoch: number;
}

/** What a changelog says about a shard. */
export interface FoldResult {
  /** Entry changes since the reader's starting point, up to the last valid marker (null = delete). */
  readonly committed: Map<string, string | null>;
  /** The last valid marker, or null when none was read. */
  readonly marker: ChangelogMarker | null;
  /** The greatest epoch claimed or written. */
  readonly epoch: number;
  /** Keys of ignored records, whose committed value must be written again. */
  readonly repairKeys: Set<string>;
}

/**
 * Folds a changelog partition, record by record in offset order, into its committed state
 * (see the module comment for the rules). Pure: no I/O.
 */
export class ChangelogFold {
  private readonly committed = new Map<string, string | null>();
  private pending = new Map<string, string | null>();
  private readonly repair = new Set<string>();
  private marker: ChangelogMarker | null = null;

  /** @param epoch the epoch already known (e.g. from local state); older records are fenced. */
  constructor(private epoch = 0) {}

  add(rec: ChangelogRecord): void {
    if (rec.epoch < this.epoch) {
      // A fenced writer: ignore, but its key may have displaced a committed value.
      if (rec.key !== MARKER_KEY && rec.key !== CLAIM_KEY) this.repair.add(rec.key);
      return;
    }
    if (rec.epoch > this.epoch) {
      // A new owner: what the previous one had not committed never will be.
      for (const k of this.pending.keys()) this.repair.add(k);
      this.pending = new Map();
      this.epoch = rec.epoch;
    }
    if (rec.key === CLAIM_KEY) return;
    if (rec.key === MARKER_KEY) {
      if (rec.value === null) throw new InternalError(`changelog marker at offset ${rec.offset} is empty`);
      const m = JSON.parse(rec.value) as { id: number; meta: string };
      for (const [k, v] of this.pending) this.committed.set(k, v);
      this.pending = new Map();
      this.marker = { id: m.id, meta: m.meta, offset: rec.offset, epoch: rec.epoch };
      return;
    }
    this.pending.set(rec.key, rec.value);
  }

  result(): FoldResult {
    const repairKeys = new Set(this.repair);
    for (const k of this.pending.keys()) repairKeys.add(k);
    return { committed: this.committed, marker: this.marker, epoch: this.epoch, repairKeys };
  }
}

/** Most bytes of entries per produce request (Kafka's default message.max.bytes is ~1 MB). */
const MAX_REQUEST_BYTES = 512 * 1024;

/**
 * Appends a checkpoint to a changelog partition: the entries, in requests of at most ~512 KiB,
 * then the marker; resolves with the marker's offset once every record is acknowledged by all
 * in-sync replicas.
 */
export async function writeCheckpoint(
  producer: Producer,
  topic: string,
  partition: number,
  epoch: number,
  entries: ReadonlyMap<string, string | null>,
  marker: { id: number; meta: string },
): Promise<number> {
  const headers = { [EPOCH_HEADER]: String(epoch) };
  let batch: Array<{ key: string; value: string | null; partition: number; headers: typeof headers }> = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const messages = batch;
    batch = [];
    bytes = 0;
    await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
  };
  for (const [key, value] of entries) {
    const size = key.length + (value?.length ?? 0) + 64;
    if (bytes + size > MAX_REQUEST_BYTES) await flush();
    batch.push({ key, value, partition, headers });
    bytes += size;
  }
  await flush();
  const res = await producer.send({
    topic,
    acks: -1,
    messages: [{ key: MARKER_KEY, value: JSON.stringify(marker), partition, headers }],
  });
  const meta = res.find((r) => r.partition === partition);
  if (meta?.baseOffset === undefined) {
    throw new ExternalError(`changelog ${topic}/${partition}: no offset in the produce response`);
  }
  return Number(meta.baseOffset);
}

/** Appends an ownership claim; resolves with its offset. */
export async function writeClaim(
  producer: Producer,
  topic: string,
  partition: number,
  epoch: number,
  owner: string,
): Promise<number> {
  const res = await producer.send({
    topic,
    acks: -1,
    messages: [
      {
        key: CLAIM_KEY,
        value: JSON.stringify({ epoch, owner, at: new Date().toISOString() }),
        partition,
        headers: { [EPOCH_HEADER]: String(epoch) },
      },
    ],
  });
  const meta = res.find((r) => r.partition === partition);
  if (meta?.baseOffset === undefined) {
    throw new ExternalError(`changelog ${topic}/${partition}: no offset in the produce response`);
  }
  return Number(meta.baseOffset);
}

/** Options of {@link ChangelogReader}. */
export interface ChangelogReaderOptions {
  /** Prefix of the reader's own consumer group (host, pid and a random suffix are added). */
  readonly groupPrefix: string;
  readonly maxWaitTimeInMs?: number;
  readonly sessionTimeout?: number;
  readonly heartbeatInterval?: number;
  readonly logger?: Logger;
}

interface PendingRead {
  readonly from: number;
  readonly to: number;
  readonly onRecord: (rec: ChangelogRecord) => void;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Reads ranges of changelog partitions. kafkajs cannot assign partitions without a consumer
 * group, so the reader is a consumer of its own single-member group (no offsets are ever
 * committed), joined once when the job starts — a group's first join waits a few seconds
 * (`group.initial.rebalance.delay.ms`), which must not be paid at every restore. Every partition
 * stays paused except those being read: a read seeks its partition to `from`, resumes it, and
 * pauses it again once `to` is reached.
 *
 * @example
 * const reader = new ChangelogReader(kafka, 'g-llm-features-changelog', { groupPrefix: 'g' });
 * await reader.start();
 * await reader.read(3, 0, 1200, (rec) => fold.add(rec));
 * await reader.stop();
 */
export class ChangelogReader {
  private readonly consumer: Consumer;
  private readonly reads = new Map<number, PendingRead>();
  private assigned: number[] = [];
  private joined!: Promise<void>;
  private joinedNow!: () => void;
  private joinPending = false;
  private failed: unknown = null;
  private stopped = false;

  constructor(
    kafka: Kafka,
    readonly topic: string,
    private readonly opts: ChangelogReaderOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: `${opts.groupPrefix}.restore.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`,
      maxWaitTimeInMs: opts.maxWaitTimeInMs ?? 100,
      sessionTimeout: opts.sessionTimeout ?? 30_000,
      heartbeatInterval: opts.heartbeatInterval ?? 3000,
      allowAutoTopicCreation: false,
    });
  }

  /** Joins the reader's group (resolves once it holds every partition of the topic). */
  async start(): Promise<void> {
    const c = this.consumer;
    this.awaitJoin();
    c.on(c.events.GROUP_JOIN, (e) => {
      this.assigned = e.payload.memberAssignment[this.topic] ?? [];
      const idle = this.assigned.filter((p) => !this.reads.has(p));
      if (idle.length > 0) c.pause([{ topic: this.topic, partitions: idle }]);
      for (const [p, r] of this.reads) c.seek({ topic: this.topic, partition: p, offset: String(r.from) });
      this.joinedNow();
    });
    // A crash kafkajs gives up on: the reads in hand fail (their restores retry), and the reader
    // restarts its consumer, as the job does with its own; later reads wait for the rejoin.
    restartWhenKafkaJsGivesUp(c, {
      run: () => c.run(this.runConfig),
      stopping: () => this.stopped,
      onGaveUp: (err) => {
        for (const r of this.reads.values()) r.reject(err);
        this.reads.clear();
        this.awaitJoin();
      },
      onRestart: (attempt) => this.opts.logger?.warn({ attempt }, 'changelog reader crashed; restarting it'),
      onFatal: (err) => {
        this.failed = err;
        this.joinedNow();
      },
    });
    await c.connect();
    await c.subscribe({ topics: [this.topic], fromBeginning: true });
    await c.run(this.runConfig);
    await this.joined;
    if (this.failed !== null) throw this.failed;
  }

  /** A join to wait for (reads wait for it before seeking); kept if one is already awaited. */
  private awaitJoin(): void {
    if (this.joinPending) return;
    this.joinPending = true;
    this.joined = new Promise<void>((r) => {
      this.joinedNow = () => {
        this.joinPending = false;
        r();
      };
    });
  }

  private readonly runConfig = {
    autoCommit: false,
    eachBatch: async ({ batch }: EachBatchPayload) => {
      const c = this.consumer;
      const p = batch.partition;
      const r = this.reads.get(p);
      if (r === undefined) {
        c.pause([{ topic: this.topic, partitions: [p] }]);
        return;
      }
      try {
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset < r.from) continue;
          if (offset >= r.to) break;
          r.onRecord(toRecord(offset, m));
        }
      } catch (err) {
        this.finish(p, err);
        return;
      }
      if (Number(batch.lastOffset()) + 1 >= r.to) this.finish(p, null);
    },
  };

  /** Reads offsets `[from, to)` of one partition, calling `onRecord` in offset order. */
  async read(
    partition: number,
    from: number,
    to: number,
    onRecord: (rec: ChangelogRecord) => void,
  ): Promise<void> {
    if (from >= to) return;
    if (this.failed !== null) throw this.failed;
    if (this.reads.has(partition)) {
      throw new InternalError(`changelog ${this.topic}/${partition} is already being read`);
    }
    await this.joined;
    if (this.failed !== null) throw this.failed;
    await new Promise<void>((resolve, reject) => {
      this.reads.set(partition, { from, to, onRecord, resolve, reject });
      this.consumer.seek({ topic: this.topic, partition, offset: String(from) });
      this.consumer.resume([{ topic: this.topic, partitions: [partition] }]);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.reads.values()) r.reject(new ExternalError('the changelog reader stopped'));
    this.reads.clear();
    await this.consumer
      .disconnect()
      .catch((err: unknown) => this.opts.logger?.warn({ err: String(err) }, 'changelog reader disconnect'));
  }

  private finish(p: number, err: unknown): void {
    const r = this.reads.get(p);
    if (r === undefined) return;
    this.reads.delete(p);
    this.consumer.pause([{ topic: this.topic, partitions: [p] }]);
    if (err === null) r.resolve();
    else r.reject(err);
  }
}

function toRecord(offset: number, m: KafkaMessage): ChangelogRecord {
  const raw = m.headers?.[EPOCH_HEADER];
  const epoch = raw === undefined ? 0 : Number(Array.isArray(raw) ? raw[0] : raw);
  return {
    offset,
    key: m.key === null || m.key === undefined ? '' : m.key.toString('utf8'),
    value: m.value === null ? null : m.value.toString('utf8'),
    epoch: Number.isFinite(epoch) ? epoch : 0,
  };
}
