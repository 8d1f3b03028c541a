import type { KeyedStateTable } from '../state/keyed-state-table.js';
import {
  keyedTable,
  type OperatorTables,
  type TableCodec,
  type ValueTable,
  valueTable,
} from '../state/state-tables.js';
import { decodeTime, type Emitter, encodeTime, type RecordBatch, type StateTableSpec } from './operator.js';
import { TableOperator } from './table-operator.js';

/** An event-time watermark as stored: JSON of the time, ±∞ as strings. */
export const WATERMARK_CODEC: TableCodec<number> = {
  version: 1,
  encode: (wm) => JSON.stringify(encodeTime(wm)),
  decode: (s) => decodeTime(JSON.parse(s) as number | string),
};

/**
 * The keyed-state core of every keyed operator (window operators through `KeyedWindowBase`,
 * keyed processors through `KeyedProcessBase`): per-key state `S` in one {@link KeyedStateTable}
 * (table `k`, entries `k/<key>`, written incrementally and versioned), and the event-time
 * watermark (single-value table `wm`), both in place before {@link onRestored} so that what a
 * restored key re-arms can depend on the watermark.
 *
 * Subclasses give the state's JSON form ({@link serialize}, {@link deserialize}), move the
 * watermark with {@link raiseWatermark}, and may act once restored ({@link onRestored}).
 */
export abstract class KeyedOperatorBase<S> extends TableOperator {
  readonly id: string;
  readonly tables: readonly StateTableSpec[];
  /** Per-key state. */
  protected states!: KeyedStateTable<S>;
  protected wm = Number.NEGATIVE_INFINITY;
  private wmTable!: ValueTable<number>;

  /**
   * @param id the operator (node) id
   * @param stateVersion the format version of `S`'s JSON form (see {@link KeyedStateTable})
   * @param migrate turns a key's stored state of format version `from` into `from + 1`
   */
  constructor(id: string, stateVersion = 1, migrate?: (from: number, stored: string) => string) {
    super();
    this.id = id;
    this.tables = [
      keyedTable<S>('k', {
        version: stateVersion,
        encode: (s) => JSON.stringify(this.serialize(s)),
        decode: (stored) => this.deserialize(JSON.parse(stored)),
        ...(migrate === undefined ? {} : { migrate }),
      }),
      valueTable<number>('wm', WATERMARK_CODEC),
    ];
    this.attachOwn();
  }

  protected bind(tables: OperatorTables): void {
    this.states = tables.keyed<S>('k');
    this.wmTable = tables.value<number>('wm');
  }

  abstract override processBatch(batch: RecordBatch, out: Emitter): void;

  /** A key's state as JSON data. */
  protected abstract serialize(state: S): unknown;
  /** A key's state from {@link serialize}'s data. */
  protected abstract deserialize(data: unknown): S;

  /** Called after a restore, with the watermark and every key's state in place. */
  protected onRestored(): void {}

  /** Moves the watermark forward; returns false (and changes nothing) when `wm` is not ahead. */
  protected raiseWatermark(wm: number): boolean {
    if (!(wm > this.wm)) return false;
    this.wm = wm;
    this.wmTable.set(wm);
    return true;
  }

  override restored(): void {
    this.wm = this.wmTable.get() ?? Number.NEGATIVE_INFINITY;
    this.onRestored();
  }

  /** The current watermark (for tests and metrics). */
  get watermark(): number {
    return this.wm;
  }

  /** Number of keys with state (for tests and metrics). */
  get keyCount(): number {
    return this.states.size;
  }
}
