/**
 * The watermark a window with out-of-orderness `bound` derives from the job's event-time clock
 * (`SourceClock`, src/runtime/source-clock.ts): `clock - bound - 1`, as Flink's
 * `BoundedOutOfOrdernessWatermarks`. The runtime advances the clock on every record (Flink's
 * on-event emission), so the watermark an element sees depends only on the records before it in
 * its partitions, never on batching or thread timing.
 *
 * @example
 * watermarkFor(1_000, 120_000); // 1_000 - 120_000 - 1
 */
export function watermarkFor(clock: number, bound: number): number {
  if (clock === Number.POSITIVE_INFINITY) return clock;
  if (clock === Number.NEGATIVE_INFINITY) return clock;
  return clock - bound - 1;
}
