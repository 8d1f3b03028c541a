import { describe, expect, it } from 'vitest';
import { EventTimeSortedOperator } from './event-time-sort.js';
import type { Emitter, Operator, RecordBatch } from './operator.js';
import { batchOf, collector, show, type TestRecord, windowNode } from './test-support.js';
import { createWindowOperator } from './window-operator.js';

/** An order-dependent processor stand-in: it records what it saw, in order, with its clock. */
class Recorder implements Operator {
  readonly id = 'p';
  readonly tables = [];
  seen: Array<[string, number, number, number]> = [];
  processBatch(b: RecordBatch, _out: Emitter): void {
    for (let i = 0; i < b.count; i++) this.seen.push([b.keys[i]!, b.ts[i]!, b.clock[i]!, b.values[i]!]);
  }
}

/** Records of one stream in arrival order, each with the clock before it (max event time so far). */
function arriving(events: ReadonlyArray<[string, number, number?]>): TestRecord[] {
  let clock = Number.NEGATIVE_INFINITY;
  return events.map(([key, ts, x]) => {
    const r = { key, ts, clock, x: x ?? 1 };
    clock = Math.max(clock, ts);
    return r;
  });
}

function run(records: TestRecord[], split = records.length): { seen: Recorder['seen']; late: number[] } {
  const inner = new Recorder();
  let op = new EventTimeSortedOperator(inner, 10);
  const c = collector();
  op.processBatch(batchOf(records.slice(0, split)), c.out);
  if (split < records.length) {
    // Checkpoint mid-buffer, restore into a fresh operator, go on.
    const entries = new Map<string, string>();
    for (const [k, v] of op.onCheckpoint()) if (v !== null) entries.set(k, v);
    op = new EventTimeSortedOperator(inner, 10);
    op.onStart(entries);
    op.processBatch(batchOf(records.slice(split)), c.out);
  }
  op.onWatermark(Number.POSITIVE_INFINITY, c.out);
  return { seen: inner.seen, late: c.late.map((l) => l.ts) };
}

describe('event-time-sorted input of a processor', () => {
  const a: Array<[string, number, number?]> = [
    ['k', 100],
    ['k', 105],
    ['k', 103],
    ['j', 103, 2],
    ['k', 120],
    ['k', 112],
    ['k', 140],
  ];
  const b: Array<[string, number, number?]> = [
    ['j', 103, 2],
    ['k', 105],
    ['k', 100],
    ['k', 112],
    ['k', 103],
    ['k', 120],
    ['k', 140],
  ];

  it('gives the processor the same sequence whatever the arrival order within the bound', () => {
    const x = run(arriving(a));
    const y = run(arriving(b));
    expect(x.seen.map(([k, ts]) => `${k}@${ts}`)).toEqual(
      ['j@103', 'k@100', 'k@103', 'k@105', 'k@112', 'k@120', 'k@140'].sort(
        (p, q) => Number(p.split('@')[1]) - Number(q.split('@')[1]) || p.localeCompare(q),
      ),
    );
    expect(y.seen).toEqual(x.seen);
  });

  it('hands each record the sorted stream’s clock (its own time)', () => {
    for (const [, ts, clock] of run(arriving(a)).seen) expect(clock).toBe(ts);
  });

  it('reports a record behind the watermark as late and keeps it from the processor', () => {
    const r = run(arriving([...a, ['k', 135], ['k', 50]]));
    expect(r.late).toEqual([50]);
    expect(r.seen.some(([, ts]) => ts === 50)).toBe(false);
  });

  it('keeps its buffer across a checkpoint and restore', () => {
    const records = arriving(a);
    for (let split = 1; split < records.length; split++)
      expect(run(records, split).seen).toEqual(run(records).seen);
  });
});

describe('event-time-sorted input of a session window with a maximum duration (window mode)', () => {
  // gap 30, max 100, bound 20, lateness 50. In event-time order the cut falls at 75 (the element
  // that would make the session longer than 100: 75 + 30 − 0 = 105); arriving as 0, 50, 75, 60
  // (60 within the bound), the unsorted window cuts at 60 instead.
  const node = windowNode({ type: 'session', gap: 30, maxDuration: 100 }, { bound: 20, lateness: 50 });
  const inOrder: Array<[string, number]> = [
    ['k', 0],
    ['k', 25],
    ['k', 50],
    ['k', 60],
    ['k', 75],
    ['k', 200],
  ];
  const shuffled: Array<[string, number]> = [
    ['k', 0],
    ['k', 25],
    ['k', 50],
    ['k', 75],
    ['k', 60],
    ['k', 200],
  ];
  const sorted = (events: Array<[string, number]>) => {
    const c = collector();
    const op = new EventTimeSortedOperator(createWindowOperator(node, ['x']), node.outOfOrderness, {
      window: true,
    });
    op.processBatch(batchOf(arriving(events)), c.out);
    op.onWatermark(Number.POSITIVE_INFINITY, c.out);
    return c;
  };

  it('gives the same sessions whatever the arrival order within the bound', () => {
    const a = sorted(inOrder);
    expect(show(a.rows)).toEqual(show(sorted(shuffled).rows));
    expect(show(a.rows)).toEqual([
      'k [0,90) rev=0 n=4 sum_x=4',
      'k [75,105) rev=0 n=1 sum_x=1',
      'k [200,230) rev=0 n=1 sum_x=1',
    ]);
  });

  it('the unsorted window cuts where the records arrive (why the wrapper exists)', () => {
    const c = collector();
    const op = createWindowOperator(node, ['x']);
    op.processBatch(batchOf(arriving(shuffled)), c.out);
    op.onWatermark(Number.POSITIVE_INFINITY, c.out);
    expect(show(c.rows)).not.toEqual(show(sorted(inOrder).rows));
  });

  it('a record behind the bound goes to the window with its position: a revision within the lateness, late after it', () => {
    // Arrival 0, 60, 100, 20, 150, 200, 5. When 20 arrives the sorted stream is at 60 (window
    // watermark 39): [0,30) has fired, 20 merges into it → [0,50) fires again as revision 1. When 5
    // arrives the window watermark is 129, past [5,35)'s lateness (34 + 50): late, with its position.
    const events: Array<[string, number]> = [
      ['k', 0],
      ['k', 60],
      ['k', 100],
      ['k', 20],
      ['k', 150],
      ['k', 200],
      ['k', 5],
    ];
    const c = sorted(events);
    expect(c.late.map((l) => [l.ref, l.ts])).toEqual([[6, 5]]);
    expect(show(c.rows)).toContain('k [0,30) rev=0 n=1 sum_x=1');
    expect(show(c.rows)).toContain('k [0,50) rev=1 n=2 sum_x=2');
  });
});
