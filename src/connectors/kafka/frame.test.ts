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

  it('keep every value bit for bit in its compact column: NaN, ±∞, −0, fractions, integers of any span', () => {
    // A seeded generator of column kinds: each column draws from one kind, so the frame holds
    // every form (all NaN, 1/2/4-byte offsets, Float64) and the edges between them.
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const kinds: Array<() => number> = [
      () => Number.NaN,
      () => (rnd() < 0.3 ? Number.NaN : Math.floor(rnd() * 255)),
      () => Math.floor(rnd() * 255) - 1_000,
      () => (rnd() < 0.5 ? 0 : 254),
      () => Math.floor(rnd() * 65_536),
      () => 1_736_900_000_000 + Math.floor(rnd() * 2 ** 32),
      () => (rnd() < 0.5 ? 0 : 2 ** 32 - 2),
      () => (rnd() < 0.5 ? 0 : 2 ** 32 - 1),
      () => (rnd() < 0.5 ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER),
      () => (rnd() < 0.5 ? -0 : 1),
      () => (rnd() < 0.5 ? Number.POSITIVE_INFINITY : 3),
      () => (rnd() < 0.2 ? Number.NEGATIVE_INFINITY : rnd() * 1e4),
      () => 2 ** 60 * rnd(),
      () => (rnd() < 0.5 ? 0.1 : 0.2),
    ];
    for (let round = 0; round < 40; round++) {
      const n = Math.floor(rnd() * 300);
      const width = Math.floor(rnd() * 20);
      const col = () => {
        const k = kinds[Math.floor(rnd() * kinds.length)]!;
        return Float64Array.from({ length: n }, k);
      };
      const fields = Array.from({ length: width }, col);
      const values = new Float64Array(n * width);
      for (const [j, f] of fields.entries()) for (const [i, v] of f.entries()) values[i * width + j] = v;
      const b: EncodedBranch = {
        count: n,
        width,
        dict: ['a'],
        keys: col(),
        attrs: Float64Array.from({ length: n * 3 }, () => Math.floor(rnd() * 300)),
        ts: col(),
        clock: col(),
        values,
        refs: col(),
      };
      const enc = encodeFrame(frame(b));
      const odd = Buffer.alloc(enc.length + 5);
      enc.copy(odd, 5);
      const back = decodeFrame(odd.subarray(5)).branches[0]!;
      for (const k of ['keys', 'attrs', 'ts', 'clock', 'values', 'refs'] as const) {
        expect(back[k]).toBeInstanceOf(Float64Array);
        expect(back[k].length, k).toBe(b[k].length);
        b[k].forEach((v, i) => {
          if (!Object.is(back[k][i], v)) expect.fail(`round ${round} ${k}[${i}]: ${back[k][i]} ≠ ${v}`);
        });
      }
    }
  });

  it('store a field that is NaN in every record in no bytes, small integers in a byte', () => {
    // As the derived join's branch of a batch of performance records: 9 values, 37 NaN fields.
    const n = 500;
    const width = 46;
    const values = new Float64Array(n * width).fill(Number.NaN);
    for (let i = 0; i < n; i++) {
      values.set([3, 100 + i * 1.5, 0.001 * i, 120 + i, 300, 1, 0, i % 3, 0], i * width);
    }
    const b: EncodedBranch = {
      count: n,
      width,
      dict: ['*', 'gpt-4', ''],
      keys: new Float64Array(n),
      attrs: Float64Array.from({ length: n * 4 }, (_, i) => [0, 1, 2, 2][i % 4]!),
      ts: Float64Array.from({ length: n }, (_, i) => 1_736_900_000_000 + i * 7),
      clock: Float64Array.from({ length: n }, (_, i) => 1_736_900_000_000 + i * 7 - 1),
      values,
      refs: Float64Array.from({ length: n }, (_, i) => 40_000 + i),
    };
    const float64Bytes = n * (width + 4 + 4) * 8;
    const enc = encodeFrame(frame(b));
    // keys 0 B, attrs 4, ts 2, clock 2, refs 2, values 2 Float64 (16) + 6 small (≈ 8): ≈ 34 B a record.
    expect(enc.length).toBeLessThan(n * 40 + 2_000);
    expect(enc.length).toBeLessThan(float64Bytes / 10);
    const back = decodeFrame(enc).branches[0]!;
    expect([...back.values].map(String)).toEqual([...values].map(String));
  });

  it('read a version-3 frame (every column as Float64, written before an upgrade)', () => {
    const b = branch(4, 2);
    const cols = ['keys', 'attrs', 'ts', 'clock', 'values', 'refs'] as const;
    let at = 0;
    const refs: Record<string, unknown> = { count: b.count, width: b.width, dict: b.dict };
    for (const k of cols) {
      refs[k] = { f64: [at, b[k].length] };
      at += b[k].length * 8;
    }
    const head = Buffer.from(JSON.stringify({ v: 3, p: 2, l: 7, b: '-inf', e: 9, br: [refs] }));
    const dataStart = (4 + head.length + 7) & ~7;
    const buf = Buffer.alloc(dataStart + at);
    buf.writeUInt32BE(head.length, 0);
    head.copy(buf, 4);
    let o = dataStart;
    for (const k of cols) for (const v of b[k]) o = buf.writeDoubleLE(v, o);
    const back = decodeFrame(buf).branches[0]!;
    for (const k of cols) expect([...back[k]].map(String), k).toEqual([...b[k]].map(String));
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
