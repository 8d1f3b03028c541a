import { addProviderStats } from '../../../operators/providers.js';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { produceDeadLetters } from '../../connectors/kafka/dead-letter-topic.js';
import { decodeFrame, encodeFrame, type RepartitionFrame } from '../../connectors/kafka/frame.js';
import { ExternalError, FeaturestreamError } from '../../shared/errors.js';
import type { SourceChunk, SourceTask } from './source-task.js';
import { deadLetterShareError } from '../dead-letter-policy.js';
import type { KafkaJob } from './job.js';
import { resetShard, shardTask, withHeartbeat } from './assignment.js';
import { checkpointAll } from './commit.js';
import { CheckpointFirst, type Work } from '../loop.js';

// The source-stage seam of a Kafka member (`KafkaJob`, job.ts): kafkajs batches as units of the job loop —
// source batches decoded and sent as repartition frames (or, in direct mode, straight to their
// shard), shard batches processed, and the repartition backlog's backpressure on the sources.

/** A rebalance noticed inside a batch: the batch ends, every shard checkpoints, kafkajs rejoins. */
export class RevokeCheckpoint extends CheckpointFirst {
  constructor(rebalance: unknown) {
    super(rebalance, 'rebalance: checkpoint before rejoining');
  }
}

export const isRebalancing = (e: unknown): boolean => {
  const t = (e as { type?: unknown } | null)?.type;
  return t === 'REBALANCE_IN_PROGRESS' || t === 'NOT_COORDINATOR_FOR_GROUP' || t === 'ILLEGAL_GENERATION';
};

export async function onBatch(
  job: KafkaJob,
  { batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload,
): Promise<void> {
  if (job.stopping || !isRunning() || isStale()) return;
  try {
    await heartbeat();
  } catch (err) {
    if (isRebalancing(err)) {
      // Revoke: whatever we lose, its state is in the changelog before we rejoin.
      const now = performance.now();
      if (now - job.lastRevoke > 1000) job.log.info('rebalance: checkpointing before rejoining');
      job.lastRevoke = now;
      throw new RevokeCheckpoint(err);
    }
    throw err;
  }
  const resolve = (offset: number) => resolveOffset(String(offset));
  if (batch.topic === job.sourceTopic) {
    await onSourceBatch(
      job,
      batch.partition,
      batch.messages,
      Number(batch.highWatermark),
      heartbeat,
      resolve,
    );
  } else if (batch.topic === job.shardTopic) {
    job.shardHigh.set(batch.partition, Number(batch.highWatermark));
    await onShardBatch(job, batch.partition, batch.messages, heartbeat);
    resolve(Number(batch.lastOffset()));
    maybeResumeSources(job);
  }
  const lag = Number(batch.highWatermark) - (Number(batch.lastOffset()) + 1);
  job.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, lag));
}

export async function onSourceBatch(
  job: KafkaJob,
  p: number,
  messages: KafkaMessage[],
  highWatermark: number,
  heartbeat: () => Promise<void>,
  resolve: (offset: number) => void,
): Promise<void> {
  const t = job.sources.get(p);
  if (t === undefined) return;
  if (job.mode === 'direct') {
    await onDirectBatch(job, t, messages, heartbeat, resolve);
    return;
  }
  await withHeartbeat(t.ready, heartbeat, () => job.stopping);
  // Repartition mode: gather while the partition has more to read, up to a chunk, so frames
  // are large; kafkajs reads on (the gathered messages are re-read from the committed offset
  // after a crash or a rebalance, as any not yet sent).
  t.gather(messages);
  if (messages.length > 0) resolve(Number(messages[messages.length - 1]!.offset));
  const more = t.readTo < highWatermark && (t.end === null || t.readTo < t.end);
  if (more && t.gathered < (job.opts.chunkRecords ?? 1000)) return;
  await sendGathered(job, t);
}

/**
 * Decodes a source partition's gathered messages a chunk at a time and sends each chunk's
 * frames; stops (pausing the sources) while the shards are more than `maxRepartitionLag`
 * frames behind — what is left waits, gathered, for the next batch or housekeeping.
 */
