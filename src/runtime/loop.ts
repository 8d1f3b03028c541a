import { SharedLock } from './shared-lock.js';

/**
 * A unit of work the job loop runs: a source driver's batch (a file's lines; a Kafka partition's
 * batch, source or shard) or a tick of the driver's own housekeeping.
 */
export interface Work {
  /**
   * Runs alone (after every running unit, before any that arrives later) or beside other shared
   * units. A file's batches are exclusive (they are forwarded in source order); a Kafka member's
   * batches are shared in repartition mode (a source batch touches only its source task, a shard
   * batch only its shard) and exclusive in direct mode; ticks are exclusive.
   */
  readonly exclusive: boolean;
  /** Housekeeping: the commit log is not asked after it (a tick checkpoints on its own terms). */
  readonly tick?: boolean;
  run(): Promise<void>;
  /**
   * The unit and the checkpoint it made due are done (`err` null) or failed: kafkajs' `eachBatch`
   * returns here. Without it, a failure fails the loop.
   */
  settle?(err: unknown): void;
}

/** Where the loop's work comes from, in arrival order; it ends at the end of the input or a stop. */
export interface WorkSource {
  work(): AsyncIterable<Work>;
  /**
   * Units started and not yet done before the loop waits to take the next one (default 1: a
   * file's reading waits for each batch). A Kafka member's is unbounded: kafkajs bounds its own
   * batches, and the loop must see the member stop while a unit waits on brokers that are gone.
   */
  readonly maxInFlight?: number;
}

/** The checkpoint a unit of work made due: every shard at the interval, or only those that asked. */
export type CheckpointKind = 'interval' | 'wanted';

/**
 * How a job commits: a file run's aligned barrier and its `checkpoint.json`; a Kafka member's
 * per-shard checkpoints (changelog markers) and the group's offsets.
 */
export interface CommitLog {
  /** The checkpoint due after a unit of work, if any (asked after every unit). */
  due(): CheckpointKind | null;
  /** Checkpoints, alone: no unit runs meanwhile (the loop holds its lock exclusively). */
  checkpoint(kind: CheckpointKind | 'all'): Promise<void>;
  /**
   * The last checkpoint, once the work ended (the end of the input, a stop or a signal). It takes
   * the loop's lock itself (`exclusive`), so that it can give up on a unit that never finishes.
   */
  final(exclusive: <T>(fn: () => Promise<T>) => Promise<T>): Promise<void>;
}

/**
 * A unit failed in a way that asks for every shard to be checkpointed before the failure goes on
 * (a Kafka rebalance noticed inside a batch: what the member loses is in the changelog before it
 * rejoins). The loop checkpoints, then settles the unit with `failure`.
 */
export class CheckpointFirst extends Error {
  constructor(
    readonly failure: unknown,
    message = 'checkpoint before failing',
  ) {
    super(message);
  }
}

/**
 * The one job loop of featurestream, for file runs, replays and Kafka members alike: it takes the
 * source's work in arrival order and runs it (exclusive units alone, shared ones side by side),
 * asks the commit log after every unit whether a checkpoint is due and runs it alone, and ends
 * with the commit log's final checkpoint. What differs between the drivers is what a unit does
 * (`file-job.ts` for files; `kafka/source-stage.ts` for Kafka) and how a checkpoint commits
 * (`commit-step.ts` is the step both use).
 *
 * A failure of a unit without `settle`, or of a checkpoint, fails the loop. Units still running
 * when the work ends are left to the final checkpoint, which waits for them or gives up (a
 * stopping Kafka member gives up on a batch stuck on brokers that are gone).
 *
 * @example
 * await runLoop({ work: () => batches(driver) }, commitLog);
 */
export async function runLoop(source: WorkSource, log: CommitLog): Promise<void> {
  const lock = new SharedLock();
  const running = new Set<Promise<void>>();
  const failure: { err?: unknown; failed: boolean } = { failed: false };
  const one = async (w: Work): Promise<void> => {
    let err: unknown = null;
    try {
      await (w.exclusive ? lock.run(() => w.run()) : lock.shared(() => w.run()));
      if (w.tick !== true && log.due() !== null)
        await lock.run(async () => {
          // Asked again alone: a unit that finished meanwhile may have checkpointed already.
          const kind = log.due();
          if (kind !== null) await log.checkpoint(kind);
        });
    } catch (e) {
      err = e;
      if (e instanceof CheckpointFirst) {
        try {
          await lock.run(() => log.checkpoint('all'));
          err = e.failure;
        } catch (ce) {
          err = ce;
        }
      }
    }
    if (w.settle !== undefined) w.settle(err);
    else if (err !== null && !failure.failed) Object.assign(failure, { err, failed: true });
  };
  const maxInFlight = source.maxInFlight ?? 1;
  for await (const w of source.work()) {
    const p = one(w);
    running.add(p);
    void p.finally(() => running.delete(p));
    while (running.size >= maxInFlight) await Promise.race(running);
    if (failure.failed) throw failure.err;
  }
  if (failure.failed) throw failure.err;
  await log.final((fn) => lock.run(fn));
}
