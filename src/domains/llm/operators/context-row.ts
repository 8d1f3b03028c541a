import type { ProcessNode } from '../../../../topology/index.js';
import { KeyedProcessBase } from '../../../../operators/index.js';
import type { Emitter } from '../../../../operators/index.js';

/** Parameters of the `context-row` processor. */
export interface ContextRowParams {
  /** CTX_007's look-back, ms (catalog: 5 min). */
  readonly availabilityWindow: number;
}

/** Recent status reports of one component: [event time, 1 healthy | 0 not], oldest first. */
type Reports = Array<[number, number]>;

/**
 * The `context` group (catalog A5): one row per `system_health` report, entity `system` (the
 * component), no window, event time = the report's time. CTX_001–006, 009 and 010 come from the
 * report itself (the `health-extract` map); CTX_007 `model_availability` is keyed state: the share
 * of the component's reports with status `healthy` among those with event time in
 * `(t − 5 min, t]`, t the report's time (out-of-order reports count where their time puts them).
 * CTX_008 is a window of its own (`timeout_5min`).
 */
export class ContextRowOperator extends KeyedProcessBase<Reports> {
  private readonly span: number;
  private readonly healthy: number;
  private readonly passThrough: ReadonlyArray<readonly [string, number]>;

  constructor(node: ProcessNode, fields: readonly string[], attributes: readonly string[]) {
    super(node, fields, attributes);
    this.span = (node.params as unknown as ContextRowParams).availabilityWindow;
    this.healthy = this.field('healthy');
    this.passThrough = this.valueNames
      .filter((n) => n !== 'model_availability')
      .map((n) => [n, this.field(n)] as const);
  }

  protected onRecord(
    key: string,
    ts: number,
    v: (i: number) => number,
    _a: (i: number) => string,
    out: Emitter,
  ): void {
    const prev = this.getState(key) ?? [];
    // Insert in event-time order (stable: equal times keep arrival order).
    let at = prev.length;
    while (at > 0 && prev[at - 1]![0] > ts) at--;
    const reports: Reports = [...prev.slice(0, at), [ts, v(this.healthy)], ...prev.slice(at)];
    let n = 0;
    let ok = 0;
    for (const [t, h] of reports) {
      if (t > ts - this.span && t <= ts) {
        n++;
        ok += h;
      }
    }
    // Keep what a report up to `span` older than the newest, or a late one, could still need.
    const newest = reports[reports.length - 1]![0];
    const keepFrom = Math.min(newest, this.wm) - this.span;
    this.setState(
      key,
      reports.filter(([t]) => t > keepFrom),
    );
    const values: Record<string, number | null> = {};
    for (const name of this.valueNames) values[name] = null;
    for (const [name, i] of this.passThrough) values[name] = KeyedProcessBase.orNull(v(i));
    values.model_availability = n === 0 ? null : ok / n;
    out.row(this.row(key, ts, values));
  }

  protected override expired(state: Reports, wm: number): boolean {
    return state.length === 0 || state[state.length - 1]![0] < wm - this.span;
  }

  protected serialize(s: Reports): unknown {
    return s;
  }

  protected deserialize(data: unknown): Reports {
    return data as Reports;
  }
}