export async function sendGathered(job: KafkaJob, t: SourceTask): Promise<void> {
  const size = job.opts.chunkRecords ?? 1000;
  while (t.gathered > 0) {
    if (backlogged(job, job.maxLag)) {
      pauseSources(job);
      return;
    }
    // All that is gathered (a chunk and the batch that completed it) in one decode, within reason.
    const chunk = await t.decode(t.peek(2 * size), job.decoder, job.stage, job.shardsP);
    addProviderStats(job.provided, chunk.provided);
    await sendFrames(job, t.partition, chunk.frames);
    await chunkDone(job, t, chunk);
  }
  if (t.eof) job.consumer.pause([{ topic: job.sourceTopic, partitions: [t.partition] }]);
}

/** A source partition's frames, one per shard, to the repartition topic; notes the partitions' ends. */
export async function sendFrames(
  job: KafkaJob,
  p: number,
  frames: readonly RepartitionFrame[],
): Promise<void> {
  const ends = await job.outbox.send(
    frames.map((f, s) => ({ partition: s, key: String(p), value: encodeFrame(f) })),
  );
  for (const [s, high] of ends) if (high > (job.shardHigh.get(s) ?? 0)) job.shardHigh.set(s, high);
}

/** A chunk's records are with their shards: its dead letters to their topic, then move on. */
export async function chunkDone(job: KafkaJob, t: SourceTask, chunk: SourceChunk): Promise<void> {
  if ((job.opts.deadLetterTopic ?? null) !== null && chunk.deadLetters.length > 0) {
    await produceDeadLetters(job.producer, job.opts.deadLetterTopic!, chunk.deadLetters);
  }
  t.advance(chunk);
  job.counters.events += chunk.events;
  job.metrics.events.inc(chunk.events);
  const over = job.dlWindow?.add(
    chunk.events,
    chunk.deadLetters.map((d) => d.reason),
  );
  if (over !== null && over !== undefined && job.dlStopped === null) {
    job.dlStopped = deadLetterShareError(
      `--topic ${job.sourceTopic} (the partitions this member reads)`,
      over,
      job.dlWindow!.policy,
      `a window of ${over.records.toLocaleString('en-US')} records`,
      'records',
    );
    job.log.error({ err: job.dlStopped.message }, 'stopping: too many dead letters');
    // Gracefully, as on SIGTERM: finish the batch, checkpoint every shard, leave the group.
    job.finish('signal');
  }
}

/** Direct mode: a source partition is its own shard; each chunk goes straight to the shard task. */
export async function onDirectBatch(
  job: KafkaJob,
  t: SourceTask,
  messages: KafkaMessage[],
  heartbeat: () => Promise<void>,
  resolve: (offset: number) => void,
): Promise<void> {
  const p = t.partition;
  const ready = shardTask(job, p, heartbeat);
  if (ready === null) return;
  const shard = await ready;
  t.init(shard.position, shard.partitionClock(p), shard.allEof());
  const todo = t.pending(messages);
  const size = job.opts.chunkRecords ?? 1000;
  for (let i = 0; i < todo.length; i += size) {
    const chunk = await t.decode(todo.slice(i, i + size), job.decoder, job.stage, 1);
    addProviderStats(job.provided, chunk.provided);
    try {
      await shard.process([{ offset: chunk.next - 1, frame: chunk.frames[0]! }], Date.now());
    } catch (err) {
      resetShard(job, p);
      throw err;
    }
    await chunkDone(job, t, chunk);
    resolve(chunk.next - 1);
  }
  // Records before `next` or past the end were skipped: they count as done.
  if (messages.length > 0) resolve(Number(messages[messages.length - 1]!.offset));
  if (shard.done) await checkpointAll(job);
  if (t.eof) job.consumer.pause([{ topic: job.sourceTopic, partitions: [p] }]);
}

