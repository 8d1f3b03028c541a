import { describe, expect, it } from 'vitest';
import type { DecodedEvent } from '../events/types.js';
import { llmFeaturesTopology } from '../topology.js';
import type { ProcessNode } from '../../../../topology/nodes.js';
import { modelExtract, MODEL_VALUES } from './extractors.js';
import { ModelTableOperator } from './model-table.js';
import type { FeatureRow, RecordBatch } from '../../../../operators/operator.js';
import { MAPS } from '../../../../operators/functions.js';
import { collector } from '../../../../operators/test-support.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 15, 10);

const NODE = llmFeaturesTopology().nodes.find(
  (n): n is ProcessNode => n.kind === 'process' && n.id === 'model_static',
)!;
const MAP = MAPS.get('catalog-extract')!;
const FIELDS = MAP.fields;
const ATTRS = MAP.attributes;

const newOp = () => new ModelTableOperator(NODE, FIELDS, ATTRS);

/** A `model_catalog` announcement of `model` at `ts` with the given prices (USD per 1k tokens). */
function announce(
  model: string,
  ts: number,
  costIn: number,
  costOut: number,
  extra: Record<string, unknown> = {},
): DecodedEvent {
  return {
    type: 'model_catalog',
    ts,
    body: {
      model,
      provider: 'acme',
      context_length: 128_000,
      cost_per_1k_input: costIn,
      cost_per_1k_output: costOut,
      capability_score: 0.8,
      training_cutoff: '2024-01-15',
      supports_functions: true,
      supports_vision: false,
      supports_json_mode: true,
      size_class: 'large',
      ...extra,
    },
  };
}

/** One source partition: the `catalog-extract` records of the events, each with the greatest event time before it. */
class Stream {
  clock = Number.NEGATIVE_INFINITY;
  batch(events: readonly DecodedEvent[]): RecordBatch {
    const width = FIELDS.length;
    const values = new Float64Array(events.length * width);
    const attrs: string[] = [];
    const clocks: number[] = [];
    events.forEach((e, i) => {
      const r = modelExtract(e)!;
      expect(r.values).toHaveLength(width);
      values.set(r.values, i * width);
      for (const name of ATTRS) attrs.push(r.attrs[name]!);
      clocks.push(this.clock);
      this.clock = Math.max(this.clock, e.ts);
    });
    return {
      count: events.length,
      width,
      keys: events.map(() => 'catalog'),
      attrs,
      attrWidth: ATTRS.length,
      ts: Float64Array.from(events.map((e) => e.ts)),
      clock: Float64Array.from(clocks),
      values,
      refs: Int32Array.from(events.map((_, i) => i)),
    };
  }
}

function run(op: ModelTableOperator, events: readonly DecodedEvent[], stream = new Stream()): FeatureRow[] {
  const c = collector();
  op.processBatch(stream.batch(events), c.out);
  return c.rows;
}

/** [model, event time, MDL_002, MDL_003] of each row. */
const prices = (rows: readonly FeatureRow[]) =>
  rows.map((r) => [
    r.entityId,
    r.eventTime,
    r.values.model_cost_per_1k_input,
    r.values.model_cost_per_1k_output,
  ]);

