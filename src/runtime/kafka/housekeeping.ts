import { decodeShardMeta, decodeSourceMeta } from './offset-metadata.js';
import type { KafkaJob } from './job.js';
import { checkpointAll } from './commit.js';
import { maybeResumeSources, pollShardLag, sendFrames, sendGathered } from './source-stage.js';

// The housekeeping seam of a Kafka member (`KafkaJob`, job.ts), a tick of the job loop every 200 ms (alone):
// gathered source records sent, ends of input, idle checkpoints, completion of a bounded run.

/** Runs every 200 ms, alone in the job loop: ends of input, idle checkpoints, completion of a bounded run. */
export async function housekeep(job: KafkaJob): Promise<void> {
  if (job.stopping || !job.joined) return;
  const now = Date.now();
  if (job.sourcesPaused && now - job.lastLagPoll > 1000) {
    job.lastLagPoll = now;
    await pollShardLag(job);
  }
  maybeResumeSources(job);
  // What a source batch left gathered when the shards were behind: no later batch may come.
  if (job.mode === 'repartition' && !job.sourcesPaused)
    for (const t of job.sources.values())
      if (t.gathered > 0 && performance.now() - t.lastGather >= 200 && (await settled(t.ready)))
        await sendGathered(job, t);
  if (job.opts.stopAtEnd) {
    if (job.mode === 'repartition') {
      for (const t of job.sources.values()) {
        if (!t.eof || t.eofSent) continue;
        if (!(await settled(t.ready))) continue;
        if (!t.eof || t.eofSent) continue;
        await sendFrames(job, t.partition, t.eofFrames(job.shardsP));
        t.eofSent = true;
        job.consumer.pause([{ topic: job.sourceTopic, partitions: [t.partition] }]);
      }
    } else {
      for (const slot of job.shards.values()) {
        const task = slot.task;
        if (task === null || task.done) continue;
        const end = job.endOffsets![slot.shard]!;
        if (task.position >= end) await task.endOfInput(slot.shard, now);
      }
    }
  }
  const dirty = [...job.shards.values()].some((s) => s.task?.dirty === true);
  const due = performance.now() - job.lastCheckpoint >= job.opts.checkpointIntervalMs;
  const sourcesMoved =
    job.mode === 'repartition' &&
    [...job.sources.values()].some(
      (t) => (t.next > 0 || t.eofSent) && !job.committer.isAt(job.sourceTopic, t.partition, t.next),
    );
  // Also while offsets the group does not have yet are waiting (a commit failed or goes on).
  if ((dirty || sourcesMoved || job.committer.behind) && (due || ownWorkDone(job))) await checkpointAll(job);
  if (job.opts.stopAtEnd && ownWorkDone(job) && now - job.lastDonePoll > 1000) {
    job.lastDonePoll = now;
    if (await jobDone(job)) {
      job.log.info('every partition reached its end: the bounded run is complete');
      job.finish('end');
    }
  }
}

/** This member's assigned work is finished and checkpointed. */
export function ownWorkDone(job: KafkaJob): boolean {
  if (job.restoring > 0) return false;
  for (const slot of job.shards.values())
    if (slot.task === null || !slot.task.done || slot.task.dirty) return false;
  if (job.mode === 'repartition') for (const t of job.sources.values()) if (!t.eofSent) return false;
  return true;
}

/** The whole group finished a bounded run: every partition's committed metadata says so. */
export async function jobDone(job: KafkaJob): Promise<boolean> {
  const topics = job.mode === 'direct' ? [job.sourceTopic] : [job.sourceTopic, job.shardTopic];
  const offs = await job.admin.fetchOffsets({ groupId: job.opts.group, topics });
  for (const t of offs) {
    const expected = t.topic === job.sourceTopic ? job.partitionsN : job.shardsP;
    if (t.partitions.length < expected) return false;
    for (const x of t.partitions) {
      const ok =
        t.topic === job.shardTopic
          ? decodeShardMeta(x.metadata)?.done === true
          : decodeSourceMeta(x.metadata)?.eof === true;
      if (!ok) return false;
    }
  }
  return true;
}

/** Whether a promise has resolved (false while pending or rejected), without waiting. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol();
  try {
    return (await Promise.race([p, Promise.resolve(marker)])) !== marker;
  } catch {
    return false;
  }
}
