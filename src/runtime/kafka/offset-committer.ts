/**
 * The group-offset half of a Kafka member's checkpoint: after the shards have checkpointed,
 * commits each partition's resume position with its typed metadata (offset-metadata.ts) —
 * only the ones that changed since the last successful commit. Offsets only say where to resume
 * reading; a shard's position of record is its changelog marker, so a failed commit is harmless
 * (logged, retried with the next checkpoint).
 *
 * **Never holds the member up.** kafkajs retries a commit the brokers refuse (`NOT_COORDINATOR`,
 * `COORDINATOR_LOAD_IN_PROGRESS`, a rebalance) with the consumer's backoff, for up to a minute.
 * The checkpoint that asks for a commit runs alone in the member's job loop, so waiting for
 * that stopped every batch — and with them the heartbeats — until the group dropped the member,
 * which rejoined, checkpointed, committed into the next broker error, and so on: under sustained
 * broker errors the member made no progress at all. So a commit is waited for at most `waitMs`;
 * past that it goes on in the background, one at a time (a later checkpoint's offsets are kept
 * and sent after it, never beside it, so the group's offsets never go back), and
 * `onCommitted` hears of it whenever it lands.
 *
 * @example
 * const committer = new OffsetCommitter(log, { waitMs: 1000, onCommitted: (c) => note(c) });
 * await committer.commit(consumer, [{ topic, partition: 0, offset: '42', metadata }]);
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

/** Options of {@link OffsetCommitter}. */
export interface OffsetCommitterOptions {
  /** How long {@link OffsetCommitter.commit} waits for a commit before leaving it to the background. Default 1000 ms. */
  readonly waitMs?: number;
  /** Each partition's commit once the group has it (in time or later, in the background). */
  readonly onCommitted?: (commit: OffsetCommit) => void;
}

export class OffsetCommitter {
  /** `topic/partition` → `offset|metadata` as last committed (or read back from the group). */
  private readonly committed = new Map<string, string>();
  /** `topic/partition` → the newest commit asked for and not yet sent. */
  private readonly wanted = new Map<string, OffsetCommit>();
  /** The commit kafkajs is working on (at most one at a time), resolving with what it committed. */
  private inFlight: Promise<OffsetCommit[]> | null = null;
  /** Bumped by {@link forgetWanted}: a failed commit of an earlier assignment is not asked for again. */
  private assignment = 0;
  private readonly waitMs: number;

  constructor(
    private readonly log: Logger,
    private readonly options: OffsetCommitterOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 1000;
  }

  /** Records a commit known to be in the group (one read back at assignment, or made here). */
  remember(topic: string, partition: number, offset: number, metadata: string | null): void {
    this.committed.set(`${topic}/${partition}`, `${offset}|${metadata ?? ''}`);
  }

  /** Whether the group's committed offset of a partition is `offset`. */
  isAt(topic: string, partition: number, offset: number): boolean {
    return this.committed.get(`${topic}/${partition}`)?.startsWith(`${offset}|`) === true;
  }

  /** Commits asked for that the group does not have yet (waiting, in the background, or failed). */
  get behind(): boolean {
    return this.wanted.size > 0 || this.inFlight !== null;
  }

  /** Waits (up to `ms`) for the commit in the background, if any: before a final checkpoint. */
  async settle(ms: number): Promise<void> {
    if (this.inFlight === null) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.inFlight, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** Forgets the commits asked for and not sent (a new assignment: the next checkpoint asks again). */
  forgetWanted(): void {
    this.wanted.clear();
    this.assignment++;
  }

  /**
   * Commits the changed ones; returns those committed within `waitMs` ([] when none changed, the
   * commit failed, or it goes on in the background). While an earlier commit is still in the
   * background, only notes these (the newest per partition) for the next one, without waiting.
   */
  async commit(consumer: Consumer, commits: readonly OffsetCommit[]): Promise<OffsetCommit[]> {
    for (const c of commits) {
      const key = `${c.topic}/${c.partition}`;
      if (this.committed.get(key) === `${c.offset}|${c.metadata}`) this.wanted.delete(key);
      else this.wanted.set(key, c);
    }
    if (this.inFlight !== null || this.wanted.size === 0) return [];
    const batch = [...this.wanted.values()];
    this.wanted.clear();
    const sent = this.send(consumer, batch);
    this.inFlight = sent;
    void sent.then(() => {
      this.inFlight = null;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.waitMs);
    });
    const done = await Promise.race([sent, late]);
    clearTimeout(timer);
    if (done === null) {
      this.log.debug({ waitMs: this.waitMs }, 'offset commit still retrying; it goes on in the background');
      return [];
    }
    return done;
  }

  /** One commit to the group; never rejects (a failure is logged, and its offsets asked for again). */
  private async send(consumer: Consumer, batch: readonly OffsetCommit[]): Promise<OffsetCommit[]> {
    const assignment = this.assignment;
    try {
      await consumer.commitOffsets([...batch]);
    } catch (err) {
      // Harmless: shards resume from their changelog, sources re-send frames that shards drop.
      // Expected during a rebalance and while a crashed consumer restarts ("not initialized").
      const during = /rebalanc|generation|not initialized/i.test(String(err));
      this.log[during ? 'debug' : 'warn']({ err: String(err) }, 'offset commit failed');
      // Asked for again with the next checkpoint, unless a newer one is already waiting (or the
      // partitions were assigned anew since: the next checkpoint asks for what is this member's).
      if (assignment !== this.assignment) return [];
      for (const c of batch) {
        const key = `${c.topic}/${c.partition}`;
        if (!this.wanted.has(key)) this.wanted.set(key, c);
      }
      return [];
    }
    for (const c of batch) {
      this.remember(c.topic, c.partition, Number(c.offset), c.metadata);
      this.options.onCommitted?.(c);
    }
    return [...batch];
  }
}
