import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/errors.js';
import {
  sessionAssigner,
  slidingAssigner,
  tumblingAssigner,
  windowStart,
  windowsTouch,
} from './window-assigner.js';

describe('windowStart (Flink getWindowStartWithOffset, negative-timestamp fix)', () => {
  it('aligns positive timestamps down to the window size', () => {
    expect(windowStart(0, 0, 300_000)).toBe(0);
    expect(windowStart(299_999, 0, 300_000)).toBe(0);
    expect(windowStart(300_000, 0, 300_000)).toBe(300_000);
  });

  it('aligns negative timestamps down, not toward zero', () => {
    //   -300000            0            300000
    //      |----- w -------|----- w ------|
    //              -1 ^ belongs to [-300000, 0)
    expect(windowStart(-1, 0, 300_000)).toBe(-300_000);
    expect(windowStart(-300_000, 0, 300_000)).toBe(-300_000);
    expect(windowStart(-300_001, 0, 300_000)).toBe(-600_000);
  });

  it('applies the offset', () => {
    expect(windowStart(10, 3, 5)).toBe(8);
    expect(windowStart(7, 3, 5)).toBe(3);
    expect(windowStart(2, 3, 5)).toBe(-2);
    expect(windowStart(-3, -1, 5)).toBe(-6);
  });
});

describe('tumbling assigner', () => {
  it('assigns exactly one half-open window; the end is exclusive', () => {
    const a = tumblingAssigner(100);
    expect(a.assign(99)).toEqual([{ start: 0, end: 100 }]);
    expect(a.assign(100)).toEqual([{ start: 100, end: 200 }]);
    expect(a.assign(-100)).toEqual([{ start: -100, end: 0 }]);
  });

  it('rejects bad config naming the field and the rule', () => {
    expect(() => tumblingAssigner(0)).toThrow(ConfigError);
    expect(() => tumblingAssigner(0)).toThrow(/`size` must be a positive integer/);
    expect(() => tumblingAssigner(100, 100)).toThrow(/`offset`/);
  });
});

describe('sliding assigner', () => {
  it('assigns ⌈size/slide⌉ windows, latest start first', () => {
    const a = slidingAssigner(3_600_000, 300_000);
    const ws = a.assign(0);
    expect(ws).toHaveLength(12);
    expect(ws[0]).toEqual({ start: 0, end: 3_600_000 });
    expect(ws[11]).toEqual({ start: -3_300_000, end: 300_000 });
    expect(a.pane).toBe(300_000);
  });

  it('handles size not a multiple of slide with gcd panes', () => {
    const a = slidingAssigner(10, 4);
    // windows containing 9: starts 8, 4, 0 (0 covers [0,10)) — -4 does not ([-4,6) ends before 9)
    expect(a.assign(9).map((w) => w.start)).toEqual([8, 4, 0]);
    expect(a.pane).toBe(2);
    expect(a.paneStart(9)).toBe(8);
  });

  it('matches the definition for negative and boundary timestamps', () => {
    const a = slidingAssigner(10, 5);
    expect(a.assign(-1).map((w) => w.start)).toEqual([-5, -10]);
    expect(a.assign(-5).map((w) => w.start)).toEqual([-5, -10]);
    expect(a.assign(5).map((w) => w.start)).toEqual([5, 0]);
  });

  it('rejects slide 0 and slide > size with the rule in the message', () => {
    expect(() => slidingAssigner(10, 0)).toThrow(/`slide` must be a positive integer/);
    expect(() => slidingAssigner(10, 20)).toThrow('sliding window `slide` must be > 0 and ≤ `size`, got 20');
  });
});

describe('session assigner', () => {
  it('opens [ts, ts + gap)', () => {
    expect(sessionAssigner(30).assign(5)).toEqual([{ start: 5, end: 35 }]);
  });

  it('treats touching windows as merging', () => {
    // [0,30) and [30,60) touch at 30
    expect(windowsTouch({ start: 0, end: 30 }, { start: 30, end: 60 })).toBe(true);
    expect(windowsTouch({ start: 0, end: 30 }, { start: 31, end: 61 })).toBe(false);
  });

  it('rejects maxDuration < gap', () => {
    expect(() => sessionAssigner(30, 10)).toThrow(/`maxDuration` must be an integer ≥ `gap`/);
  });
});

describe('every assigner', () => {
  const assigners = [
    ['tumbling 300', tumblingAssigner(300)],
    ['tumbling 300 offset -40', tumblingAssigner(300, -40)],
    ['sliding 3600/300', slidingAssigner(3600, 300)],
    ['sliding 100/40 offset 7', slidingAssigner(100, 40, 7)],
    ['session 50', sessionAssigner(50)],
  ] as const;
  it.each(assigners)(
    '%s: latestEnd(ts) is the end of the first window assign(ts) returns, which holds ts',
    (_n, a) => {
      for (const ts of [-1001, -300, -1, 0, 1, 7, 299, 300, 12_345]) {
        const ws = a.assign(ts);
        expect(ws.length).toBeGreaterThan(0);
        expect(a.latestEnd(ts)).toBe(ws[0]!.end);
        for (const w of ws) expect(w.start <= ts && ts < w.end).toBe(true);
        expect(a.merging).toBe(a.kind === 'session');
      }
    },
  );
});
