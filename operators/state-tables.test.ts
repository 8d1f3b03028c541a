import { describe, expect, it } from 'vitest';
import { EventTimeSortedOperator } from './event-time-sort.js';
import { runAcrossRestores, undeclared, windowNode } from './test-support.js';
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
