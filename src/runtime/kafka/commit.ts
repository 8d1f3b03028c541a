import type { ShardTask } from './shard-task.js';
import type { OffsetCommit } from './offset-committer.js';
import { encodeShardMeta } from './offset-metadata.js';
import type { KafkaJob } from './job.js';
import { resetShard } from './assignment.js';

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
  for (const c of await job.committer.commit(job.consumer, commits)) {
    if (c.topic === job.sourceTopic && job.mode === 'repartition') {
      const t = job.sources.get(c.partition);
      if (t !== undefined) t.committed = { offset: Number(c.offset), base: t.base, eof: t.eof && t.eofSent };
    }
  }
}
