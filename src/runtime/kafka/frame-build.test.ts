import { describe, expect, it } from 'vitest';
import type { EncodedBranch } from '../protocol.js';
import { buildFrame, type FrameSpec } from './frame-build.js';

const branch = (): EncodedBranch => ({
  count: 3,
  width: 1,
  dict: ['m'],
  keys: new Float64Array([0, 0, 0]),
  attrs: new Float64Array(0),
  // Event times, and each record's in-chunk clock (the greatest event time before it).
  ts: new Float64Array([1_000, 900, 1_200]),
  clock: new Float64Array([Number.NEGATIVE_INFINITY, 1_000, 1_000]),
  values: new Float64Array([1, 2, 3]),
  refs: new Float64Array([0, 2, 3]), // line indices in the chunk
});

const spec = (over: Partial<FrameSpec> = {}): FrameSpec => ({
  partition: 5,
  offsets: new Float64Array([100, 101, 102, 103]),
  last: 103,
  base: 950,
  eof: false,
  rawAll: false,
  lateBound: 40,
  ...over,
});

const line = (i: number) => `line ${i}`;

describe('buildFrame', () => {
  it('turns line indices into source offsets and keeps the raw text of the records that may be late', () => {
    const f = buildFrame(spec(), [null, branch()], line, 1_200, []);
    expect(f).toMatchObject({ partition: 5, last: 103, base: 950, end: 1_200, eof: false, deadLetters: [] });
    expect([...f.branches[1]!.refs]).toEqual([100, 102, 103]);
    expect(f.branches[0]).toBeNull();
    // Watermark of a record: max(base, its clock) − 40. 1,000 > 950 − 40: in time; 900 ≤ 1,000 − 40:
    // may be late; 1,200 > 960: in time.
    expect(f.raws).toEqual([[102, 'line 2']]);
  });

  it('keeps every raw text with rawAll, none when no record is behind, and passes dead letters on', () => {
    expect(buildFrame(spec({ rawAll: true }), [branch()], line, 1_200, []).raws?.map(([o]) => o)).toEqual([
      100, 102, 103,
    ]);
    const inOrder = { ...branch(), ts: new Float64Array([1_000, 1_100, 1_200]) };
    const dl = { offset: 101, reason: 'bad_json', detail: 'x', raw: '{', key: null };
    const f = buildFrame(spec({ eof: true }), [inOrder], line, 1_200, [dl]);
    expect(f.raws).toBeUndefined();
    expect(f.deadLetters).toEqual([dl]);
    expect(f.eof).toBe(true);
    expect(buildFrame(spec(), null, line, 950, []).branches).toEqual([]);
  });
});