export async function onShardBatch(
  job: KafkaJob,
  s: number,
  messages: KafkaMessage[],
  heartbeat: () => Promise<void>,
): Promise<void> {
  const ready = shardTask(job, s, heartbeat);
  if (ready === null) return;
  const task = await ready;
  const first = messages.length === 0 ? task.position : Number(messages[0]!.offset);
  if (first > task.position) {
    // kafkajs jumps to the earliest offset when ours was deleted: frames were lost (retention).
    throw new ExternalError(
      `repartition topic ${job.shardTopic} partition ${s} lost frames ${task.position}…${first - 1} ` +
        'before this shard read them (retention too short for the lag); the output would be incomplete',
      { retryable: false },
    );
  }
  const items = [];
  for (const m of messages) {
    const offset = Number(m.offset);
    if (offset < task.position || m.value === null) continue;
    items.push({ offset, frame: decodeFrame(m.value) });
  }
  if (items.length === 0) return;
  try {
    await task.process(items, Date.now());
  } catch (err) {
    resetShard(job, s);
    throw err;
  }
  // The shard finished a bounded run: checkpoint right after this batch (exclusive).
  if (task.done && task.dirty) job.checkpointWanted = true;
}

/** Frames between a shard partition's end and where its shard is (own shards: live; others: committed). */
export function shardLag(job: KafkaJob, s: number): number {
  const high = job.shardHigh.get(s) ?? 0;
  const pos = job.shards.get(s)?.task?.position ?? job.shardCommitted.get(s) ?? 0;
  return Math.max(0, high - pos);
}

export function backlogged(job: KafkaJob, limit: number): boolean {
  if (job.mode === 'direct') return false;
  for (let s = 0; s < job.shardsP; s++) if (shardLag(job, s) > limit) return true;
  return false;
}

export function pauseSources(job: KafkaJob): void {
  if (job.sourcesPaused) return;
  job.sourcesPaused = true;
  job.log.debug({ maxLag: job.maxLag }, 'repartition backlog: pausing the source partitions');
  const partitions = [...job.sources.keys()];
  if (partitions.length > 0) job.consumer.pause([{ topic: job.sourceTopic, partitions }]);
}

export function maybeResumeSources(job: KafkaJob): void {
  if (!job.sourcesPaused || backlogged(job, Math.floor(job.maxLag / 2))) return;
  job.sourcesPaused = false;
  const partitions = [...job.sources.values()].filter((t) => !t.eof).map((t) => t.partition);
  if (partitions.length > 0) job.consumer.resume([{ topic: job.sourceTopic, partitions }]);
}

/** Refreshes the repartition backlog of shards held elsewhere (their committed offsets and ends). */
export async function pollShardLag(job: KafkaJob): Promise<void> {
  const [ends, offs] = await Promise.all([
    job.admin.fetchTopicOffsets(job.shardTopic),
    job.admin.fetchOffsets({ groupId: job.opts.group, topics: [job.shardTopic] }),
  ]);
  for (const e of ends) {
    const high = Number(e.high);
    if (high > (job.shardHigh.get(e.partition) ?? 0)) job.shardHigh.set(e.partition, high);
  }
  for (const x of offs[0]?.partitions ?? []) {
    const o = Number(x.offset);
    if (o >= 0) job.shardCommitted.set(x.partition, o);
  }
}

/**
 * A kafkajs batch as a unit of the job loop: shared in repartition mode (a source batch touches
 * only its source task, a shard batch only its shard), exclusive in direct mode. A rebalance
 * noticed in the batch checkpoints every shard (the loop, alone) before kafkajs rejoins.
 * `settle` returns the batch to kafkajs (`eachBatch`), failed or not.
 */
export function batchWork(job: KafkaJob, payload: EachBatchPayload, settle: (err: unknown) => void): Work {
  return {
    exclusive: job.mode !== 'repartition',
    run: async () => {
      try {
        await onBatch(job, payload);
      } catch (err) {
        if (err instanceof RevokeCheckpoint || job.stopping) throw err;
        if (err instanceof FeaturestreamError && !err.retryable) {
          // Ours and final (lost frames, a bug): retrying the batch cannot help.
          job.fatal(err);
          return;
        }
        if (!isRebalancing(err)) {
          const { topic, partition } = payload.batch;
          job.log.warn({ topic, partition, err: String(err) }, 'batch failed; kafkajs retries it');
        }
        throw err;
      }
    },
    settle,
  };
}
