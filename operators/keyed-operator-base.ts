import { KeyedStateTable } from '../state/keyed-state-table.js';
import {
  decodeTime,
  type Emitter,
  encodeTime,
  type Operator,
  type RecordBatch,
  type StateTableSpec,
} from './operator.js';

/**
 * The keyed-state core of every keyed operator (window operators through `KeyedWindowBase`,
 * keyed processors through `KeyedProcessBase`): per-key state `S` in one {@link KeyedStateTable}
 * (table `k`, entries `k/<key>`, written incrementally and versioned), and the event-time
 * watermark (entry `wm`), restored before the keys so that what a restored key re-arms can
 * depend on it.
 *
 * Subclasses give the state's JSON form ({@link serialize}, {@link deserialize}), move the
 * watermark with {@link raiseWatermark}, and may act once restored ({@link onRestored}).
 */
export abstract class KeyedOperatorBase<S> implements Operator {
  readonly id: string;
  readonly tables: readonly StateTableSpec[] = [
    { name: 'k', access: 'keyed-map' },
    { name: 'wm', access: 'value' },
  ];
  /** Per-key state. */
  protected readonly states: KeyedStateTable<S>;
  protected wm = Number.NEGATIVE_INFINITY;
  private wmDirty = false;

  /**
   * @param id the operator (node) id
   * @param stateVersion the format version of `S`'s JSON form (see {@link KeyedStateTable})
   * @param migrate turns a key's stored state of format version `from` into `from + 1`
   */
  constructor(id: string, stateVersion = 1, migrate?: (from: number, stored: string) => string) {
    this.id = id;
    this.states = new KeyedStateTable<S>({
      name: 'k',
      version: stateVersion,
      encode: (s) => JSON.stringify(this.serialize(s)),
      decode: (stored) => this.deserialize(JSON.parse(stored)),
      ...(migrate === undefined ? {} : { migrate }),
    });
  }

  abstract processBatch(batch: RecordBatch, out: Emitter): void;

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
    this.wmDirty = true;
    return true;
  }

  onStart(entries: ReadonlyMap<string, string>): void {
    // The watermark first: snapshot entries come in key order ('k/…' before 'wm').
    const wm = entries.get('wm');
    this.wm = wm === undefined ? Number.NEGATIVE_INFINITY : decodeTime(JSON.parse(wm) as number | string);
    this.wmDirty = false;
    this.states.load(entries);
    this.onRestored();
  }

  onCheckpoint(): Map<string, string | null> {
    const changes = this.states.takeChanges();
    if (this.wmDirty) {
      changes.set('wm', JSON.stringify(encodeTime(this.wm)));
      this.wmDirty = false;
    }
    return changes;
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
