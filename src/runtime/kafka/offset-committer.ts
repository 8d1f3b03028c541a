/**
 * The group-offset half of a Kafka member's checkpoint: after the shards have checkpointed,
 * commits each partition's resume position with its typed metadata (offset-metadata.ts) —
 * only the ones that changed since the last successful commit. Offsets only say where to resume
 * reading; a shard's position of record is its changelog marker, so a failed commit is harmless
 * (logged, retried with the next checkpoint).
 *
 * @example
 * const committer = new OffsetCommitter(log);
 * const done = await committer.commit(consumer, [{ topic, partition: 0, offset: '42', metadata }]);
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';

/** One partition's commit: the next offset to read and its metadata. */
export interface OffsetCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly metadata: string;
}

export class OffsetCommitter {
  /** `topic/partition` → `offset|metadata` as last committed (or read back from the group). */
  private readonly committed = new Map<string, string>();

  constructor(private readonly log: Logger) {}

  /** Records a commit known to be in the group (one read back at assignment, or made here). */
  remember(topic: string, partition: number, offset: number, metadata: string | null): void {
    this.committed.set(`${topic}/${partition}`, `${offset}|${metadata ?? ''}`);
  }

  /** Whether the group's committed offset of a partition is `offset`. */
  isAt(topic: string, partition: number, offset: number): boolean {
    return this.committed.get(`${topic}/${partition}`)?.startsWith(`${offset}|`) === true;
  }

  /** Commits the changed ones; returns those committed ([] when none changed or the commit failed). */
  async commit(consumer: Consumer, commits: readonly OffsetCommit[]): Promise<OffsetCommit[]> {
    const changed = commits.filter(
      (c) => this.committed.get(`${c.topic}/${c.partition}`) !== `${c.offset}|${c.metadata}`,
    );
    if (changed.length === 0) return [];
    try {
      await consumer.commitOffsets(changed);
    } catch (err) {
      // Harmless: shards resume from their changelog, sources re-send frames that shards drop.
      // Expected during a rebalance and while a crashed consumer restarts ("not initialized").
      const during = /rebalanc|generation|not initialized/i.test(String(err));
      this.log[during ? 'debug' : 'warn']({ err: String(err) }, 'offset commit failed');
      return [];
    }
    for (const c of changed) this.remember(c.topic, c.partition, Number(c.offset), c.metadata);
    return changed;
  }
}