describe('model-catalog operator (model_static, MDL_002/MDL_003 over the catalog maximum)', () => {
  it('divides each price by the catalog maximum', () => {
    const rows = run(newOp(), [announce('a', T0, 0.01, 0.03), announce('b', T0 + 1000, 0.002, 0.012)]);
    expect(prices(rows)).toEqual([
      ['a', T0, 0.01 / 0.01, 0.03 / 0.03],
      // the maxima are still a's: only b's row
      ['b', T0 + 1000, 0.002 / 0.01, 0.012 / 0.03],
    ]);
  });

  it("re-emits every model's row at the announcement's time when a new model raises a maximum", () => {
    const rows = run(newOp(), [
      announce('b', T0, 0.002, 0.012),
      announce('a', T0 + 1000, 0.01, 0.03),
      announce('c', T0 + 2000, 0.02, 0.01),
    ]);
    expect(prices(rows)).toEqual([
      ['b', T0, 1, 1],
      // a raises both maxima: a and b again, sorted by model
      ['a', T0 + 1000, 1, 1],
      ['b', T0 + 1000, 0.002 / 0.01, 0.012 / 0.03],
      // c raises the input maximum only: everyone again
      ['a', T0 + 2000, 0.01 / 0.02, 0.03 / 0.03],
      ['b', T0 + 2000, 0.002 / 0.02, 0.012 / 0.03],
      ['c', T0 + 2000, 0.02 / 0.02, 0.01 / 0.03],
    ]);
  });

  it('re-emits every row when the most expensive model lowers its price', () => {
    const rows = run(newOp(), [
      announce('a', T0, 0.01, 0.03),
      announce('b', T0 + 1000, 0.005, 0.01),
      announce('a', T0 + 2000, 0.004, 0.03),
    ]);
    expect(prices(rows).slice(2)).toEqual([
      ['a', T0 + 2000, 0.004 / 0.005, 1],
      ['b', T0 + 2000, 1, 0.01 / 0.03],
    ]);
  });

  it('ignores an announcement older than the stored one of the same model', () => {
    const rows = run(newOp(), [
      announce('a', T0 + 10_000, 0.01, 0.03),
      // older: ignored (no row, and its price does not become the maximum)
      announce('a', T0 + 5_000, 0.05, 0.05),
      announce('b', T0 + 20_000, 0.005, 0.015),
    ]);
    expect(prices(rows)).toEqual([
      ['a', T0 + 10_000, 1, 1],
      ['b', T0 + 20_000, 0.005 / 0.01, 0.015 / 0.03],
    ]);
  });

  it("computes MDL_005 at the row's event time, also for rows re-emitted later", () => {
    const cutoff = Date.UTC(2024, 0, 15);
    const rows = run(newOp(), [
      announce('a', T0, 0.01, 0.03),
      announce('b', T0 + 100 * DAY, 0.02, 0.06, { training_cutoff: '2025-06-01' }),
    ]);
    expect(rows.map((r) => [r.entityId, r.eventTime])).toEqual([
      ['a', T0],
      // b raises the maxima: a's row again, at b's announcement time
      ['a', T0 + 100 * DAY],
      ['b', T0 + 100 * DAY],
    ]);
    const age = rows.map((r) => r.values.model_training_cutoff_age!);
    expect(age[0]).toBeCloseTo((T0 - cutoff) / DAY / 365, 12);
    expect(age[1]).toBeCloseTo((T0 + 100 * DAY - cutoff) / DAY / 365, 12);
    // a cutoff after the row's time reads as age 0
    expect(age[2]).toBe(0);
  });

  it('emits rows of the model entity with no window, the other values passed through from catalog-extract', () => {
    const e = announce('gpt-x', T0, 0.01, 0.03, { provider: 'OpenAI', size_class: 'small' });
    const rows = run(newOp(), [e]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      group: 'model_static',
      entityType: 'model',
      entityId: 'gpt-x',
      version: 1,
      windowStart: null,
      windowEnd: null,
      eventTime: T0,
      revision: 0,
    });
    const v = rows[0]!.values;
    expect(Object.keys(v)).toEqual([...MODEL_VALUES]);
    const mapped = modelExtract(e)!.values;
    for (const name of MODEL_VALUES) {
      if (['model_cost_per_1k_input', 'model_cost_per_1k_output', 'model_training_cutoff_age'].includes(name))
        continue;
      expect(v[name], name).toBe(mapped[FIELDS.indexOf(name)]);
    }
    expect(v.model_context_length).toBeCloseTo(Math.log(128_000) / Math.log(200_000), 15);
    expect([v.model_capability_score, v.model_size_class, v.model_supports_vision]).toEqual([0.8, 0, 0]);
  });

  it('gives a row re-emitted at the same event time the next revision, also across a restore', () => {
    const events = [
      announce('a', T0, 0.01, 0.03),
      announce('b', T0, 0.02, 0.06), // raises both maxima at the same instant: a again
      announce('c', T0, 0.04, 0.01), // raises the input maximum: a and b again
      announce('a', T0 + 1000, 0.01, 0.03), // maxima unchanged, a new instant: revision 0
    ];
    const straight = run(newOp(), events);
    expect(straight.map((r) => [r.entityId, r.eventTime, r.revision])).toEqual([
      ['a', T0, 0],
      ['a', T0, 1],
      ['b', T0, 0],
      ['a', T0, 2],
      ['b', T0, 1],
      ['c', T0, 0],
      ['a', T0 + 1000, 0],
    ]);
    for (let cut = 1; cut < events.length; cut++) {
      const stream = new Stream();
      const first = newOp();
      const before = run(first, events.slice(0, cut), stream);
      const restored = newOp();
      restored.onStart(
        new Map([...first.onCheckpoint()].filter((e): e is [string, string] => e[1] !== null)),
      );
      expect([...before, ...run(restored, events.slice(cut), stream)], `cut at ${cut}`).toEqual(straight);
    }
  });

  it('normalises later announcements by the restored maxima after checkpoint → restore', () => {
    const events = [
      announce('a', T0 + 1000, 0.01, 0.03),
      announce('b', T0 + 1500, 0.002, 0.006),
      announce('a', T0 + 500, 0.5, 0.5), // older than the stored a: ignored
      announce('c', T0 + 2000, 0.004, 0.012),
      announce('d', T0 + 3000, 0.02, 0.01),
    ];
    const straight = run(newOp(), events);
    for (let cut = 1; cut < events.length; cut++) {
      const stream = new Stream();
      const first = newOp();
      const before = run(first, events.slice(0, cut), stream);
      const restored = newOp();
      restored.onStart(
        new Map([...first.onCheckpoint()].filter((e): e is [string, string] => e[1] !== null)),
      );
      const after = run(restored, events.slice(cut), stream);
      expect([...before, ...after], `cut at ${cut}`).toEqual(straight);
    }
    expect(prices(straight).slice(2)).toEqual([
      ['c', T0 + 2000, 0.004 / 0.01, 0.012 / 0.03],
      ['a', T0 + 3000, 0.01 / 0.02, 1],
      ['b', T0 + 3000, 0.002 / 0.02, 0.006 / 0.03],
      ['c', T0 + 3000, 0.004 / 0.02, 0.012 / 0.03],
      ['d', T0 + 3000, 1, 0.01 / 0.03],
    ]);
  });
});
