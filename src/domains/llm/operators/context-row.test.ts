import { describe, expect, it } from 'vitest';
import { llmFeaturesTopology } from '../topology.js';
import type { ProcessNode } from '../../../../topology/nodes.js';
import { ContextRowOperator } from './context-row.js';
import { CONTEXT_VALUES } from './extractors.js';
import type { FeatureRow, RecordBatch } from '../../../../operators/operator.js';
import { MAPS } from '../../../../operators/functions.js';
import { collector } from '../../../../operators/test-support.js';

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 15, 10);

const NODE = llmFeaturesTopology().nodes.find(
  (n): n is ProcessNode => n.kind === 'process' && n.id === 'context',
)!;
const MAP = MAPS.get('health-extract')!;
const FIELDS = MAP.fields;
const ATTRS = MAP.attributes;

const newOp = () => new ContextRowOperator(NODE, FIELDS, ATTRS);

/** A `health-extract` record: a status report of `component` (default `api`) at `ts`. */
interface Rec {
  readonly ts: number;
  readonly healthy: boolean;
  readonly component?: string;
  readonly values?: Readonly<Record<string, number>>;
}

/** One source partition: each record carries the greatest event time before it. */
class Stream {
  clock = Number.NEGATIVE_INFINITY;
  batch(recs: readonly Rec[]): RecordBatch {
    const width = FIELDS.length;
    const values = new Float64Array(recs.length * width).fill(Number.NaN);
    const attrs: string[] = [];
    const clocks: number[] = [];
    recs.forEach((r, i) => {
      values[i * width + FIELDS.indexOf('healthy')] = r.healthy ? 1 : 0;
      for (const [name, v] of Object.entries(r.values ?? {})) {
        const at = FIELDS.indexOf(name);
        if (at < 0) throw new Error(`no field ${name}`);
        values[i * width + at] = v;
      }
      const a: Record<string, string> = { component: r.component ?? 'api' };
      for (const name of ATTRS) attrs.push(a[name]!);
      clocks.push(this.clock);
      this.clock = Math.max(this.clock, r.ts);
    });
    return {
      count: recs.length,
      width,
      keys: recs.map((r) => r.component ?? 'api'),
      attrs,
      attrWidth: ATTRS.length,
      ts: Float64Array.from(recs.map((r) => r.ts)),
      clock: Float64Array.from(clocks),
      values,
      refs: Int32Array.from(recs.map((_, i) => i)),
    };
  }
}

function run(op: ContextRowOperator, recs: readonly Rec[], stream = new Stream()): FeatureRow[] {
  const c = collector();
  op.processBatch(stream.batch(recs), c.out);
  return c.rows;
}

const availability = (rows: readonly FeatureRow[]) => rows.map((r) => r.values.model_availability);

