import type { Work, WorkSource } from '../loop.js';

/**
 * The Kafka driver's side of the job loop: a pull adapter over kafkajs, which pushes each
 * partition's batch to `eachBatch`. Each batch (and each housekeeping tick) is pushed here as a
 * unit of work and its `eachBatch` returns when the loop settles it; the loop pulls the units in
 * arrival order. The work ends when the member stops (units still queued then are settled
 * without running, as a stopping member's batches are) or fails.
 *
 * @example
 * const queue = new WorkQueue();
 * consumer.run({ eachBatch: (p) => new Promise((ok, no) => queue.push(batchWork(p, ok, no))) });
 * await runLoop(queue, commitLog);
 */
export class WorkQueue implements WorkSource {
  /** kafkajs bounds the batches in hand; the loop takes the next unit (or the stop) at once. */
  readonly maxInFlight = Number.POSITIVE_INFINITY;
  private readonly items: Work[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private failure: { err: unknown } | null = null;

  /** Queues a unit; once the work ended, settles it at once without running it. */
  push(w: Work): void {
    if (this.ended) {
      w.settle?.(null);
      return;
    }
    this.items.push(w);
    this.wake?.();
  }

  /** The member stops: the loop takes no more units and goes to its final checkpoint. */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** The member failed: the loop fails with `err`. */
  fail(err: unknown): void {
    this.failure ??= { err };
    this.end();
  }

  async *work(): AsyncGenerator<Work> {
    try {
      for (;;) {
        if (this.failure !== null) throw this.failure.err;
        if (this.ended) return;
        const w = this.items.shift();
        if (w !== undefined) {
          yield w;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
      }
    } finally {
      this.ended = true;
      for (const w of this.items.splice(0)) w.settle?.(null);
    }
  }
}
