/**
 * Per-partition event-time clock with idle-partition handling.
 *
 * Each source partition tracks the greatest event time it has delivered. The clock is the
 * minimum of those maxima over the *active* partitions; a window operator with
 * out-of-orderness bound `b` derives its watermark as `clock - b - 1` (Flink's
 * `BoundedOutOfOrdernessWatermarks`). A partition that delivered nothing for `idleTimeoutMs`
 * of processing time is left out of the minimum until it delivers again, so a quiet partition
 * cannot stall every window. The clock never goes back.
 *
 * The coordinator advances the clock after every record (Flink's on-event emission), so the
 * watermark an element sees depends only on the records before it in its partitions, never on
 * batching or thread timing.
 *
 * @example
 * const clock = new PartitionClock(30_000);
 * clock.observe(0, 1_000, Date.now());
 * watermarkFor(clock.current, 120_000); // 1_000 - 120_000 - 1
 */
export class PartitionClock {
  private readonly maxTs = new Map<number, number>();
  private readonly lastSeen = new Map<number, number>();
  private value = Number.NEGATIVE_INFINITY;

  constructor(private readonly idleTimeoutMs = Number.POSITIVE_INFINITY) {}

  /** The clock now: min over active partitions of their max event time (−∞ before any event). */
  get current(): number {
    return this.value;
  }

  /** Declares a partition before it delivers, so it holds the clock back until it does or goes idle. */
  addPartition(partition: number, nowMs: number): void {
    if (!this.maxTs.has(partition)) {
      this.maxTs.set(partition, Number.NEGATIVE_INFINITY);
      this.lastSeen.set(partition, nowMs);
    }
  }

  /** Records an element of `partition` with event time `ts`; returns the (possibly advanced) clock. */
  observe(partition: number, ts: number, nowMs: number): number {
    const prev = this.maxTs.get(partition);
    if (prev === undefined || ts > prev) this.maxTs.set(partition, ts);
    this.lastSeen.set(partition, nowMs);
    return this.recompute(nowMs);
  }

  /** Re-evaluates idleness at processing time `nowMs` (call periodically); returns the clock. */
  recompute(nowMs: number): number {
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (const [p, ts] of this.maxTs) {
      if (nowMs - (this.lastSeen.get(p) ?? nowMs) >= this.idleTimeoutMs) continue;
      active++;
      if (ts < min) min = ts;
    }
    // All partitions idle: hold the clock where it is (Flink marks the stream idle).
    if (active > 0 && min > this.value) this.value = min;
    return this.value;
  }

  /** Moves the clock to +∞: the end of a bounded input. Every window fires. */
  finish(): number {
    this.value = Number.POSITIVE_INFINITY;
    return this.value;
  }

  /** Serializable state for checkpoints. */
  snapshot(): { value: number; partitions: Array<[number, number]> } {
    return { value: this.value, partitions: [...this.maxTs] };
  }

  /** Restores a snapshot; partitions count as seen at `nowMs`. */
  restore(s: { value: number; partitions: Array<[number, number]> }, nowMs: number): void {
    this.value = s.value;
    this.maxTs.clear();
    this.lastSeen.clear();
    for (const [p, ts] of s.partitions) {
      this.maxTs.set(p, ts);
      this.lastSeen.set(p, nowMs);
    }
  }
}

/** The watermark a window with out-of-orderness `bound` derives from the clock. */
export function watermarkFor(clock: number, bound: number): number {
  if (clock === Number.POSITIVE_INFINITY) return clock;
  if (clock === Number.NEGATIVE_INFINITY) return clock;
  return clock - bound - 1;
}
