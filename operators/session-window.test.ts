import { describe, expect, it } from 'vitest';
import { SessionWindowOperator } from './session-window.js';
import { runAcrossRestores, runInOrder, show, windowNode } from './test-support.js';

const MIN = 60_000;
const session = (opts: { maxDuration?: number; lateness?: number } = {}) =>
  new SessionWindowOperator(
    windowNode(
      {
        type: 'session',
        gap: 30 * MIN,
        ...(opts.maxDuration === undefined ? {} : { maxDuration: opts.maxDuration }),
      },
      { lateness: opts.lateness ?? 0 },
    ),
    ['x'],
  );

describe('session window operator', () => {
  it('merges touching sessions: an element exactly gap after the last one joins', () => {
    //  0          30m         60m
    //  a [--------)                      a opens [0, 30m)
    //             b [--------)           b at 30m: [30m, 60m) touches → [0, 60m)
    const c = runInOrder(session(), [
      { key: 's', ts: 0 },
      { key: 's', ts: 30 * MIN },
    ]);
    expect(show(c.rows)).toEqual([`s [0,${60 * MIN}) rev=0 n=2 sum_x=2`]);
  });

  it('splits after a 31-minute pause', () => {
    const c = runInOrder(session(), [
      { key: 's', ts: 0 },
      { key: 's', ts: 31 * MIN },
    ]);
    expect(show(c.rows)).toEqual([
      `s [0,${30 * MIN}) rev=0 n=1 sum_x=1`,
      `s [${31 * MIN},${61 * MIN}) rev=0 n=1 sum_x=1`,
    ]);
  });

  it('merges out-of-order elements that bridge two sessions', () => {
    // a@0, c@50m (separate sessions), then b@25m bridges them; lateness 60m keeps [0,30m)
    const op = session({ lateness: 60 * MIN });
    const c = runInOrder(op, [
      { key: 's', ts: 0 },
      { key: 's', ts: 50 * MIN },
      { key: 's', ts: 25 * MIN },
    ]);
    // the clock before b is 50m, watermark 50m-1: [0,30m) already fired (rev 0); the merged
    // session [0, 80m) inherits its revision count and fires at the end as revision 1
    expect(show(c.rows)).toEqual([
      `s [0,${30 * MIN}) rev=0 n=1 sum_x=1`,
      `s [0,${80 * MIN}) rev=1 n=3 sum_x=3`,
    ]);
  });

  it('cuts a session at the max duration: the element that would make it longer starts a new one', () => {
    // one element every 20 min from 0 to 5h; max 4h.
    // session 1 holds 0..3h20 → window [0, 3h50); 3h40 would make [0, 4h10) > 4h → starts session 2
    const H = 60 * MIN;
    const events = Array.from({ length: 16 }, (_, i) => ({ key: 's', ts: i * 20 * MIN }));
    const c = runInOrder(session({ maxDuration: 4 * H }), events);
    expect(show(c.rows)).toEqual([
      `s [0,${3 * H + 50 * MIN}) rev=0 n=11 sum_x=11`,
      `s [${3 * H + 40 * MIN},${5 * H + 30 * MIN}) rev=0 n=5 sum_x=5`,
    ]);
    for (const r of c.rows) expect(r.windowEnd! - r.windowStart!).toBeLessThanOrEqual(4 * H);
  });

  it('sends an element whose session is past the lateness to the late output', () => {
    const c = runInOrder(session({ lateness: 5 * MIN }), [
      { key: 's', ts: 0 },
      { key: 's', ts: 120 * MIN },
      { key: 's', ts: 1 * MIN },
    ]);
    expect(c.late.map((l) => l.ts)).toEqual([MIN]);
    expect(c.rows).toHaveLength(2);
  });

  it('re-fires a session updated within the lateness', () => {
    //  0    10m        40m                 90m
    //  a    a2 → session [0, 40m)           c (clock 90m: [0,40m) fired; cleanup at 100m-1)
    //     d@5m arrives at watermark 90m-1: inside [0,40m), within lateness → revision 1
    const c = runInOrder(session({ lateness: 60 * MIN }), [
      { key: 's', ts: 0 },
      { key: 's', ts: 10 * MIN },
      { key: 's', ts: 90 * MIN },
      { key: 's', ts: 5 * MIN },
    ]);
    expect(show(c.rows).filter((r) => r.startsWith('s [0,'))).toEqual([
      `s [0,${40 * MIN}) rev=0 n=2 sum_x=2`,
      `s [0,${40 * MIN}) rev=1 n=3 sum_x=3`,
    ]);
  });

  it('gives identical rows after checkpoint → restore at every point, restored entries in key order', () => {
    // A session that fired before the checkpoint must not fire again after the restore: the
    // restored watermark decides which sessions still wait for their firing timer, and the
    // store hands back 'k/…' entries before 'wm'.
    const records = [
      { key: 's', ts: 0 },
      { key: 't', ts: 5 * MIN },
      { key: 's', ts: 10 * MIN },
      { key: 's', ts: 90 * MIN },
      { key: 't', ts: 50 * MIN },
      { key: 's', ts: 5 * MIN },
      { key: 't', ts: 200 * MIN },
      { key: 's', ts: 130 * MIN },
    ];
    const { straight, restored } = runAcrossRestores(() => session({ lateness: 60 * MIN }), records);
    expect(straight.length).toBeGreaterThan(3);
    for (const r of restored) expect(r.rows, `cut at ${r.cut}`).toEqual(straight);
  });
});
