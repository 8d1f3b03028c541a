import { decodeTime, encodeTime } from '../../operators/operator.js';

/**
 * The one event-time clock of a job, file run or Kafka member: each source part (a file is one
 * part; a Kafka topic has one per partition) tracks the greatest event time it has delivered, and
 * the clock is the minimum of those over the *active* parts. A part that delivered nothing for
 * `idleTimeoutMs` of processing time is left out of the minimum until it delivers again, so a
 * quiet part cannot stall every window; when every part is idle the clock holds. The clock never
 * goes back. A window with out-of-orderness bound `b` derives its watermark as `clock - b - 1`
 * (`watermarkFor`, operators/watermark.ts; Flink's `BoundedOutOfOrdernessWatermarks`).
 *
 * A file run observes its one part after every batch. A Kafka shard sees a source partition only
 * through the frames that partition sends it, so each record carries its partition's clock before
 * it (`base` of its batch, max'ed with the in-batch clock), and every source batch sends every
 * shard a frame with the partition's clock after the batch. The clock before a record of
 * partition p is then `max(clock, min(min over other active partitions, max(clock_p, carried)))`:
 * exactly the on-event watermark of a single-threaded reader that consumed the partitions in the
 * order the shard saw them, and never ahead of the clock a file run over the same events in any
 * interleaving would give the record (each partition's records stay in order).
 *
 * Every part is declared up front at −∞, so a part that has not delivered yet holds the clock
 * back (until it goes idle, when an idle timeout is set).
 *
 * @example
 * const clock = new SourceClock(8);
 * const before = clock.frameClock(3, Date.now());
 * before(1_736_900_000_000); // the clock before a record of partition 3 carrying that clock
 * clock.observe(3, 1_736_900_005_000, Date.now()); // partition 3's clock after its batch
 */
export class SourceClock {
  private readonly maxTs: Float64Array;
  private readonly lastSeen: Float64Array;
  private value = Number.NEGATIVE_INFINITY;

  /**
   * @param partitions number of source partitions (0…partitions−1)
   * @param idleTimeoutMs a partition silent this long (processing time) is left out of the minimum; ∞ = never
   */
  constructor(
    readonly partitions: number,
    private readonly idleTimeoutMs = Number.POSITIVE_INFINITY,
    nowMs = Date.now(),
  ) {
    this.maxTs = new Float64Array(partitions).fill(Number.NEGATIVE_INFINITY);
    this.lastSeen = new Float64Array(partitions).fill(nowMs);
  }

  /** The clock now (−∞ before every partition delivered, +∞ after {@link finish}). */
  get current(): number {
    return this.value;
  }

  /** Partition p's clock (greatest event time it has delivered to this shard's knowledge). */
  partitionClock(p: number): number {
    return this.maxTs[p] ?? Number.NEGATIVE_INFINITY;
  }

  /**
   * For a frame of partition `p`: a function from a record's carried partition clock to the
   * shard clock before that record. Pure until the next {@link observe}; records of a frame may be
   * asked in any order (each keyed branch is a separate column).
   */
  frameClock(p: number, nowMs: number): (carried: number) => number {
    let others = Number.POSITIVE_INFINITY;
    for (let q = 0; q < this.partitions; q++) {
      if (q === p || this.idle(q, nowMs)) continue;
      const t = this.maxTs[q]!;
      if (t < others) others = t;
    }
    const own = this.maxTs[p]!;
    const floor = this.value;
    return (carried) => Math.max(floor, Math.min(others, Math.max(own, carried)));
  }

  /** Partition `p` delivered up to event time `ts` (its clock after a batch); returns the clock. */
  observe(p: number, ts: number, nowMs: number): number {
    if (ts > this.maxTs[p]!) this.maxTs[p] = ts;
    this.lastSeen[p] = nowMs;
    return this.recompute(nowMs);
  }

  /** Re-evaluates idleness at processing time `nowMs`; returns the clock. */
  recompute(nowMs: number): number {
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (let q = 0; q < this.partitions; q++) {
      if (this.idle(q, nowMs)) continue;
      active++;
      const t = this.maxTs[q]!;
      if (t < min) min = t;
    }
    if (active > 0 && min > this.value) this.value = min;
    return this.value;
  }

  /** The end of a bounded input: the clock goes to +∞ and every window fires. */
  finish(): number {
    this.value = Number.POSITIVE_INFINITY;
    return this.value;
  }

  /** JSON-safe state for checkpoints. */
  snapshot(): { value: number | string; partitions: Array<number | string> } {
    return { value: encodeTime(this.value), partitions: Array.from(this.maxTs, encodeTime) };
  }

  /** Restores a {@link snapshot}; partitions count as seen at `nowMs`. */
  restore(s: { value: number | string; partitions: Array<number | string> }, nowMs: number): void {
    this.value = decodeTime(s.value);
    for (let q = 0; q < this.partitions; q++) {
      this.maxTs[q] = q < s.partitions.length ? decodeTime(s.partitions[q]!) : Number.NEGATIVE_INFINITY;
      this.lastSeen[q] = nowMs;
    }
  }

  private idle(q: number, nowMs: number): boolean {
    return nowMs - this.lastSeen[q]! >= this.idleTimeoutMs;
  }
}
