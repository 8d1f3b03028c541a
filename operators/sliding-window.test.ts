import { describe, expect, it } from 'vitest';
import { SlidingWindowOperator } from './sliding-window.js';
import { batchOf, collector, runAcrossRestores, runInOrder, show, windowNode } from './test-support.js';

const tumbling = (lateness = 0, bound = 0, early?: number) =>
  new SlidingWindowOperator(
    windowNode(
      { type: 'tumbling', size: 100 },
      { lateness, bound, ...(early === undefined ? {} : { early }) },
    ),
    ['x'],
  );

describe('tumbling window operator', () => {
  it('fires each window once when the watermark reaches end - 1, with bounds and event_time end - 1', () => {
    //  0        100       200
    //  |--a,b----|--c------|
    const op = tumbling();
    const c = runInOrder(op, [
      { key: 'k', ts: 10, x: 1 },
      { key: 'k', ts: 99, x: 2 },
      { key: 'k', ts: 100, x: 4 },
    ]);
    expect(show(c.rows)).toEqual(['k [0,100) rev=0 n=2 sum_x=3', 'k [100,200) rev=0 n=1 sum_x=4']);
    expect(c.rows[0]!.eventTime).toBe(99);
  });

  it('fires on the watermark, not at the end of input', () => {
    const op = tumbling(0, 0);
    const c = collector();
    // clock 99 → watermark 98 (= 99 - 0 - 1): [0,100) not yet due; clock 100 → watermark 99: due
    op.processBatch(batchOf([{ key: 'k', ts: 5, clock: Number.NEGATIVE_INFINITY }]), c.out);
    op.onWatermark(99, c.out);
    expect(c.rows).toHaveLength(0);
    op.onWatermark(100, c.out);
    expect(show(c.rows)).toEqual(['k [0,100) rev=0 n=1 sum_x=1']);
  });

  it('handles negative timestamps', () => {
    // bound 200 so that -101 (arriving after -1) is within the out-of-orderness
    const c = runInOrder(tumbling(0, 200), [
      { key: 'k', ts: -1 },
      { key: 'k', ts: -100 },
      { key: 'k', ts: -101 },
    ]);
    expect(show(c.rows).sort()).toEqual(
      ['k [-100,0) rev=0 n=2 sum_x=2', 'k [-200,-100) rev=0 n=1 sum_x=1'].sort(),
    );
  });

  it('re-fires a window for an element within the allowed lateness (revision + 1), and sends later ones to the late output', () => {
    // lateness 50, bound 0.  Records in arrival order:
    //   a@10  b@150 (wm→9; then clock 150 → wm 149 ≥ 99: [0,100) fires rev 0)
    //   c@20  arrives at wm 149: window [0,100) cleanup at 99+50=149 ≤ 149 → late
    //   d@60  ... same → late
    // With lateness 60 instead, c re-fires [0,100) as revision 1.
    const strict = runInOrder(tumbling(50), [
      { key: 'k', ts: 10 },
      { key: 'k', ts: 150 },
      { key: 'k', ts: 20 },
    ]);
    expect(show(strict.rows)).toEqual(['k [0,100) rev=0 n=1 sum_x=1', 'k [100,200) rev=0 n=1 sum_x=1']);
    expect(strict.late).toEqual([{ ref: 2, op: 'w', ts: 20 }]);

    const lenient = runInOrder(tumbling(60), [
      { key: 'k', ts: 10 },
      { key: 'k', ts: 150 },
      { key: 'k', ts: 20, x: 5 },
      { key: 'k', ts: 30, x: 7 },
    ]);
    expect(show(lenient.rows)).toEqual([
      'k [0,100) rev=0 n=1 sum_x=1',
      'k [0,100) rev=1 n=2 sum_x=6',
      'k [0,100) rev=2 n=3 sum_x=13',
      'k [100,200) rev=0 n=1 sum_x=1',
    ]);
    expect(lenient.late).toEqual([]);
  });

  it('drops window state once end - 1 + lateness ≤ watermark', () => {
    const op = tumbling(10);
    const c = runInOrder(op, [{ key: 'k', ts: 1 }], false);
    op.onWatermark(109, c.out); // wm 108: fired, kept (99+10=109 > 108)
    expect(op.keyCount).toBe(1);
    op.onWatermark(110, c.out); // wm 109: cleaned
    expect(op.keyCount).toBe(0);
  });

  it('marks early firings provisional and off by default', () => {
    const op = tumbling(0, 0, 1000);
    const c = collector();
    op.processBatch(batchOf([{ key: 'k', ts: 5, clock: Number.NEGATIVE_INFINITY }]), c.out);
    op.onTick(10_000, c.out);
    expect(show(c.rows)).toEqual(['k [0,100) rev=0 provisional n=1 sum_x=1']);
    op.onTick(10_500, c.out); // interval not yet passed
    expect(c.rows).toHaveLength(1);

    const plain = tumbling();
    const d = collector();
    plain.processBatch(batchOf([{ key: 'k', ts: 5, clock: Number.NEGATIVE_INFINITY }]), d.out);
    plain.onTick(10_000, d.out);
    expect(d.rows).toHaveLength(0);
  });
});

