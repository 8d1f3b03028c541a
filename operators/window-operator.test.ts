import { describe, expect, it } from 'vitest';
import type { WindowSpec } from '../topology/nodes.js';
import { SessionWindowOperator } from './session-window.js';
import { SlidingWindowOperator } from './sliding-window.js';
import { runAcrossRestores, runInOrder, show, windowNode } from './test-support.js';
import { createWindowOperator } from './window-operator.js';

const records = [
  { key: 'a', ts: 0 },
  { key: 'b', ts: 30 },
  { key: 'a', ts: 70 },
  { key: 'a', ts: 160 },
  { key: 'b', ts: 20 },
  { key: 'a', ts: 90 },
  { key: 'b', ts: 400 },
  { key: 'a', ts: 10 },
  { key: 'a', ts: 650 },
];

// One suite over every assigner kind: the factory picks the operator, and each survives a
// checkpoint → restore at every point.
const specs: Array<[string, WindowSpec]> = [
  ['tumbling', { type: 'tumbling', size: 100 }],
  ['sliding', { type: 'sliding', size: 100, slide: 25 }],
  ['session', { type: 'session', gap: 50 }],
  ['session with a max duration', { type: 'session', gap: 50, maxDuration: 120 }],
];

describe.each(specs)('createWindowOperator: %s', (_name, spec) => {
  const node = () => windowNode(spec, { lateness: 80 });

  it('builds the operator of the assigner’s kind, with the same rows', () => {
    const direct =
      spec.type === 'session'
        ? new SessionWindowOperator(node(), ['x'])
        : new SlidingWindowOperator(node(), ['x']);
    const rows = show(runInOrder(createWindowOperator(node(), ['x']), records).rows);
    expect(rows.length).toBeGreaterThan(2);
    expect(rows).toEqual(show(runInOrder(direct, records).rows));
  });

  it('gives identical rows after checkpoint → restore at every point', () => {
    const { straight, restored } = runAcrossRestores(() => createWindowOperator(node(), ['x']), records);
    for (const r of restored) expect(r.rows, `cut at ${r.cut}`).toEqual(straight);
  });
});
