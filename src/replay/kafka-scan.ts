import {
  createReadStream,
  fsyncSync,
  mkdirSync,
  openSync,
  closeSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import { type PayloadFormat, PayloadDecoder } from '../connectors/kafka/payload.js';
import { kafkaClient } from '../connectors/kafka/client.js';
import { checkKafkaTls } from '../connectors/kafka/security.js';
import { connectionSettings } from '../shared/connections.js';
import { ConfigError, ExternalError } from '../shared/errors.js';
import type { DecodeFn } from '../../operators/schemas.js';
import type { ScanResult } from './scan.js';

/** Where a replay reads from Kafka. */
export interface KafkaReplaySource {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly format: PayloadFormat;
  readonly schemaRegistry: string | null;
}

/** One source partition of a Kafka replay: the offsets it reads, `[start, end)`. */
export interface KafkaScanPartition {
  readonly partition: number;
  /** The first offset whose timestamp is ≥ the seek time (`end` when there is none). */
  readonly start: string;
  /** The partition's end offset (high watermark) when the replay started. */
  readonly end: string;
  /**
   * How `start` was found: `timestamp` — the broker's offset for the seek time; `log-start` — the
   * broker does not look offsets up by time (it answers the end offset even for time 0 on a
   * non-empty partition, as librdkafka's mock cluster does), so the scan reads from the first
   * offset and drops the older events itself.
   */
  readonly seek: 'timestamp' | 'log-start';
}

/** What a Kafka scan read, beside the file scan's counts. */
export interface KafkaScanResult extends ScanResult {
  readonly partitions: readonly KafkaScanPartition[];
  /** The consumer group the scan read in (its own; it never commits offsets). */
  readonly group: string;
}

const client = (src: KafkaReplaySource) =>
  kafkaClient({ brokers: src.brokers, clientId: 'featurestream-replay' });

/**
 * The offsets a replay reads per partition: from the first message with a timestamp at or after
 * `seekAt` (admin `fetchTopicOffsetsByTimestamp`) to the end offset now (`fetchTopicOffsets`).
 * Read-only: no group is joined and no offset is committed.
 */
export async function kafkaScanPlan(src: KafkaReplaySource, seekAt: number): Promise<KafkaScanPartition[]> {
  const admin = client(src).admin();
  try {
    // A certificate problem fails at once, naming the broker (kafkajs would retry it).
    await checkKafkaTls(src.brokers, connectionSettings().kafka);
    await admin.connect();
    return await partitionsOf(admin, src.topic, seekAt);
  } catch (err) {
    if (err instanceof ConfigError || (err instanceof ExternalError && !err.retryable)) throw err;
    throw new ExternalError(`--kafka: cannot read the offsets of ${src.topic}: ${String(err)}`, {
      cause: err,
      field: '--kafka',
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The admin calls {@link partitionsOf} makes (a kafkajs `Admin` has them). */
export type OffsetsAdmin = Pick<Admin, 'listTopics' | 'fetchTopicOffsets' | 'fetchTopicOffsetsByTimestamp'>;

/**
 * Per partition, `[start, end)`: `start` is the broker's offset for `seekAt` (offsets for times),
 * `end` the high watermark now. A broker that answers the end offset of a non-empty partition
 * for time 0 does not look offsets up by time; those partitions start at their first offset.
 */
export async function partitionsOf(
  admin: OffsetsAdmin,
  topic: string,
  seekAt: number,
): Promise<KafkaScanPartition[]> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic))
    throw new ConfigError(`--topic: no topic "${topic}" on the cluster`, { field: '--topic' });
  const ends = await admin.fetchTopicOffsets(topic);
  const byTime = async (t: number) =>
    new Map((await admin.fetchTopicOffsetsByTimestamp(topic, t)).map((s) => [s.partition, BigInt(s.offset)]));
  const starts = await byTime(seekAt);
  const probe = await byTime(0);
  return ends
    .map((e): KafkaScanPartition => {
      const low = BigInt(e.low);
      const high = BigInt(e.high);
      const first = probe.get(e.partition);
      if (low < high && (first === undefined || first < 0n || first >= high)) {
        return { partition: e.partition, start: e.low, end: e.high, seek: 'log-start' };
      }
      let s = starts.get(e.partition) ?? high;
      // No message at or after the time: kafkajs answers the high watermark (a broker may say −1).
      if (s < 0n || s > high) s = high;
      if (s < low) s = low;
      return { partition: e.partition, start: String(s), end: e.high, seek: 'timestamp' };
    })
    .sort((a, b) => a.partition - b.partition);
}

/**
 * Copies the events a replay needs from a Kafka topic into `out` (NDJSON), like
 * {@link scanInputs} for files:
 *
 * - per partition it starts at the first offset whose timestamp is ≥ `seekAt` (offsets for
 *   times) and stops at the first event with event time ≥ `stopAt` or at the end offset seen when
 *   it started, whichever comes first;
 * - it reads in its own consumer group (`group`), seeking each assigned partition and never
 *   committing: the live group's offsets are not touched, and the replay group keeps none;
 * - it keeps the events with event time ≥ `readFrom` (payloads decoded as the run decodes them:
 *   JSON, or schema-registry framed Avro / JSON Schema); lines that do not decode are left out;
 * - the partitions are merged by event time (each partition in offset order, ties by partition),
 *   so the file — and the replay over it — do not depend on how fetches interleaved.
 *
 * The file is written under a temporary name and renamed, so it exists only complete.
 *
 * @example
 * await scanKafka({ brokers: ['127.0.0.1:9092'], topic: 'llm-events', format: 'auto',
 *   schemaRegistry: null }, { out: 'state/replay-events.ndjson', readFrom, stopAt, seekAt,
 *   group: 'featurestream-replay-1234', logger });
 */
export async function scanKafka(
  src: KafkaReplaySource,
  opts: {
    readonly out: string;
    readonly readFrom: number;
    readonly stopAt: number;
    readonly seekAt: number;
    readonly group: string;
    readonly logger: Logger;
    /** The decoder of the replayed topology's schema (`schemaDecoder`). */
    readonly decode: DecodeFn;
    readonly onProgress?: (read: number, total: number, kept: number) => void;
  },
): Promise<KafkaScanResult> {
  const kafka = client(src);
  const admin = kafka.admin();
  let partitions: KafkaScanPartition[];
  try {
    // A certificate problem fails at once, naming the broker (kafkajs would retry it).
    await checkKafkaTls(src.brokers, connectionSettings().kafka);
    await admin.connect();
    partitions = await partitionsOf(admin, src.topic, opts.seekAt);
  } catch (err) {
    if (err instanceof ConfigError || (err instanceof ExternalError && !err.retryable)) throw err;
    throw new ExternalError(`--kafka: cannot read the offsets of ${src.topic}: ${String(err)}`, {
      cause: err,
      field: '--kafka',
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const parts = `${opts.out}.partitions`;
  rmSync(parts, { recursive: true, force: true });
  mkdirSync(parts, { recursive: true });
  const fds = new Map<number, number>();
  for (const p of partitions) fds.set(p.partition, openSync(join(parts, `p-${p.partition}.txt`), 'w'));
  const total = partitions.reduce((n, p) => n + Number(BigInt(p.end) - BigInt(p.start)), 0);
  const pending = new Set(partitions.filter((p) => BigInt(p.start) < BigInt(p.end)).map((p) => p.partition));
  const endOf = new Map(partitions.map((p) => [p.partition, BigInt(p.end)]));
  let linesRead = 0;
  let linesKept = 0;
  let stoppedEarly = false;
  const decoder = new PayloadDecoder({ format: src.format, registryUrl: src.schemaRegistry });
  try {
    if (pending.size > 0) {
      const consumer = kafka.consumer({
        groupId: opts.group,
        maxWaitTimeInMs: 100,
        allowAutoTopicCreation: false,
        retry: { retries: 5 },
      });
      let finish!: () => void;
      let fail!: (err: unknown) => void;
      const finished = new Promise<void>((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
      consumer.on(consumer.events.CRASH, (e) => {
        if (e.payload.restart !== true) fail(e.payload.error);
      });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [src.topic], fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const p = batch.partition;
            if (!pending.has(p)) return;
            const end = endOf.get(p)!;
            const values: Array<Buffer | null> = [];
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              values.push(m.value);
            }
            const decoded = await decoder.decode(values);
            let chunk = '';
            let done = false;
            let last = -1n;
            for (let i = 0; i < values.length; i++) {
              last = BigInt(batch.messages[i]!.offset);
              linesRead++;
              const line = decoded.line(i);
              const r = opts.decode(line);
              if (!r.ok) continue;
              if (r.event.ts >= opts.stopAt) {
                done = true;
                stoppedEarly = true;
                break;
              }
              if (r.event.ts < opts.readFrom) continue;
              chunk += `${r.event.ts} ${line}\n`;
              linesKept++;
            }
            if (chunk.length > 0) writeSync(fds.get(p)!, chunk);
            // The batch's last offset also counts records the fetch skipped (compaction gaps,
            // transaction markers), so a partition whose data ends before its end offset finishes.
            if (last >= end - 1n || BigInt(batch.lastOffset()) >= end - 1n) done = true;
            opts.onProgress?.(linesRead, total, linesKept);
            if (done && pending.delete(p)) {
              consumer.pause([{ topic: src.topic, partitions: [p] }]);
              if (pending.size === 0) finish();
            }
          },
        });
        // Seek every partition this member reads to its start (applied when it is assigned).
        for (const p of partitions) {
          if (pending.has(p.partition))
            consumer.seek({ topic: src.topic, partition: p.partition, offset: p.start });
        }
        const unsupported = partitions.filter((p) => p.seek === 'log-start').map((p) => p.partition);
        if (unsupported.length > 0) {
          opts.logger.warn(
            { partitions: unsupported },
            'replay: the broker does not look offsets up by time; reading these partitions from their first offset',
          );
        }
        opts.logger.info({ group: opts.group, partitions }, 'replay: reading Kafka');
        await finished;
      } finally {
        await consumer.disconnect().catch(() => undefined);
      }
    }
    for (const fd of fds.values()) fsyncSync(fd);
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  await mergeByTime(
    partitions.map((p) => join(parts, `p-${p.partition}.txt`)),
    opts.out,
  );
  rmSync(parts, { recursive: true, force: true });
  return { linesRead, linesKept, stoppedEarly, partitions, group: opts.group };
}

/** Merges files of `"<ts> <line>"` lines (each in its own order) by ts, ties by file; writes the lines. */
async function mergeByTime(files: readonly string[], out: string): Promise<void> {
  const its = files.map((f) =>
    createInterface({ input: createReadStream(f), crlfDelay: Infinity })[Symbol.asyncIterator](),
  );
  const heads: Array<{ ts: number; line: string } | null> = [];
  const next = async (i: number) => {
    const r = await its[i]!.next();
    if (r.done === true) {
      heads[i] = null;
      return;
    }
    const sp = r.value.indexOf(' ');
    heads[i] = { ts: Number(r.value.slice(0, sp)), line: r.value.slice(sp + 1) };
  };
  for (let i = 0; i < its.length; i++) await next(i);
  const tmp = `${out}.partial`;
  const fd = openSync(tmp, 'w');
  try {
    let chunk = '';
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h != null && (best < 0 || h.ts < heads[best]!.ts)) best = i;
      }
      if (best < 0) break;
      chunk += `${heads[best]!.line}\n`;
      if (chunk.length > 1 << 16) {
        writeSync(fd, chunk);
        chunk = '';
      }
      await next(best);
    }
    if (chunk.length > 0) writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
}