describe('sliding window operator (panes)', () => {
  const sliding = (lateness = 0) =>
    new SlidingWindowOperator(windowNode({ type: 'sliding', size: 100, slide: 50 }, { lateness }), ['x']);

  it('produces every window ⌈size/slide⌉ per element from panes', () => {
    //  -50   0    50   100  150
    //   [----w1---)            w1 = [-50,50)  holds a@10
    //        [----w2---)       w2 = [0,100)   holds a@10, b@60
    //             [----w3---)  w3 = [50,150)  holds b@60
    const c = runInOrder(sliding(), [
      { key: 'k', ts: 10, x: 1 },
      { key: 'k', ts: 60, x: 2 },
    ]);
    expect(show(c.rows)).toEqual([
      'k [-50,50) rev=0 n=1 sum_x=1',
      'k [0,100) rev=0 n=2 sum_x=3',
      'k [50,150) rev=0 n=1 sum_x=2',
    ]);
  });

  it('keeps one pane per slide, not one accumulator per window', () => {
    const op = sliding();
    runInOrder(
      op,
      Array.from({ length: 20 }, (_, i) => ({ key: 'k', ts: 10 + i })),
      false,
    );
    const changes = op.onCheckpoint();
    const state = JSON.parse(changes.get('k/k')!) as { p: unknown[] };
    expect(state.p).toHaveLength(1); // 20 elements, one pane [0,50)
  });

  it('re-fires only the windows of the element that are within lateness', () => {
    // size 100 slide 50 lateness 60.  a@10, e@110, then b@200 (wm 199): windows with a, e fired.
    // c@40 arrives at wm 199: windows containing 40 are [0,100) (cleanup 99+60=159 ≤ 199: late)
    // and [-50,50) (cleanup 109 ≤ 199: late) → c is late.
    // d@120 at wm 199: windows [100,200) (cleanup 259: open, already fired with e) and
    // [50,150) (cleanup 209 > 199: open, fired with e) → both re-fire with revision 1.
    const c = runInOrder(sliding(60), [
      { key: 'k', ts: 10 },
      { key: 'k', ts: 110 },
      { key: 'k', ts: 200 },
      { key: 'k', ts: 40 },
      { key: 'k', ts: 120 },
    ]);
    expect(c.late.map((l) => l.ts)).toEqual([40]);
    const revs = show(c.rows).filter((r) => r.includes('rev=1'));
    expect(revs.sort()).toEqual(['k [100,200) rev=1 n=2 sum_x=2', 'k [50,150) rev=1 n=2 sum_x=2'].sort());
  });

  it('fires a window at once when its first element arrives after its end but within lateness (revision 0)', () => {
    const c = runInOrder(sliding(60), [
      { key: 'k', ts: 200 },
      { key: 'k', ts: 160 },
    ]);
    // clock before 160 is 200 → watermark 199; [100,200) is past its end, within lateness
    expect(show(c.rows)[0]).toBe('k [100,200) rev=0 n=1 sum_x=1');
  });

  it('restores from a checkpoint and continues identically', () => {
    const input = Array.from({ length: 40 }, (_, i) => ({
      key: i % 3 === 0 ? 'a' : 'b',
      ts: i * 7 + (i % 5) * 3,
    }));
    const straight = runInOrder(sliding(20), input);

    const first = sliding(20);
    const c1 = runInOrder(first, input.slice(0, 17), false);
    const entries = new Map<string, string>();
    for (const [k, v] of first.onCheckpoint()) if (v !== null) entries.set(k, v);
    const second = sliding(20);
    second.onStart(entries);
    const c = collector();
    let clock = Math.max(...input.slice(0, 17).map((r) => r.ts));
    const rest = input.slice(17).map((r) => {
      const rec = { ...r, clock };
      clock = Math.max(clock, r.ts);
      return rec;
    });
    second.processBatch(batchOf(rest), c.out);
    second.onWatermark(Number.POSITIVE_INFINITY, c.out);
    expect(show([...c1.rows, ...c.rows]).sort()).toEqual(show(straight.rows).sort());
  });
});

