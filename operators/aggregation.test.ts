import { describe, expect, it } from 'vitest';
import { addPartial, compileAggregation, nearestRankIndex, selectInPlace, sumOf } from './aggregation.js';

const add = (plan: ReturnType<typeof compileAggregation>, rows: number[][]) => {
  const acc = plan.create();
  rows.forEach((r, i) => {
    plan.add(acc, r, 0, i, i);
  });
  return acc;
};

describe('aggregation', () => {
  it('nearest rank: 1-based rank ceil(q·n)', () => {
    expect(nearestRankIndex(10, 0.5)).toBe(4);
    expect(nearestRankIndex(10, 0.95)).toBe(9);
    expect(nearestRankIndex(20, 0.95)).toBe(18);
    expect(nearestRankIndex(1, 0.99)).toBe(0);
    expect(nearestRankIndex(100, 0.99)).toBe(98);
  });

  it('computes count, sum, mean, min, max, ratio, latest, quantile with SQL null semantics', () => {
    const plan = compileAggregation(
      [
        { id: 'a', name: 'count', agg: { type: 'count' } },
        { id: 'b', name: 'sum', agg: { type: 'sum', field: 'x' } },
        { id: 'c', name: 'mean', agg: { type: 'mean', field: 'x' } },
        { id: 'd', name: 'min', agg: { type: 'min', field: 'x' } },
        { id: 'e', name: 'max', agg: { type: 'max', field: 'x' } },
        { id: 'f', name: 'ratio', agg: { type: 'ratio', num: 'x', den: 'y' } },
        { id: 'g', name: 'per_event', agg: { type: 'ratio', num: 'y' } },
        { id: 'h', name: 'latest', agg: { type: 'latest', field: 'x' } },
        { id: 'i', name: 'p50', agg: { type: 'quantile', field: 'x', q: 0.5 } },
        { id: 'j', name: 'rate', agg: { type: 'count', scale: 1 / 300 } },
      ],
      ['x', 'y'],
    );
    const acc = add(plan, [
      [4, 1],
      [Number.NaN, 1],
      [1, 2],
      [10, 0],
    ]);
    expect(plan.results(acc)).toEqual([4, 15, 5, 1, 10, 15 / 4, 1, 10, 4, 4 / 300]);
  });

  it('returns null for no inputs and for a division by zero', () => {
    const plan = compileAggregation(
      [
        { id: 'a', name: 'sum', agg: { type: 'sum', field: 'x' } },
        { id: 'b', name: 'ratio', agg: { type: 'ratio', num: 'x', den: 'y' } },
        { id: 'c', name: 'p99', agg: { type: 'quantile', field: 'x', q: 0.99 } },
      ],
      ['x', 'y'],
    );
    expect(plan.results(add(plan, [[Number.NaN, 0]]))).toEqual([null, null, null]);
  });

  it('merges accumulators so that merge(a, b) equals adding all rows to one', () => {
    const plan = compileAggregation(
      [
        { id: 'a', name: 'p95', agg: { type: 'quantile', field: 'x', q: 0.95 } },
        { id: 'b', name: 'mean', agg: { type: 'mean', field: 'x' } },
        { id: 'c', name: 'latest', agg: { type: 'latest', field: 'x' } },
        { id: 'd', name: 'max', agg: { type: 'max', field: 'x' } },
      ],
      ['x'],
    );
    const rows = Array.from({ length: 37 }, (_, i) => [(i * 7919) % 101]);
    const whole = add(plan, rows);
    const a = plan.create();
    const b = plan.create();
    rows.forEach((r, i) => {
      plan.add(i % 2 === 0 ? a : b, r, 0, i, i);
    });
    plan.merge(a, b);
    expect(plan.results(a)).toEqual(plan.results(whole));
  });

  it('selects the same order statistic as a full sort (quickselect), duplicates included', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let n = 1; n < 300; n += 7) {
      const values = Array.from({ length: n }, () => Math.floor(rand() * 50) / 2);
      const sorted = [...values].sort((a, b) => a - b);
      for (const k of [0, n >> 1, n - 1]) {
        const a = Float64Array.from(values);
        selectInPlace(a, k);
        expect(a[k]).toBe(sorted[k]);
      }
    }
  });

  it('shares one value list between quantiles of the same field', () => {
    const plan = compileAggregation(
      [
        { id: 'a', name: 'p50', agg: { type: 'quantile', field: 'x', q: 0.5 } },
        { id: 'b', name: 'p99', agg: { type: 'quantile', field: 'x', q: 0.99 } },
      ],
      ['x'],
    );
    expect(plan.slots).toHaveLength(1);
  });

  it('rejects unknown fields and bad q naming them', () => {
    expect(() =>
      compileAggregation([{ id: 'a', name: 'a', agg: { type: 'sum', field: 'nope' } }], ['x']),
    ).toThrow(/unknown field `nope`/);
    expect(() =>
      compileAggregation([{ id: 'a', name: 'a', agg: { type: 'quantile', field: 'x', q: 1.5 } }], ['x']),
    ).toThrow(/`q` must be in \(0, 1\]/);
  });
});

