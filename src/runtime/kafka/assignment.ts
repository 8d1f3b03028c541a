import { ExternalError, InternalError } from '../../shared/errors.js';
import type { ShardTask } from './shard-task.js';
import { restoreShards } from './shard-restore.js';
import { SourceTask } from './source-task.js';
import type { KafkaJob, ShardSlot } from './job.js';

// The assignment seam of a Kafka member (`KafkaJob`, job.ts): what a group join gives and takes
// — source partitions resume at their committed positions (the Kafka driver), shards are
// retired, kept or restored from the changelog, one operation at a time per shard.

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function onJoin(job: KafkaJob, assignment: Record<string, number[]>): void {
  // Leaving: the group rebalanced because a member (maybe this one) left; nothing to take on.
  if (job.stopping) return;
  job.joined = true;
  job.consumerDown = false;
  // Offsets asked for under the last assignment: the next checkpoint asks for this one's.
  job.committer.forgetWanted();
  job.counters.rebalances++;
  job.metrics.rebalances.inc();
  const src = new Set(assignment[job.sourceTopic] ?? []);
  const shd = job.mode === 'direct' ? src : new Set(assignment[job.shardTopic] ?? []);
  job.metrics.assigned.set({ topic: job.sourceTopic }, src.size);
  if (job.mode === 'repartition') job.metrics.assigned.set({ topic: job.shardTopic }, shd.size);
  job.log.info({ source: [...src], shards: [...shd] }, 'partitions assigned');
  job.opts.onAssignment?.({
    source: [...src].sort((a, b) => a - b),
    shards: [...shd].sort((a, b) => a - b),
  });
  // Start unpaused; backpressure and ends of input pause again as needed.
  job.sourcesPaused = false;
  if (src.size > 0) job.consumer.resume([{ topic: job.sourceTopic, partitions: [...src] }]);

  // Source partitions: the consumer resumes from the committed offsets; so do we.
  for (const [p, t] of job.sources) {
    if (!src.has(p)) {
      job.sources.delete(p);
    } else if (job.mode === 'repartition') {
      t.resetToCommitted();
      if (t.committed !== null) job.driver.read(p, { ...t.committed, clock: t.committed.base });
    }
  }
  const freshSources = [...src].filter((p) => !job.sources.has(p));
  const end = (p: number) => (job.endOffsets === null ? null : job.endOffsets[p]!);
  for (const p of freshSources) job.sources.set(p, new SourceTask(p, job.sourceTopic, end(p)));
  if (job.mode === 'repartition' && freshSources.length > 0) {
    const ready = loadCommitted(job, freshSources);
    ready.catch(() => undefined);
    for (const p of freshSources) job.sources.get(p)!.ready = ready;
  }

  // Shards: close the lost ones (no writes: the new owner restores from the changelog); check
  // the kept ones (another member may have held them in between); restore the new ones.
  const retained = new Map<number, ShardTask>();
  const again: number[] = [];
  for (const [s, slot] of job.shards) {
    if (!shd.has(s)) {
      job.shards.delete(s);
      retireSlot(job, slot);
    } else if (slot.task !== null) {
      retained.set(s, slot.task);
      slot.task = null;
    } else if (slot.ready === null) {
      again.push(s);
    }
  }
  const freshShards = [...shd].filter((s) => !job.shards.has(s));
  for (const s of freshShards) job.shards.set(s, { shard: s, task: null, ready: null });
  const todo = [...retained.keys(), ...again, ...freshShards];
  if (todo.length > 0) startRestore(job, todo, retained);
}

export function retireSlot(job: KafkaJob, slot: ShardSlot): void {
  const s = slot.shard;
  const held = slot.task;
  const ready = slot.ready;
  const closing = serialShard(job, s, async () => {
    const task = held ?? (await ready?.catch(() => null)) ?? null;
    if (task !== null && !task.closed) {
      job.retiredCounters.push(task.countersSinceOpen());
      await task.close();
    }
  });
  closing.catch((err: unknown) => job.log.warn({ shard: s, err: String(err) }, 'closing a shard failed'));
  slot.task = null;
}

export function serialShard<T>(job: KafkaJob, s: number, fn: () => Promise<T>): Promise<T> {
  const prev = job.shardOps.get(s) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  job.shardOps.set(
    s,
    next.catch(() => undefined),
  );
  return next;
}

/**
 * Restores shards in one changelog session; each slot gets its own promise. Shards this member
 * kept across a rebalance (`retained`) keep their in-memory state unless another member wrote
 * to their changelog since (they were someone else's in between): then they are restored too.
 */
