/**
 * A shared/exclusive lock, exclusive first: `run` (exclusive) waits for every shared holder and
 * keeps new ones out; `shared` runs beside other shared holders. In repartition mode the batches
 * run shared (a source batch touches only its source task, a shard batch only its shard), so the
 * pool decodes and processes several partitions' batches at once; checkpoints, rebalances,
 * housekeeping and every batch of a direct-mode job run exclusive.
 *
 * @example
 * const lock = new SharedLock();
 * await Promise.all([lock.shared(batchOfPartition0), lock.shared(batchOfPartition1)]);
 * await lock.run(checkpointEveryShard); // waits for both, and keeps new batches out meanwhile
 */
export class SharedLock {
  private active = 0;
  private exclusiveHeld = false;
  private readonly waitingExclusive: Array<() => void> = [];
  private readonly waitingShared: Array<() => void> = [];

  /** Runs `fn` alone: after every current holder, before any shared caller that arrives later. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.exclusiveHeld || this.active > 0 || this.waitingExclusive.length > 0)
      await new Promise<void>((r) => this.waitingExclusive.push(r));
    else this.exclusiveHeld = true;
    try {
      return await fn();
    } finally {
      this.exclusiveHeld = false;
      this.wake();
    }
  }

  /** Runs `fn` beside other shared holders, once no exclusive caller holds or waits for the lock. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    if (this.exclusiveHeld || this.waitingExclusive.length > 0)
      await new Promise<void>((r) => this.waitingShared.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.wake();
    }
  }

  /** Hands the lock on: to the next exclusive waiter once no one holds it, else to every shared waiter. */
  private wake(): void {
    if (this.exclusiveHeld) return;
    if (this.waitingExclusive.length > 0) {
      if (this.active > 0) return;
      this.exclusiveHeld = true;
      this.waitingExclusive.shift()!();
      return;
    }
    while (this.waitingShared.length > 0) {
      this.active++;
      this.waitingShared.shift()!();
    }
  }
}
