import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../shared/random.js';
import { SourceClock } from './source-clock.js';

describe('SourceClock', () => {
  it('holds the clock at −∞ until every partition has delivered', () => {
    const c = new SourceClock(2, Number.POSITIVE_INFINITY, 0);
    expect(c.observe(0, 100, 0)).toBe(Number.NEGATIVE_INFINITY);
    expect(c.observe(1, 50, 0)).toBe(50);
    expect(c.observe(1, 200, 0)).toBe(100);
  });

  it('gives a record the minimum of its partition (with what it carries) and the others', () => {
    const c = new SourceClock(3, Number.POSITIVE_INFINITY, 0);
    c.observe(0, 10, 0);
    c.observe(1, 20, 0);
    c.observe(2, 30, 0);
    const clockBefore = c.frameClock(0, 0);
    expect(clockBefore(5)).toBe(10); // never below the clock
    expect(clockBefore(15)).toBe(15);
    expect(clockBefore(25)).toBe(20); // held back by partition 1
    expect(c.current).toBe(10); // frameClock is pure
  });

  it('never runs ahead of a single reader over the same events in source order', () => {
    // Events in "file" order, spread over 4 partitions (order kept within each); a shard sees
    // them interleaved at random. Its clock before each record must be ≤ the file clock.
    const rand = mulberry32(7);
    const events = Array.from({ length: 400 }, (_, i) => ({
      p: Math.floor(rand() * 4),
      ts: i * 10 + rand() * 50,
    }));
    const fileClock: number[] = [];
    let max = Number.NEGATIVE_INFINITY;
    for (const e of events) {
      fileClock.push(max);
      max = Math.max(max, e.ts);
    }
    const queues = [0, 1, 2, 3].map((p) => events.map((e, i) => ({ ...e, i })).filter((e) => e.p === p));
    const clock = new SourceClock(4, Number.POSITIVE_INFINITY, 0);
    const partMax = [0, 1, 2, 3].map(() => Number.NEGATIVE_INFINITY);
    let checked = 0;
    while (queues.some((q) => q.length > 0)) {
      const p = Math.floor(rand() * 4);
      const e = queues[p]!.shift();
      if (e === undefined) continue;
      const carried = partMax[p]!;
      const c = clock.frameClock(p, 0)(carried);
      expect(c).toBeLessThanOrEqual(fileClock[e.i]!);
      partMax[p] = Math.max(partMax[p]!, e.ts);
      clock.observe(p, partMax[p]!, 0);
      checked++;
    }
    expect(checked).toBe(events.length);
  });

  it('leaves idle partitions out after the timeout', () => {
    const c = new SourceClock(2, 1000, 0);
    c.observe(0, 500, 0);
    expect(c.current).toBe(Number.NEGATIVE_INFINITY);
    expect(c.observe(0, 600, 1500)).toBe(600);
  });

  it('snapshots and restores, ±∞ included', () => {
    const c = new SourceClock(2, Number.POSITIVE_INFINITY, 0);
    c.observe(0, 5, 0);
    const s = JSON.parse(JSON.stringify(c.snapshot()));
    const d = new SourceClock(2, Number.POSITIVE_INFINITY, 0);
    d.restore(s, 0);
    expect(d.partitionClock(0)).toBe(5);
    expect(d.partitionClock(1)).toBe(Number.NEGATIVE_INFINITY);
    d.finish();
    const e = new SourceClock(2, Number.POSITIVE_INFINITY, 0);
    e.restore(JSON.parse(JSON.stringify(d.snapshot())), 0);
    expect(e.current).toBe(Number.POSITIVE_INFINITY);
  });

  it('lets an idle partition back in when it speaks again, and never goes back', () => {
    // p0: events at t=1000 and 5000 (processing time 0 and 20 s); p1: one event at t=100, then silent
    const c = new SourceClock(2, 10_000, 0);
    c.observe(0, 1000, 0);
    expect(c.observe(1, 100, 0)).toBe(100);
    expect(c.observe(0, 5000, 20_000)).toBe(5000); // p1 silent for 20 s ≥ 10 s: left out
    expect(c.observe(1, 200, 21_000)).toBe(5000); // p1 back in; the clock does not go back
    expect(c.observe(0, 10, 21_000)).toBe(5000); // an older element does not move a partition back
  });

  it('holds the clock when every partition is idle', () => {
    const c = new SourceClock(2, 1_000, 0);
    c.observe(0, 50, 0);
    expect(c.recompute(1_500)).toBe(Number.NEGATIVE_INFINITY);
    expect(c.observe(0, 60, 1_600)).toBe(60); // p1 still idle
  });

  it('is the clock of a file run with one part: its greatest event time so far', () => {
    const c = new SourceClock(1);
    expect(c.current).toBe(Number.NEGATIVE_INFINITY);
    expect(c.observe(0, 42, 0)).toBe(42);
    expect(c.observe(0, 7, 0)).toBe(42);
    expect(c.finish()).toBe(Number.POSITIVE_INFINITY);
  });
});
