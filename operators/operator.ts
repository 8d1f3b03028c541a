/**
 * The operator lifecycle that shard actors drive. Only `processBatch` is required; the other
 * hooks default to nothing. An operator declares its state tables up front ({@link Operator.tables});
 * the shard builds them, hands them over ({@link Operator.attach}), restores and checkpoints them:
 * no operator routes, versions or migrates stored entries itself.
 *
 * @example
 * const op = new SlidingWindowOperator(node, fields);
 * const tables = OperatorTables.build(op.tables);
 * op.attach?.(tables);
 * tables.load(restoredEntries);
 * op.restored?.();
 * op.processBatch(batch, out);
 * const changes = tables.takeChanges();
 */
import type { OperatorTables, TableDecl } from '../state/state-tables.js';

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
 * What an operator declares of its state: its tables, each a keyed, time-keyed or single-value
 * table with its codec (format version, encoding, migration chain), or a nested operator's
 * tables. See `state/state-tables.ts`.
 */
export type StateTableSpec = TableDecl;

export interface Operator {
  readonly id: string;
  /** The state tables this operator keeps; the runtime builds them and hands them over ({@link attach}). */
  readonly tables: readonly StateTableSpec[];
  /**
   * The runtime built this operator's declared {@link tables}: the operator keeps its state in
   * them from now on (called before anything else). Required when `tables` is not empty.
   */
  attach?(tables: OperatorTables): void;
  /** The runtime loaded a restored snapshot into the tables (re-arm timers, rebuild indexes). */
  restored?(): void;
  /** A checkpoint takes the tables' changes next: bring any state kept outside them into them. */
  beforeCheckpoint?(): void;
  /**
   * Standalone use (tests, embedding): restores the operator's own tables from its checkpointed
   * entries (keys without the operator's id). The runtime uses {@link attach} instead.
   */
  onStart?(entries: ReadonlyMap<string, string>): void;
  processBatch(batch: RecordBatch, out: Emitter): void;
  /** The event-time clock advanced (without a record), e.g. at the end of a batch or of the input. */
  onWatermark?(clock: number, out: Emitter): void;
  /** Processing-time tick, for early firing. */
  onTick?(nowMs: number, out: Emitter): void;
  /** Standalone use: the entries changed since the last checkpoint (value, or null for a delete). */
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
