import type { FeatureSpec, WindowNode } from '../topology/nodes.js';
import { type AggregationPlan, compileAggregation } from './aggregation.js';
import { KeyedOperatorBase } from './keyed-operator-base.js';
import type { Emitter, RecordBatch } from './operator.js';
import { type Timer, TimerHeap } from './timer-heap.js';
import { watermarkFor } from './watermark.js';

/**
 * What sliding and session window operators share: the event-time watermark derived from the
 * clock that travels with the records, an event-time timer heap, per-key window state in the
 * keyed-state core ({@link KeyedOperatorBase}: table `k`, incremental, versioned checkpoints),
 * and the construction of feature rows.
 *
 * Watermark rule (windows.md): `watermark = clock - outOfOrderness - 1`, where the clock a record
 * carries is the event-time frontier *before* that record. Timers with `time <= watermark` fire.
 */
export abstract class KeyedWindowBase<S> extends KeyedOperatorBase<S> {
  protected readonly plan: AggregationPlan;
  protected readonly lateness: number;
  protected readonly bound: number;
  protected readonly timers = new TimerHeap();
  private readonly featureNames: readonly string[];
  private lastEarly = Number.NEGATIVE_INFINITY;

  constructor(
    protected readonly node: WindowNode,
    fields: readonly string[],
  ) {
    super(node.id);
    this.plan = compileAggregation(node.features, fields, node.quantiles);
    this.lateness = node.lateness;
    this.bound = node.outOfOrderness;
    this.featureNames = node.features.map((f: FeatureSpec) => f.name);
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
  /** Windows of this key state still open, for early firing: [start, end, feature values, revision]. */
  protected abstract openWindows(state: S): Array<[number, number, Array<number | null>, number]>;
  /** True when a key state holds nothing and can be deleted. */
  protected abstract isEmpty(state: S): boolean;
  /** Approximate heap bytes of one key state. */
  protected abstract bytesOf(state: S): number;

  /** Re-arms the timers of the restored keys (which ones depends on the restored watermark). */
  protected override onRestored(): void {
    this.timers.clear();
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
      for (const [start, end, results, revision] of this.openWindows(state)) {
        out.row(this.makeRow(key, start, end, results, revision, true));
      }
    }
  }

  /**
   * Approximate heap bytes of this window's state: kept quantile values and sketch bins at
   * 8 bytes each, plus a fixed overhead per accumulator and key (for metrics and bench:memory).
   */
  stateBytes(): number {
    let n = 0;
    for (const [key, s] of this.states) n += 64 + 2 * key.length + this.bytesOf(s);
    return n;
  }

  protected markDirty(key: string): void {
    this.states.touch(key);
  }

  /** Drops a key whose state became empty. */
  protected dropIfEmpty(key: string, state: S): void {
    if (this.isEmpty(state)) this.states.delete(key);
    else this.states.touch(key);
  }

  /** A window's row from its feature values (`plan.results`, in feature order). */
  protected makeRow(
    key: string,
    start: number,
    end: number,
    results: ReadonlyArray<number | null>,
    revision: number,
    provisional = false,
  ) {
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
    if (!this.raiseWatermark(wm)) return;
    for (let t = this.timers.peek(); t !== undefined && t.time <= wm; t = this.timers.peek()) {
      this.timers.pop();
      this.onTimer(t, out);
    }
  }
}
