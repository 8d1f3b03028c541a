import { describe, expect, it } from 'vitest';
import type { EncodedBranch } from '../../runtime/protocol.js';
import { decodeFrame, encodeFrame, filterBranch, type RepartitionFrame } from './frame.js';

function branch(n: number, width: number): EncodedBranch {
  return {
    count: n,
    width,
    dict: ['model-0', 'model-1', 'model-2', 'a', 'b'],
    keys: Float64Array.from({ length: n }, (_, i) => i % 3),
    attrs: Float64Array.from({ length: n * 2 }, (_, i) => 3 + (i % 2)),
    ts: Float64Array.from({ length: n }, (_, i) => 1_736_900_000_000 + i),
    clock: Float64Array.from({ length: n }, (_, i) =>
      i === 0 ? Number.NEGATIVE_INFINITY : 1_736_900_000_000 + i - 1,
    ),
    values: Float64Array.from({ length: n * width }, (_, i) => (i % 5 === 0 ? Number.NaN : i / 7)),
    refs: Float64Array.from({ length: n }, (_, i) => 100 + i),
  };
}

const frame = (b: EncodedBranch | null): RepartitionFrame => ({
  partition: 5,
  last: 140,
  base: Number.NEGATIVE_INFINITY,
  end: 1_736_900_000_050,
  eof: true,
  branches: [b, null],
  deadLetters: [{ offset: 120, reason: 'not_json', detail: 'not JSON: x', raw: 'x', key: 'k' }],
});

describe('repartition frames', () => {
  it('round-trip every column, NaN and ±∞ included', () => {
    const f = frame(branch(7, 3));
    const back = decodeFrame(encodeFrame(f));
    expect(back.partition).toBe(5);
    expect(back.last).toBe(140);
    expect(back.base).toBe(Number.NEGATIVE_INFINITY);
    expect(back.end).toBe(f.end);
    expect(back.eof).toBe(true);
    expect(back.deadLetters).toEqual(f.deadLetters);
    expect(back.branches[1]).toBeNull();
    const a = f.branches[0]!;
    const b = back.branches[0]!;
    expect(b.count).toBe(7);
    expect(b.dict).toEqual(a.dict);
    expect([...b.keys]).toEqual([...a.keys]);
    expect([...b.attrs]).toEqual([...a.attrs]);
    expect(b.clock).toBeInstanceOf(Float64Array);
    expect([...b.ts]).toEqual([...a.ts]);
    expect([...b.clock]).toEqual([...a.clock]);
    expect([...b.values].map(String)).toEqual([...a.values].map(String));
    expect([...b.refs]).toEqual([...a.refs]);
  });

  it('decode a frame that sits at an odd offset of a larger buffer (as in a fetched batch)', () => {
    const enc = encodeFrame(frame(branch(3, 2)));
    const big = Buffer.alloc(enc.length + 3);
    enc.copy(big, 3);
    const back = decodeFrame(big.subarray(3));
    expect([...back.branches[0]!.ts]).toEqual([...frame(branch(3, 2)).branches[0]!.ts]);
  });

  it('read a version-2 frame (string keys and attributes, written before an upgrade) in the dictionary form', () => {
    const head = Buffer.from(
      JSON.stringify({
        v: 2,
        p: 1,
        l: 9,
        b: '-inf',
        e: 5,
        br: [{ count: 2, width: 1, keys: ['m1', 'm2'], attrs: ['m1', 'x', 'm2', 'x'], ts: { f64: [0, 2] } }],
      }),
    );
    const dataStart = (4 + head.length + 7) & ~7;
    const buf = Buffer.alloc(dataStart + 16);
    buf.writeUInt32BE(head.length, 0);
    head.copy(buf, 4);
    buf.writeDoubleLE(3, dataStart);
    buf.writeDoubleLE(4, dataStart + 8);
    const b = decodeFrame(buf).branches[0]!;
    expect(b.dict).toEqual(['m1', 'm2', 'x']);
    expect([...b.keys].map((i) => b.dict[i])).toEqual(['m1', 'm2']);
    expect([...b.attrs].map((i) => b.dict[i])).toEqual(['m1', 'x', 'm2', 'x']);
    expect([...b.ts]).toEqual([3, 4]);
  });

  it('refuse what is not a frame', () => {
    expect(() => decodeFrame(Buffer.from('{"v":1}'))).toThrow(/frame/);
    expect(() => decodeFrame(Buffer.alloc(2))).toThrow(/frame/);
  });

  it('filterBranch keeps the chosen records in every per-record column', () => {
    const b = branch(6, 2);
    const kept = filterBranch(b, (i) => b.refs[i]! > 102);
    expect(kept.count).toBe(3);
    expect([...kept.refs]).toEqual([103, 104, 105]);
    expect(kept.dict).toBe(b.dict);
    expect([...kept.keys]).toEqual([...b.keys.slice(3)]);
    expect([...kept.attrs]).toEqual([...b.attrs.slice(6)]);
    expect([...kept.values].map(String)).toEqual([...b.values.slice(6)].map(String));
    expect(kept.width).toBe(2);
    expect(filterBranch(b, () => true)).toBe(b);
  });
});
