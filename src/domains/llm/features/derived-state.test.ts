import { describe, expect, it } from 'vitest';
import { ConfigError, InternalError } from '../../../shared/errors.js';
import { DecayedCounter, OnlineKMeans, RunningCentroid } from './derived-state.js';

const roundTrip = <T extends { toJSON(): unknown }>(x: T): unknown => JSON.parse(JSON.stringify(x));

describe('DecayedCounter (DRV_009)', () => {
  it('halves every half-life of event time', () => {
    const c = new DecayedCounter(60_000);
    expect(c.count(0)).toBe(0);
    expect(c.score(0)).toBe(0);
    c.add(0);
    c.add(0);
    expect(c.count(60_000)).toBeCloseTo(2 * 0.5, 15);
    expect(c.count(120_000)).toBeCloseTo(2 * 0.25, 15);
    c.add(60_000);
    expect(c.count(60_000)).toBeCloseTo(2 * 0.5 + 1, 15);
    expect(c.score(60_000)).toBeCloseTo(2 / (2 + 10), 15);
  });
  it('is exact for out-of-order events and never inflates the past', () => {
    const inOrder = new DecayedCounter(1_000, 4);
    inOrder.add(0);
    inOrder.add(500);
    inOrder.add(1_000);
    const shuffled = new DecayedCounter(1_000, 4);
    shuffled.add(1_000);
    shuffled.add(0);
    shuffled.add(500);
    expect(shuffled.count(3_000)).toBeCloseTo(inOrder.count(3_000), 15);
    expect(inOrder.count(3_000)).toBeCloseTo(2 ** -3 + 2 ** -2.5 + 2 ** -2, 15);
    expect(shuffled.count(0)).toBe(shuffled.count(1_000));
    expect(shuffled.score(3_000)).toBeCloseTo(inOrder.count(3_000) / (inOrder.count(3_000) + 4), 15);
  });
  it('round-trips through JSON', () => {
    const c = new DecayedCounter(30_000, 5);
    c.add(1_000, 3);
    const back = DecayedCounter.fromJSON(roundTrip(c));
    expect(back.toJSON()).toEqual(c.toJSON());
    back.add(31_000);
    expect(back.count(31_000)).toBeCloseTo(3 * 0.5 + 1, 15);
    expect(DecayedCounter.fromJSON(JSON.stringify(new DecayedCounter(1)))).toBeInstanceOf(DecayedCounter);
  });
  it('rejects bad config and bad snapshots', () => {
    expect(() => new DecayedCounter(0)).toThrow(ConfigError);
    expect(() => new DecayedCounter(1_000, -1)).toThrow(ConfigError);
    expect(() => DecayedCounter.fromJSON({ version: 2 })).toThrow(InternalError);
    expect(() =>
      DecayedCounter.fromJSON({ version: 1, halfLifeMs: 1, halfSaturation: 1, value: -1, lastTs: 0 }),
    ).toThrow(InternalError);
  });
});

describe('RunningCentroid (DRV_004)', () => {
  it('keeps the running mean and compares to it', () => {
    const c = new RunningCentroid(2);
    expect(c.similarity([1, 0])).toBeNull();
    c.update([1, 0]);
    c.update([0, 1]);
    c.update([2, 2]);
    expect(c.count).toBe(3);
    expect(c.mean[0]).toBeCloseTo((1 + 0 + 2) / 3, 15);
    expect(c.mean[1]).toBeCloseTo((0 + 1 + 2) / 3, 15);
    expect(c.similarity([1, 1])).toBeCloseTo(1, 15);
    expect(c.similarity([1, 0])).toBeCloseTo(1 / Math.SQRT2, 15);
  });
  it('round-trips through JSON and checks dimensions', () => {
    const c = new RunningCentroid(3);
    c.update([1, 2, 3]);
    const back = RunningCentroid.fromJSON(roundTrip(c));
    expect(back.toJSON()).toEqual({ version: 1, dims: 3, count: 1, mean: [1, 2, 3] });
    back.update([3, 2, 1]);
    expect(back.mean).toEqual([2, 2, 2]);
    expect(() => c.update([1, 2])).toThrow(InternalError);
    expect(() => c.update([1, 2, Number.NaN])).toThrow(InternalError);
    expect(() => new RunningCentroid(0)).toThrow(ConfigError);
    expect(() => RunningCentroid.fromJSON({ version: 1, dims: 2, count: 1, mean: [1] })).toThrow(
      InternalError,
    );
  });
});

describe('OnlineKMeans (DRV_006)', () => {
  it('starts from the first k distinct points', () => {
    const km = new OnlineKMeans(3, 1);
    expect(km.nearest([5])).toBeNull();
    expect(km.assign([0])).toBe(0);
    expect(km.assign([0])).toBe(0); // equal to centroid 0: not a new centroid
    expect(km.assign([10])).toBe(1);
    expect(km.assign([20])).toBe(2);
    expect(km.centroids).toEqual([[0], [10], [20]]);
    expect(km.counts).toEqual([2, 1, 1]);
  });
  it('moves the nearest centroid by (x − c) / n (MacQueen), lowest index on ties', () => {
    const km = new OnlineKMeans(2, 2);
    km.assign([0, 0]);
    km.assign([4, 0]);
    expect(km.assign([1, 0])).toBe(0); // centroid 0: (0,0) + ((1,0) − (0,0)) / 2 = (0.5, 0)
    expect(km.centroids[0]).toEqual([0.5, 0]);
    expect(km.assign([2.25, 0])).toBe(0); // tie: |2.25 − 0.5| = |2.25 − 4| → index 0
    expect(km.centroids[0]![0]).toBeCloseTo(0.5 + (2.25 - 0.5) / 3, 15);
    expect(km.assign([3.9, 1])).toBe(1);
    expect(km.centroids[1]).toEqual([4 + (3.9 - 4) / 2, 0 + (1 - 0) / 2]);
    expect(km.nearest([100, 0])).toBe(1);
    expect(km.counts).toEqual([3, 2]);
  });
  it('is deterministic and round-trips through JSON mid-stream', () => {
    const points = Array.from({ length: 50 }, (_, i) => [Math.sin(i) * 10, Math.cos(i * 1.7) * 10]);
    const a = new OnlineKMeans(4, 2);
    const first = points.map((p) => a.assign(p));
    const b = new OnlineKMeans(4, 2);
    const second: number[] = [];
    let cur = b;
    points.forEach((p, i) => {
      if (i % 7 === 0) cur = OnlineKMeans.fromJSON(roundTrip(cur));
      second.push(cur.assign(p));
    });
    expect(second).toEqual(first);
    expect(cur.toJSON()).toEqual(a.toJSON());
    for (const c of first) expect(c / 4).toBeLessThan(1);
  });
  it('rejects bad config, vectors and snapshots', () => {
    expect(() => new OnlineKMeans(0, 2)).toThrow(ConfigError);
    expect(() => new OnlineKMeans(2, 1.5)).toThrow(ConfigError);
    expect(() => new OnlineKMeans(2, 2).assign([1])).toThrow(InternalError);
    expect(() =>
      OnlineKMeans.fromJSON({ version: 1, k: 1, dims: 1, centroids: [[0], [1]], counts: [1, 1] }),
    ).toThrow(InternalError);
    expect(() => OnlineKMeans.fromJSON({ version: 1, k: 2, dims: 1, centroids: [[0]], counts: [0] })).toThrow(
      InternalError,
    );
  });
});