export function startRestore(job: KafkaJob, shards: number[], retained = new Map<number, ShardTask>()): void {
  const slots = shards.map((s) => job.shards.get(s)!);
  job.restoring += shards.length;
  // Wait for earlier operations on these shards' local state (e.g. a close in progress).
  const previous = Promise.all(shards.map((s) => job.shardOps.get(s) ?? Promise.resolve()));
  const all = previous.then(async () => {
    const out = new Map<number, ShardTask>();
    const toRestore = shards.filter((s) => !retained.has(s));
    try {
      if (retained.size > 0) {
        const ends = await job.admin.fetchTopicOffsets(job.changelogTopic);
        const high = new Map(ends.map((o) => [o.partition, Number(o.high)]));
        for (const [s, task] of retained) {
          if ((high.get(s) ?? 0) <= task.changelogEnd) {
            out.set(s, task);
            continue;
          }
          job.log.info({ shard: s }, 'another member wrote this shard since; restoring it');
          job.retiredCounters.push(task.countersSinceOpen());
          retained.delete(s);
          await task.close();
          toRestore.push(s);
        }
      }
    } catch (err) {
      for (const task of retained.values()) {
        job.retiredCounters.push(task.countersSinceOpen());
        await task.close().catch(() => undefined);
      }
      throw err;
    }
    if (toRestore.length > 0) {
      const restored = await restoreShards(job.ctx, toRestore, {
        admin: job.admin,
        reader: job.reader!,
      });
      job.counters.restored += restored.size;
      for (const [s, t] of restored) out.set(s, t);
    }
    return out;
  });
  for (const s of shards)
    job.shardOps.set(
      s,
      all.catch(() => undefined),
    );
  all.then(
    () => {
      job.restoring -= shards.length;
    },
    (err: unknown) => {
      job.restoring -= shards.length;
      job.log.warn({ shards, err: String(err) }, 'restore failed; will retry on the next batch');
    },
  );
  for (const slot of slots) {
    const mine = all.then((tasks) => {
      const task = tasks.get(slot.shard)!;
      if (job.shards.get(slot.shard) !== slot) {
        // Lost while restoring.
        if (!task.closed) job.retiredCounters.push(task.countersSinceOpen());
        serialShard(job, slot.shard, () => task.close()).catch(() => undefined);
        throw new InternalError(`shard ${slot.shard} was revoked while restoring`);
      }
      slot.task = task;
      seekShard(job, slot.shard, task);
      return task;
    });
    mine.catch(() => {
      if (slot.task === null && job.shards.get(slot.shard) === slot) slot.ready = null;
    });
    slot.ready = mine;
  }
}

/** Resumes reading a shard's input where its state is (records before it are in the state). */
export function seekShard(job: KafkaJob, s: number, task: ShardTask): void {
  try {
    job.consumer.seek({ topic: job.shardTopic, partition: s, offset: String(task.position) });
  } catch (err) {
    job.log.debug({ shard: s, err: String(err) }, 'seek skipped');
  }
}

export async function loadCommitted(job: KafkaJob, partitions: number[]): Promise<void> {
  const offs = await job.admin.fetchOffsets({ groupId: job.opts.group, topics: [job.sourceTopic] });
  const byPartition = new Map((offs[0]?.partitions ?? []).map((x) => [x.partition, x]));
  for (const p of partitions) {
    const t = job.sources.get(p);
    if (t === undefined) continue;
    const c = byPartition.get(p);
    // No metadata, or someone else's: start with an unknown clock.
    const at =
      job.driver.decodePosition(c === undefined ? null : { offset: c.offset, meta: c.metadata }) ??
      job.driver.start();
    t.init(at.offset, at.clock, at.eof);
    job.committer.remember(job.sourceTopic, p, at.offset ?? -1, c?.metadata ?? null);
  }
}

/** Waits for a promise while keeping the group session alive. */
export async function withHeartbeat<T>(
  p: Promise<T>,
  heartbeat: () => Promise<void>,
  stopping: () => boolean,
): Promise<T> {
  for (;;) {
    const r = await Promise.race([p.then((v) => ({ v })), sleep(1000).then(() => null)]);
    if (r !== null) return r.v;
    // Stopping: the batch gives up waiting (a restore may wait on brokers that do not answer)
    // so that the final checkpoint gets the lock; what it did not do is redone after a restart.
    if (stopping()) throw new ExternalError('stopping: the batch in hand is given up', { retryable: true });
    await heartbeat();
  }
}

export function shardTask(
  job: KafkaJob,
  s: number,
  heartbeat: () => Promise<void>,
): Promise<ShardTask> | null {
  const slot = job.shards.get(s);
  if (slot === undefined) return null;
  if (slot.task !== null) return Promise.resolve(slot.task);
  if (slot.ready === null) startRestore(job, [s]);
  return withHeartbeat(slot.ready!, heartbeat, () => job.stopping);
}

/** Drops a shard's in-memory state after a failure; it restores again on its next batch. */
export function resetShard(job: KafkaJob, s: number): void {
  const slot = job.shards.get(s);
  if (slot === undefined) return;
  const fresh: ShardSlot = { shard: s, task: null, ready: null };
  job.shards.set(s, fresh);
  retireSlot(job, slot);
  job.log.warn({ shard: s }, 'shard reset after a failure; restoring it again');
}