describe('window operators across checkpoint → restore', () => {
  it('sliding with lateness: identical rows after a restore at every point, entries in key order', () => {
    const newOp = () =>
      new SlidingWindowOperator(windowNode({ type: 'sliding', size: 100, slide: 50 }, { lateness: 120 }), [
        'x',
      ]);
    const records = [
      { key: 'k', ts: 10 },
      { key: 'j', ts: 40 },
      { key: 'k', ts: 160 },
      { key: 'k', ts: 60 },
      { key: 'j', ts: 330 },
      { key: 'k', ts: 20 },
      { key: 'k', ts: 400 },
      { key: 'j', ts: 90 },
    ];
    const { straight, restored } = runAcrossRestores(newOp, records);
    expect(straight.some((r) => r.includes('rev=1'))).toBe(true);
    for (const r of restored) expect(r.rows, `cut at ${r.cut}`).toEqual(straight);
  });
});

describe('sliding window with bounded quantile memory', () => {
  const QUANTILES = [
    { id: 'Q_1', name: 'n', agg: { type: 'count' } },
    { id: 'Q_2', name: 'p50', agg: { type: 'quantile', field: 'x', q: 0.5 } },
    { id: 'Q_3', name: 'p99', agg: { type: 'quantile', field: 'x', q: 0.99 } },
  ] as const;
  const op = (exactUpTo?: number) => {
    const node = windowNode({ type: 'sliding', size: 1000, slide: 100 }, { features: QUANTILES });
    return new SlidingWindowOperator(
      exactUpTo === undefined ? node : { ...node, quantiles: { exactUpTo, relativeAccuracy: 0.01 } },
      ['x'],
    );
  };
  // Irregular but deterministic values; keys a and b, 3000 records over 3 s.
  const input = Array.from({ length: 3000 }, (_, i) => ({
    key: i % 4 === 0 ? 'a' : 'b',
    ts: i,
    x: ((i * 7919) % 1000) + 1 + (i % 13) / 7,
  }));
  const rowsOf = (c: { rows: ReturnType<typeof runInOrder>['rows'] }) =>
    new Map(c.rows.map((r) => [`${r.entityId} ${r.windowStart}`, r.values]));

  it('is exact while a window holds at most exactUpTo values', () => {
    expect(show(runInOrder(op(100_000), input).rows)).toEqual(show(runInOrder(op(), input).rows));
  });

  it('switches to a sketch past the limit: every quantile within 1 % of the exact one, smaller state', () => {
    const exact = op();
    const sketched = op(50);
    const e = rowsOf(runInOrder(exact, input));
    const s = rowsOf(runInOrder(sketched, input));
    expect([...s.keys()]).toEqual([...e.keys()]);
    let differing = 0;
    for (const [k, ev] of e) {
      const sv = s.get(k)!;
      expect(sv.n).toBe(ev.n);
      for (const name of ['p50', 'p99']) {
        const want = ev[name]!;
        expect(Math.abs(sv[name]! - want)).toBeLessThanOrEqual(0.01 * Math.abs(want));
        if (sv[name] !== want) differing++;
      }
    }
    expect(differing).toBeGreaterThan(0); // the sketch was used

    // 1000 values per pane: a pane's sketch (a few hundred bins) is smaller than its values.
    const dense = Array.from({ length: 20_000 }, (_, i) => ({
      key: 'a',
      ts: Math.floor(i / 10),
      x: (i % 997) + 1,
    }));
    const a = op();
    const b = op(50);
    runInOrder(a, dense, false);
    runInOrder(b, dense, false);
    expect(b.stateBytes()).toBeLessThan(a.stateBytes() / 2);
  });

  it('restores sketches from a checkpoint and continues identically', () => {
    const straight = runInOrder(op(50), input);
    const first = op(50);
    const cut = 1700;
    const c1 = runInOrder(first, input.slice(0, cut), false);
    const entries = new Map<string, string>();
    for (const [k, v] of first.onCheckpoint()) if (v !== null) entries.set(k, v);
    expect([...entries.values()].some((v) => v.includes('"dd":1'))).toBe(true);
    const second = op(50);
    second.onStart(entries);
    const c = collector();
    let clock = input[cut - 1]!.ts;
    const rest = input.slice(cut).map((r) => {
      const rec = { ...r, clock };
      clock = Math.max(clock, r.ts);
      return rec;
    });
    second.processBatch(batchOf(rest), c.out);
    second.onWatermark(Number.POSITIVE_INFINITY, c.out);
    expect(show([...c1.rows, ...c.rows]).sort()).toEqual(show(straight.rows).sort());
  });
});
