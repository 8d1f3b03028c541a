import type { ShardTask } from './shard-task.js';
import type { OffsetCommit } from './offset-committer.js';
import { encodeShardMeta } from './offset-metadata.js';
import type { KafkaJob } from './job.js';
import { resetShard } from './assignment.js';
import type { CommitLog } from '../loop.js';

// The commit seam of a Kafka member (`KafkaJob`, job.ts): shard checkpoints (each commits its
// own record to the changelog, see shard-task.ts) followed by the group offsets, source
// partitions' positions encoded by the Kafka driver.

/**
 * Checkpoints every ready shard (or those `only` picks), then commits the group offsets: the
 * checkpointed shards' positions and every source partition's. A shard's checkpoint stands on
 * its own (its state, position and outputs go to its changelog partition together), so a
 * subset is as safe as all; only a full round restarts the checkpoint interval.
 */
export async function checkpointAll(job: KafkaJob, only?: (task: ShardTask) => boolean): Promise<void> {
  if (only === undefined) job.lastCheckpoint = performance.now();
  const commits: OffsetCommit[] = [];
  for (const [s, slot] of [...job.shards]) {
    const task = slot.task;
    if (task === null || (only !== undefined && !only(task))) continue;
    try {
      if (await task.checkpoint()) job.counters.checkpoints++;
    } catch (err) {
      resetShard(job, s);
      throw err;
    }
    commits.push({
      topic: job.shardTopic,
      partition: s,
      offset: String(task.position),
      metadata: encodeShardMeta({ done: task.done, checkpoint: task.committedId }),
    });
  }
  if (job.mode === 'repartition') {
    for (const [p, t] of job.sources) {
      if (t.committed === null && t.next === 0 && !t.eof) continue;
      const at = job.driver.encodePosition({ offset: t.next, clock: t.base, eof: t.eof && t.eofSent });
      commits.push({ topic: job.sourceTopic, partition: p, offset: at.offset, metadata: at.meta });
    }
  }
  await job.committer.commit(job.consumer, commits);
}

/** A source partition's offset is in the group (a commit that landed, maybe in the background). */
export function offsetCommitted(job: KafkaJob, c: OffsetCommit): void {
  if (c.topic !== job.sourceTopic || job.mode !== 'repartition') return;
  const t = job.sources.get(c.partition);
  // Our own commits always carry our metadata (the driver encoded it in checkpointAll).
  const at = job.driver.decodePosition({ offset: c.offset, meta: c.metadata });
  if (t !== undefined && at !== null) t.committed = { offset: Number(c.offset), base: at.clock, eof: at.eof };
}

/**
 * A Kafka member's commit log in the job loop: after a batch, every shard at the interval, or the
 * shards that finished a bounded run in it; the final checkpoint when the member stops.
 */
export function kafkaCommitLog(job: KafkaJob): CommitLog {
  const interval = () => performance.now() - job.lastCheckpoint >= job.opts.checkpointIntervalMs;
  return {
    due: () => (job.stopping ? null : interval() ? 'interval' : job.checkpointWanted ? 'wanted' : null),
    checkpoint: async (kind) => {
      if (kind === 'all') return checkpointAll(job);
      const wanted = job.checkpointWanted;
      job.checkpointWanted = false;
      // Every shard at the interval; otherwise only those that just finished a bounded run
      // (the others go on: checkpointing them too would only pause them).
      if (interval()) await checkpointAll(job);
      else if (wanted) await checkpointAll(job, (task) => task.done);
    },
    final: async (exclusive) => {
      if (job.consumer === undefined) return;
      if (job.contact.fresh) {
        await finalCheckpoint(job, exclusive);
        return;
      }
      // The batch in hand waits on brokers that do not answer (kafkajs retries for minutes), and
      // a checkpoint could not reach them either: stop as after a crash.
      job.log.warn(
        { timeoutMs: job.contact.timeoutMs },
        'stopping without a final checkpoint: no contact with the kafka cluster; the shards resume at their last checkpoint (exactly once)',
      );
    },
  };
}

/**
 * The stopping member's last checkpoint, alone in the job loop (`exclusive`): finish the batch in
 * hand, checkpoint, then leave the group — unless that batch is stuck on brokers that keep failing.
 */
export async function finalCheckpoint(
  job: KafkaJob,
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<void> {
  // Finish the current batch, checkpoint, then leave the group — unless the batch in hand
  // is stuck on brokers that keep failing (kafkajs retries a produce for about a minute):
  // then stop without it, as after a crash (the shards resume at their last checkpoint).
  let started = false;
  const final = exclusive(async () => {
    if (job.finalGaveUp) return;
    started = true;
    // A commit still retrying in the background first, so that the final one is sent.
    await job.committer.settle(3000);
    await checkpointAll(job);
  }).catch((err: unknown) => job.log.warn({ err: String(err) }, 'final checkpoint failed'));
  // The lock within the wait; a checkpoint once begun is waited for (its steps are bounded).
  if (!(await within(final, FINAL_CHECKPOINT_WAIT_MS)) && !started) {
    job.finalGaveUp = true;
    job.log.warn(
      { waitedMs: FINAL_CHECKPOINT_WAIT_MS },
      'stopping without a final checkpoint: the batch in hand did not finish; the shards resume at their last checkpoint (exactly once)',
    );
  } else {
    await final;
  }
}

/** How long a stopping member waits for the batch in hand before it stops without a final checkpoint. */
const FINAL_CHECKPOINT_WAIT_MS = 10_000;

/** Whether `p` settles within `ms` (it goes on either way). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const r = await Promise.race([p.then(() => true), late]);
  clearTimeout(timer);
  return r;
}
