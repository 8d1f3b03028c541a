import { KeyedStateTable } from '../state/keyed-state-table.js';
import type { FeatureSpec, WindowNode } from '../topology/nodes.js';
import { type Accumulator, type AggregationPlan, compileAggregation } from './aggregation.js';
import {
  decodeTime,
  type Emitter,
  encodeTime,
  type Operator,
  type RecordBatch,
  type StateTableSpec,
} from './operator.js';
import { type Timer, TimerHeap } from './timer-heap.js';
import { watermarkFor } from './watermark.js';

/**
 * What sliding and session window operators share: the event-time watermark derived from the
 * clock that travels with the records, an event-time timer heap, per-key state in a
 * {@link KeyedStateTable} (table `k`: incremental, versioned checkpoints), and the construction
 * of feature rows.
 *
 * Watermark rule (windows.md): `watermark = clock - outOfOrderness - 1`, where the clock a record
 * carries is the event-time frontier *before* that record. Timers with `time <= watermark` fire.
 */
export abstract class KeyedWindowBase<S> implements Operator {
  readonly id: string;
  readonly tables: readonly StateTableSpec[] = [
    // window state by key (`k/<key>`, a KeyedStateTable) and the watermark (`wm`)
    { name: 'k', access: 'keyed-map' },
    { name: 'wm', access: 'value' },
  ];
  protected readonly plan: AggregationPlan;
  protected readonly lateness: number;
  protected readonly bound: number;
  /** Per-key window state (the table is `k`: entries `k/<key>`). */
  protected readonly states: KeyedStateTable<S>;
  protected readonly timers = new TimerHeap();
  protected wm = Number.NEGATIVE_INFINITY;
  private wmDirty = false;
  private readonly featureNames: readonly string[];
  private lastEarly = Number.NEGATIVE_INFINITY;

  constructor(
    protected readonly node: WindowNode,
    fields: readonly string[],
  ) {
    this.id = node.id;
    this.plan = compileAggregation(node.features, fields);
    this.lateness = node.lateness;
    this.bound = node.outOfOrderness;
    this.featureNames = node.features.map((f: FeatureSpec) => f.name);
    this.states = new KeyedStateTable<S>({
      name: 'k',
      version: 1,
      encode: (s) => JSON.stringify(this.serialize(s)),
      decode: (stored) => this.deserialize(JSON.parse(stored)),
    });
  }

  /** Adds one record for `key` at event time `ts`; the watermark is already current. */
  protected abstract addRecord(
    key: string,
    ts: number,
    values: Float64Array,
    offset: number,
    ref: number,
    out: Emitter,
  ): void;
  /** Handles a due timer. */
  protected abstract onTimer(timer: Timer, out: Emitter): void;
  /** Re-registers the timers of a restored key state. */
  protected abstract timersOf(key: string, state: S): Timer[];
  /** Windows of this key state still open, for early firing: [start, end, accumulator]. */
  protected abstract openWindows(state: S): Array<[number, number, Accumulator, number]>;
  protected abstract serialize(state: S): unknown;
  protected abstract deserialize(data: unknown): S;
  /** True when a key state holds nothing and can be deleted. */
  protected abstract isEmpty(state: S): boolean;

  onStart(entries: ReadonlyMap<string, string>): void {
    this.states.clear();
    this.timers.clear();
    // The watermark first: which timers a restored key state re-registers depends on it, and
    // snapshot entries come in key order ('k/…' before 'wm').
    const wm = entries.get('wm');
    this.wm = wm === undefined ? Number.NEGATIVE_INFINITY : decodeTime(JSON.parse(wm) as number | string);
    this.states.load(entries);
    for (const [key, state] of this.states) for (const t of this.timersOf(key, state)) this.timers.push(t);
  }

  processBatch(batch: RecordBatch, out: Emitter): void {
    const { count, width, keys, ts, clock, values, refs } = batch;
    for (let i = 0; i < count; i++) {
      this.advance(clock[i]!, out);
      this.addRecord(keys[i]!, ts[i]!, values, i * width, refs[i]!, out);
    }
  }

  onWatermark(clock: number, out: Emitter): void {
    this.advance(clock, out);
  }

  onTick(nowMs: number, out: Emitter): void {
    const early = this.node.earlyFiring;
    if (early === undefined || nowMs - this.lastEarly < early.intervalMs) return;
    this.lastEarly = nowMs;
    for (const [key, state] of this.states) {
      for (const [start, end, acc, revision] of this.openWindows(state)) {
        out.row(this.makeRow(key, start, end, acc, revision, true));
      }
    }
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

  protected markDirty(key: string): void {
    this.states.touch(key);
  }

  /** Drops a key whose state became empty. */
  protected dropIfEmpty(key: string, state: S): void {
    if (this.isEmpty(state)) this.states.delete(key);
    else this.states.touch(key);
  }

  protected makeRow(
    key: string,
    start: number,
    end: number,
    acc: Accumulator,
    revision: number,
    provisional = false,
  ) {
    const results = this.plan.results(acc);
    const values: Record<string, number | null> = {};
    for (let i = 0; i < this.featureNames.length; i++) values[this.featureNames[i]!] = results[i]!;
    return {
      group: this.node.group,
      entityType: this.node.entityType,
      entityId: key,
      version: this.node.version,
      windowStart: start,
      windowEnd: end,
      eventTime: end - 1,
      revision,
      ...(provisional ? { provisional: true } : {}),
      values,
    };
  }

  private advance(clock: number, out: Emitter): void {
    const wm = watermarkFor(clock, this.bound);
    if (!(wm > this.wm)) return;
    this.wm = wm;
    this.wmDirty = true;
    for (let t = this.timers.peek(); t !== undefined && t.time <= wm; t = this.timers.peek()) {
      this.timers.pop();
      this.onTimer(t, out);
    }
  }
}
