import type { ProcessNode } from '../topology/nodes.js';
import { KeyedOperatorBase } from './keyed-operator-base.js';
import type { Emitter, FeatureRow, RecordBatch } from './operator.js';
import { watermarkFor } from './watermark.js';

/**
 * What the keyed processors share: per-key state in the keyed-state core
 * ({@link KeyedOperatorBase}: table `k`, incremental, versioned checkpoints, `k/<key>` → JSON),
 * an event-time watermark derived from the clock that travels with the records (`clock − outOfOrderness − 1`, as for windows), periodic expiry of key state the
 * watermark has passed, and field/attribute lookup by name.
 *
 * Subclasses implement {@link onRecord} (and optionally {@link expired}).
 */
export abstract class KeyedProcessBase<S> extends KeyedOperatorBase<S> {
  private lastSweep = Number.NEGATIVE_INFINITY;
  private readonly fieldIndex: ReadonlyMap<string, number>;
  private readonly attrIndex: ReadonlyMap<string, number>;
  /** Output value names, in order. */
  protected readonly valueNames: readonly string[];

  constructor(
    protected readonly node: ProcessNode,
    fields: readonly string[],
    attributes: readonly string[],
    /** Expire state at most once per this much watermark progress (ms). */
    private readonly sweepEveryMs = 60_000,
  ) {
    super(node.id);
    this.fieldIndex = new Map(fields.map((f, i) => [f, i]));
    this.attrIndex = new Map(attributes.map((a, i) => [a, i]));
    this.valueNames = node.features.flatMap((f) => f.values ?? [f.name]);
  }

  /** The position of field `name` in a record's values (throws for an unknown field: a wiring bug). */
  protected field(name: string): number {
    const i = this.fieldIndex.get(name);
    if (i === undefined) throw new Error(`${this.id}: the input has no field ${name}`);
    return i;
  }

  /** The position of attribute `name` in a record's attributes. */
  protected attr(name: string): number {
    const i = this.attrIndex.get(name);
    if (i === undefined) throw new Error(`${this.id}: the input has no attribute ${name}`);
    return i;
  }

  /** Handles one record; `v(i)` reads field i, `a(i)` attribute i. The watermark is current. */
  protected abstract onRecord(
    key: string,
    ts: number,
    v: (i: number) => number,
    a: (i: number) => string,
    out: Emitter,
  ): void;

  /** True when a key's state can be dropped at watermark `wm`. Default: never. */
  protected expired(_state: S, _wm: number): boolean {
    return false;
  }

  protected getState(key: string): S | undefined {
    return this.states.get(key);
  }

  protected setState(key: string, state: S): void {
    this.states.set(key, state);
  }

  protected deleteState(key: string): void {
    if (this.states.has(key)) this.states.delete(key);
  }

  /** A row of this processor's group for `entityId` at event time `ts`, with no window. */
  protected row(entityId: string, ts: number, values: Record<string, number | null>): FeatureRow {
    return {
      group: this.node.group,
      entityType: this.node.entityType,
      entityId,
      version: this.node.version,
      windowStart: null,
      windowEnd: null,
      eventTime: ts,
      revision: 0,
      values,
    };
  }

  /** NaN (a missing input) becomes null: features are never a silent 0 or NaN. */
  protected static orNull(x: number): number | null {
    return Number.isFinite(x) ? x : null;
  }

  processBatch(batch: RecordBatch, out: Emitter): void {
    const { width, values, attrWidth, attrs } = batch;
    let base = 0;
    let abase = 0;
    const v = (i: number) => values[base + i]!;
    const a = (i: number) => attrs[abase + i]!;
    for (let r = 0; r < batch.count; r++) {
      this.advance(watermarkFor(batch.clock[r]!, this.node.outOfOrderness));
      base = r * width;
      abase = r * attrWidth;
      this.onRecord(batch.keys[r]!, batch.ts[r]!, v, a, out);
    }
  }

  onWatermark(clock: number, _out: Emitter): void {
    this.advance(watermarkFor(clock, this.node.outOfOrderness));
  }

  private advance(wm: number): void {
    if (!this.raiseWatermark(wm)) return;
    if (wm - this.lastSweep < this.sweepEveryMs) return;
    this.lastSweep = wm;
    for (const [key, state] of this.states) if (this.expired(state, wm)) this.deleteState(key);
  }

  protected override onRestored(): void {
    this.lastSweep = this.wm;
  }
}
