import { describe, expect, it } from 'vitest';
import { EventTimeSortedOperator } from './event-time-sort.js';
import type { Emitter, Operator, RecordBatch } from './operator.js';
import { batchOf, collector, type TestRecord } from './test-support.js';

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