describe('exact sums (order independence)', () => {
  it('gives bit-identical sums, means and ratios whatever the order and the merge tree', () => {
    const plan = compileAggregation(
      [
        { id: 's', name: 's', agg: { type: 'sum', field: 'x' } },
        { id: 'm', name: 'm', agg: { type: 'mean', field: 'x' } },
        { id: 'r', name: 'r', agg: { type: 'ratio', num: 'x', den: 'y' } },
      ],
      ['x', 'y'],
    );
    // Values whose float sum depends on the order: 0.1 + 0.2 + 0.3 ≠ 0.3 + 0.2 + 0.1, huge and tiny terms.
    const xs = [0.1, 0.2, 0.3, 1e16, 1, -1e16, 3.3e-7, 12.34, 0.7, 5e-324];
    const ys = xs.map((x, i) => x * (i + 1) + 0.01);
    const order = (perm: number[]) => {
      const acc = plan.create();
      for (const i of perm) plan.add(acc, [xs[i]!, ys[i]!], 0, 0, 0);
      return plan.results(acc);
    };
    const forward = order(xs.map((_, i) => i));
    const backward = order(xs.map((_, i) => xs.length - 1 - i));
    expect(backward).toEqual(forward);
    // Split in two accumulators and merged: the same.
    const a = plan.create();
    const b = plan.create();
    for (let i = 0; i < xs.length; i++) plan.add(i % 2 === 0 ? a : b, [xs[i]!, ys[i]!], 0, 0, 0);
    plan.merge(b, a);
    expect(plan.results(b)).toEqual(forward);
    // And correctly rounded: 1e16 and -1e16 cancel exactly, leaving the small terms.
    const naiveSmall = [0.1, 0.2, 0.3, 1, 3.3e-7, 12.34, 0.7, 5e-324];
    const partials: number[] = [];
    for (const v of naiveSmall) addPartial(partials, v);
    expect(forward[0]).toBe(sumOf(partials));
    expect(forward[0]).not.toBe(xs.reduce((p, v) => p + v, 0));
  });

  it('addPartial: the same correctly rounded sum in any order, with cancellations that shrink the partials', () => {
    let seed = 4242;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const xs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const x = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
      xs.push(x, i % 7 === 0 ? -x : rand()); // exact cancellations shrink the partial list
    }
    const sumIn = (order: readonly number[]) => {
      const partials: number[] = [];
      for (const x of order) addPartial(partials, x);
      return sumOf(partials);
    };
    const expected = sumIn(xs);
    for (let k = 0; k < 20; k++) {
      const perm = [...xs];
      for (let i = perm.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      expect(sumIn(perm)).toBe(expected);
    }
    // Exact small integers: the sum is exact.
    expect(sumIn([1e16, 1, -1e16, 2, 3])).toBe(6);
  });

  it('resultsOfMerged equals merging into a fresh accumulator and taking its results (exact, and past the exact limit)', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const features = [
      { id: 'a', name: 'p50', agg: { type: 'quantile', field: 'x', q: 0.5 } },
      { id: 'b', name: 'p95', agg: { type: 'quantile', field: 'x', q: 0.95 } },
      { id: 'c', name: 'p99y', agg: { type: 'quantile', field: 'y', q: 0.99 } },
      { id: 'd', name: 'mean', agg: { type: 'mean', field: 'x' } },
      { id: 'e', name: 'n', agg: { type: 'count' } },
    ] as const;
    for (const limit of [Number.POSITIVE_INFINITY, 300]) {
      const plan = compileAggregation(features, ['x', 'y'], { exactUpTo: limit });
      for (let trial = 0; trial < 20; trial++) {
        const parts = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => {
          const acc = plan.create();
          const n = Math.floor(rand() * 60);
          for (let i = 0; i < n; i++)
            plan.add(acc, [rand() * 1000, rand() < 0.1 ? Number.NaN : rand()], 0, 0, i);
          return acc;
        });
        const merged = plan.create();
        for (const p of parts) plan.merge(merged, p);
        const before = JSON.stringify(parts);
        expect(plan.resultsOfMerged(parts)).toEqual(plan.results(merged));
        expect(JSON.stringify(parts)).toBe(before); // the panes are left as they were
      }
    }
  });

  it('resultsOfMerged sees a value added to a pane after an earlier firing (a record within the lateness)', () => {
    const plan = compileAggregation(
      [
        { id: 'a', name: 'p50', agg: { type: 'quantile', field: 'x', q: 0.5 } },
        { id: 'b', name: 'p99', agg: { type: 'quantile', field: 'x', q: 0.99 } },
      ],
      ['x'],
    );
    const parts = [0, 1, 2].map((p) => {
      const acc = plan.create();
      for (let i = 0; i < 30; i++) plan.add(acc, [p * 100 + i], 0, 0, i);
      return acc;
    });
    const first = plan.resultsOfMerged(parts);
    plan.add(parts[1]!, [10_000], 0, 0, 99);
    plan.add(parts[1]!, [10_001], 0, 0, 100);
    const merged = plan.create();
    for (const p of parts) plan.merge(merged, p);
    const second = plan.resultsOfMerged(parts);
    expect(second).toEqual(plan.results(merged));
    expect(second[1]).toBe(10_001); // rank ⌈0.99 · 92⌉ = 92: the greatest
    expect(second).not.toEqual(first);
  });
});
