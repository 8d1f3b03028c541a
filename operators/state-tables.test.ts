import { describe, expect, it } from 'vitest';
import { EventTimeSortedOperator } from './event-time-sort.js';
import { batchOf, collector, runAcrossRestores, show, undeclared, windowNode } from './test-support.js';
import { createWindowOperator } from './window-operator.js';

// Operators declare their state tables up front; what they checkpoint must lie in them.
// (runAcrossRestores throws on an entry outside the declared tables.)
describe('declared state tables', () => {
  it('cover every entry a sorted, windowed operator checkpoints, across restores', () => {
    const newOp = () =>
      new EventTimeSortedOperator(
        createWindowOperator(windowNode({ type: 'session', gap: 50 }, { lateness: 40, bound: 30 }), ['x']),
        30,
      );
    const records = [
      { key: 'a', ts: 0 },
      { key: 'b', ts: 40 },
      { key: 'a', ts: 20 },
      { key: 'a', ts: 200 },
      { key: 'b', ts: 120 },
      { key: 'a', ts: 500 },
    ];
    const { straight, restored } = runAcrossRestores(newOp, records);
    expect(straight.length).toBeGreaterThan(2);
    for (const r of restored) expect(r.rows, `cut at ${r.cut}`).toEqual(straight);
  });

  it('undeclared() tells keyed, value and version entries of declared tables from others', () => {
    const op = newSorted();
    for (const k of ['k/a', '@version/k', 'wm', 'sort/b/12', '@version/sort/b', 'sort/meta']) {
      expect(undeclared(op, k), k).toBe(false);
    }
    for (const k of ['wm/x', 'kk/a', 'sort/c/1', '@version/wm', 'ctx'])
      expect(undeclared(op, k), k).toBe(true);
  });
});

function newSorted() {
  return new EventTimeSortedOperator(
    createWindowOperator(windowNode({ type: 'tumbling', size: 10 }), ['x']),
    0,
  );
}

describe('snapshots written before tables carried a format version', () => {
  it('restore as format version 1: same rows as an uninterrupted run, the version written once after', () => {
    const node = windowNode({ type: 'sliding', size: 100, slide: 50 }, { lateness: 60 });
    const recs = [
      { key: 'a', ts: 10, clock: Number.NEGATIVE_INFINITY },
      { key: 'a', ts: 120, clock: 10 },
      { key: 'b', ts: 130, clock: 120 },
      { key: 'a', ts: 60, clock: 130 },
      { key: 'a', ts: 260, clock: 130 },
      { key: 'b', ts: 90, clock: 260 },
    ];
    const straight = collector();
    const op = createWindowOperator(node, ['x']);
    op.processBatch(batchOf(recs), straight.out);
    op.onWatermark(Number.POSITIVE_INFINITY, straight.out);

    const c = collector();
    const first = createWindowOperator(node, ['x']);
    first.processBatch(batchOf(recs.slice(0, 3)), c.out);
    // the entries an older build wrote: the same, without `@version/…`
    const old = new Map(
      [...first.onCheckpoint()].filter(
        (e): e is [string, string] => e[1] !== null && !e[0].startsWith('@version/'),
      ),
    );
    expect(old.size).toBeGreaterThan(1);
    const second = createWindowOperator(node, ['x']);
    second.onStart(old);
    second.processBatch(batchOf(recs.slice(3)), c.out);
    second.onWatermark(Number.POSITIVE_INFINITY, c.out);
    expect(show(c.rows)).toEqual(show(straight.rows));
    expect(second.onCheckpoint().get('@version/k')).toBe('1');
  });
});
