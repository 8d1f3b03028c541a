/**
 * The operator lifecycle that shard actors drive. Only `processBatch` is required; the other
 * hooks default to nothing. An operator declares its state tables up front so the shard knows
 * what it checkpoints.
 *
 * @example
 * const op = new SlidingWindowOperator(node, fields);
 * op.onStart?.(restoredEntries);
 * op.processBatch(batch, out);
 * const changes = op.onCheckpoint?.();
 */

/** One feature row: the unit every sink writes. Times are ms since the epoch. */
export interface FeatureRow {
  readonly group: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly version: number;
  readonly windowStart: number | null;
  readonly windowEnd: number | null;
  /** `windowEnd - 1` for windows; the event's time for per-event rows. */
  readonly eventTime: number;
  /** 0 for a window's first firing, +1 for each re-firing caused by late data within the allowed lateness. */
  readonly revision: number;
  /** True for early (processing-time) firings before the watermark passes the window's end. */
  readonly provisional?: boolean;
  /** Feature name → value (null when its inputs are missing). */
  readonly values: Readonly<Record<string, number | null>>;
}

/**
 * A batch of keyed records for one shard, in columns. Record `i` has key `keys[i]`, event time
 * `ts[i]`, the event-time clock *before* it `clock[i]` (from which each window derives its
 * watermark), numeric fields `values[i*width … i*width+width-1]`, and `refs[i]`, its position
 * in the coordinator's source batch (used to report late records).
 */
export interface RecordBatch {
  readonly count: number;
  readonly width: number;
  readonly keys: readonly string[];
  /** String attributes per record, flattened (`attrWidth` per record, in the map's attribute order). */
  readonly attrs: readonly string[];
  readonly attrWidth: number;
  readonly ts: Float64Array;
  readonly clock: Float64Array;
  readonly values: Float64Array;
  readonly refs: Int32Array;
}

/** Where operators put their output. */
export interface Emitter {
  row(row: FeatureRow): void;
  /** A record that arrived after all of its windows were closed (the late-data side output). */
  late(ref: number, operatorId: string, ts: number): void;
}

/**
 * A named state table and how it is accessed. The name is how its entries are stored: a value
 * table is the entry `<name>`, a keyed one the entries `<name>/<key>` (with `@version/<name>`,
 * its format version, see `state/keyed-state-table.ts`).
 */
export interface StateTableSpec {
  readonly name: string;
  readonly access: 'keyed-map' | 'time-keyed-map' | 'value';
}

export interface Operator {
  readonly id: string;
  readonly tables: readonly StateTableSpec[];
  /** Restores from the checkpointed entries of this operator (keys without the operator prefix). */
  onStart?(entries: ReadonlyMap<string, string>): void;
  processBatch(batch: RecordBatch, out: Emitter): void;
  /** The event-time clock advanced (without a record), e.g. at the end of a batch or of the input. */
  onWatermark?(clock: number, out: Emitter): void;
  /** Processing-time tick, for early firing. */
  onTick?(nowMs: number, out: Emitter): void;
  /** The entries changed since the last checkpoint (value, or null for a delete). */
  onCheckpoint?(): Map<string, string | null>;
  onClose?(): void;
  /**
   * For an order-dependent processor run behind {@link EventTimeSortedOperator}: true for a
   * record the processor does not need in event-time order (its numeric fields start at
   * `values[offset]`). Such a record, once the sort has found it not late, goes straight to
   * {@link processUnordered} instead of waiting in the sort's buffer. Only for records whose
   * effect on the processor's output does not depend on their order among themselves nor on
   * their clock: e.g. records that only feed a window the processor reads, where the window's
   * result is order-independent and only the sorted clock fires it.
   */
  isUnordered?(values: Float64Array, offset: number): boolean;
  /**
   * The records {@link isUnordered} chose, in arrival order, each with `clock` −∞ (they do not
   * move the processor's clock), before any later record is released from the sort.
   */
  processUnordered?(batch: RecordBatch, out: Emitter): void;
}

/** Encodes ±∞ for JSON snapshots. */
export function encodeTime(t: number): number | string {
  return Number.isFinite(t) ? t : t > 0 ? '+inf' : '-inf';
}

/** Decodes {@link encodeTime}. */
export function decodeTime(t: number | string): number {
  if (typeof t === 'number') return t;
  return t === '+inf' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}