describe('context-row operator (CTX_007 model availability)', () => {
  it('is the share of healthy reports of the component with event time in (t − 5 min, t]', () => {
    //  0    2m   4m   6m   7m
    //  H    D    H    D    H
    const rows = run(newOp(), [
      { ts: T0, healthy: true },
      { ts: T0 + 2 * MIN, healthy: false },
      { ts: T0 + 4 * MIN, healthy: true },
      { ts: T0 + 6 * MIN, healthy: false },
      { ts: T0 + 7 * MIN, healthy: true },
    ]);
    expect(availability(rows)).toEqual([
      1, // {0 H}
      1 / 2, // {0 H, 2m D}
      2 / 3, // {0 H, 2m D, 4m H}
      1 / 3, // (1m, 6m]: {2m D, 4m H, 6m D}
      2 / 3, // (2m, 7m]: 2m is out (the lower bound is open): {4m H, 6m D, 7m H}
    ]);
  });

  it('leaves out a report exactly 5 min old', () => {
    const rows = run(newOp(), [
      { ts: T0, healthy: false },
      { ts: T0 + 5 * MIN, healthy: true },
      { ts: T0 + 5 * MIN + 1, healthy: false },
    ]);
    expect(availability(rows)).toEqual([0, 1, 1 / 2]);
  });

  it('keeps one history per component', () => {
    const rows = run(newOp(), [
      { ts: T0, healthy: true, component: 'a' },
      { ts: T0 + MIN, healthy: false, component: 'b' },
      { ts: T0 + 2 * MIN, healthy: false, component: 'a' },
      { ts: T0 + 3 * MIN, healthy: true, component: 'b' },
    ]);
    expect(rows.map((r) => [r.entityId, r.values.model_availability])).toEqual([
      ['a', 1],
      ['b', 0],
      ['a', 1 / 2],
      ['b', 1 / 2],
    ]);
  });

  it('counts an out-of-order report where its event time puts it, and not later reports in its own row', () => {
    const rows = run(newOp(), [
      { ts: T0, healthy: true },
      { ts: T0 + 4 * MIN, healthy: false },
      // arrives after 4m: its window (−3m, 2m] holds 0 H and itself, not the later 4m D
      { ts: T0 + 2 * MIN, healthy: true },
      // (0, 5m]: 2m H, 4m D, 5m H — 0 is out, the late 2m report is in
      { ts: T0 + 5 * MIN, healthy: true },
      // (1m, 6m]: 2m H, 4m D, 5m H, 6m D
      { ts: T0 + 6 * MIN, healthy: false },
    ]);
    expect(availability(rows)).toEqual([1, 1 / 2, 1, 2 / 3, 2 / 4]);
  });

  it('emits one row per report: entity the component, no window, event time = the report time, values passed through with NaN → null', () => {
    const rows = run(newOp(), [
      {
        ts: T0 + 987,
        healthy: true,
        component: 'gpt-4',
        values: { system_load_cpu: 0.45, available_budget_ratio: 0.4205, region_load: 0.37 },
      },
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      group: 'context',
      entityType: 'system',
      entityId: 'gpt-4',
      version: 1,
      windowStart: null,
      windowEnd: null,
      eventTime: T0 + 987,
      revision: 0,
    });
    const expected: Record<string, number | null> = {};
    for (const name of CONTEXT_VALUES) expected[name] = null;
    Object.assign(expected, {
      system_load_cpu: 0.45,
      available_budget_ratio: 0.4205,
      region_load: 0.37,
      model_availability: 1,
    });
    expect(rows[0]!.values).toEqual(expected);
    // the catalog's context values except CTX_008 (a window of its own)
    expect(Object.keys(rows[0]!.values).sort()).toEqual(NODE.features.map((f) => f.name).sort());
    expect(Object.keys(rows[0]!.values)).not.toContain('recent_timeout_rate_5min');
  });

  it('continues from the restored history after checkpoint → restore, like an uninterrupted instance', () => {
    const recs: Rec[] = [
      { ts: T0, healthy: true },
      { ts: T0 + MIN, healthy: false, component: 'b' },
      { ts: T0 + 2 * MIN, healthy: false },
      { ts: T0 + 4 * MIN, healthy: true },
      { ts: T0 + 3 * MIN, healthy: false },
      { ts: T0 + 6 * MIN, healthy: true, component: 'b' },
      { ts: T0 + 6 * MIN, healthy: true },
      { ts: T0 + 9 * MIN, healthy: false },
    ];
    const straight = run(newOp(), recs);
    for (let cut = 1; cut < recs.length; cut++) {
      const stream = new Stream();
      const first = newOp();
      const before = run(first, recs.slice(0, cut), stream);
      const restored = newOp();
      restored.onStart(
        new Map([...first.onCheckpoint()].filter((e): e is [string, string] => e[1] !== null)),
      );
      const after = run(restored, recs.slice(cut), stream);
      expect([...before, ...after], `cut at ${cut}`).toEqual(straight);
    }
    expect(availability(straight)).toEqual([
      1, // api {0 H}
      0, // b {1m D}
      1 / 2, // api {0 H, 2m D}
      2 / 3, // api {0 H, 2m D, 4m H}
      1 / 3, // api, late: (−2m, 3m] = {0 H, 2m D, 3m D}
      1, // b (1m, 6m] = {6m H}
      2 / 4, // api (1m, 6m] = {2m D, 3m D, 4m H, 6m H}
      1 / 2, // api (4m, 9m] = {6m H, 9m D}
    ]);
  });
});
