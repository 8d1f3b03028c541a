import { describe, expect, it } from 'vitest';
import { PartitionClock, watermarkFor } from './watermark.js';

describe('PartitionClock', () => {
  it('is the minimum over partitions of their max event time', () => {
    const c = new PartitionClock();
    c.addPartition(0, 0);
    c.addPartition(1, 0);
    c.observe(0, 1000, 0);
    expect(c.current).toBe(Number.NEGATIVE_INFINITY); // partition 1 has not delivered yet
    c.observe(1, 500, 0);
    expect(c.current).toBe(500);
    c.observe(1, 2000, 0);
    expect(c.current).toBe(1000);
    // an older element does not move a partition back
    c.observe(0, 10, 0);
    expect(c.current).toBe(1000);
  });

  it('derives the bounded-out-of-orderness watermark as clock - bound - 1', () => {
    expect(watermarkFor(10_000, 2_000)).toBe(7_999);
    expect(watermarkFor(Number.POSITIVE_INFINITY, 2_000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('does not let an idle partition stall the clock', () => {
    // partition 0: events at t=1000,5000 (processing time 0 and 20s)
    // partition 1: one event at t=100, then silent
    //   p0 ──1000─────────────5000──▶
    //   p1 ──100──(silent for ≥ idleTimeout)──▶
    const c = new PartitionClock(10_000);
    c.addPartition(0, 0);
    c.addPartition(1, 0);
    c.observe(0, 1000, 0);
    c.observe(1, 100, 0);
    expect(c.current).toBe(100);
    c.observe(0, 5000, 20_000);
    // p1 silent for 20 s ≥ 10 s: excluded from the minimum
    expect(c.current).toBe(5000);
    // p1 speaks again: back in; the clock never goes back
    c.observe(1, 200, 21_000);
    expect(c.current).toBe(5000);
  });

  it('holds a declared partition back until it delivers or goes idle', () => {
    const c = new PartitionClock(1_000);
    c.addPartition(1, 0);
    c.observe(0, 50, 0);
    expect(c.current).toBe(Number.NEGATIVE_INFINITY);
    expect(c.recompute(1_500)).toBe(Number.NEGATIVE_INFINITY); // p0 idle too: all idle, hold
    c.observe(0, 60, 1_600);
    expect(c.current).toBe(60);
  });

  it('round-trips a snapshot and jumps to +∞ at the end of input', () => {
    const c = new PartitionClock();
    c.observe(0, 42, 0);
    const d = new PartitionClock();
    d.restore(c.snapshot(), 0);
    expect(d.current).toBe(42);
    expect(d.finish()).toBe(Number.POSITIVE_INFINITY);
  });
});
