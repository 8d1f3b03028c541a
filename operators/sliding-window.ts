import type { WindowNode } from '../topology/nodes.js';
import type { Accumulator } from './aggregation.js';
import { KeyedWindowBase } from './keyed-window-base.js';
import type { Emitter } from './operator.js';
import type { Timer } from './timer-heap.js';
import { assignerFor, type SlidingAssigner } from './window-assigner.js';

interface PaneState {
  /** Pane start → accumulator. A record updates exactly one pane. */
  panes: Map<number, Accumulator>;
  /** Window start → number of times it fired (its next revision). */
  fired: Map<number, number>;
  /** Window starts with registered timers. */
  registered: Set<number>;
  /** Arrival sequence for `latest`. */
  seq: number;
}

/**
 * Keyed sliding event-time windows (tumbling = sliding with slide = size), stored as panes of
 * gcd(size, slide): an element updates one pane; a window's result merges its panes when it
 * fires (Chronon-style tiling, identical results to per-window state).
 *
 * Flink semantics: a window fires when the watermark reaches `end - 1`; its state is kept until
 * `end - 1 + lateness <= watermark`; an element for a window that already fired but is within
 * the lateness updates it and fires it again at once (revision + 1); an element all of whose
 * windows are past their lateness goes to the late-data side output.
 *
 * @example
 * const op = new SlidingWindowOperator(perf1hrNode, ['latency_ms', 'ok']);
 */
export class SlidingWindowOperator extends KeyedWindowBase<PaneState> {
  private readonly assigner: SlidingAssigner;
  private readonly size: number;
  private readonly slide: number;
  private readonly pane: number;

  constructor(node: WindowNode, fields: readonly string[]) {
    super(node, fields);
    const assigner = assignerFor(node.window);
    if (assigner.kind !== 'sliding') throw new TypeError(`window ${node.id} is a session window`);
    this.assigner = assigner;
    this.size = this.assigner.size;
    this.slide = this.assigner.slide;
    this.pane = this.assigner.pane;
  }

  protected addRecord(
    key: string,
    ts: number,
    values: Float64Array,
    offset: number,
    ref: number,
    out: Emitter,
  ): void {
    const { lateness } = this;
    const wm = this.wm;
    // The latest window holding ts is the last to close: if it is past its lateness, all are.
    if (this.assigner.latestEnd(ts) - 1 + lateness <= wm) {
      out.late(ref, this.id, ts);
      return;
    }
    let state = this.states.get(key);
    if (state === undefined) {
      state = { panes: new Map(), fired: new Map(), registered: new Set(), seq: 0 };
      this.states.set(key, state);
    }
    const ps = this.assigner.paneStart(ts);
    let acc = state.panes.get(ps);
    const newPane = acc === undefined;
    if (acc === undefined) {
      acc = this.plan.create();
      state.panes.set(ps, acc);
    }
    this.plan.add(acc, values, offset, ts, state.seq++);
    this.markDirty(key);
    // Only a new pane needs timers, and only an element at or behind the watermark can touch
    // a window that already fired: otherwise the element costs one pane update.
    if (!newPane && ts > wm) return;
    // Latest first: the first window past its lateness ends the walk (all earlier ones are too).
    for (const { start: w, end } of this.assigner.assign(ts)) {
      if (end - 1 + lateness <= wm) break;
      if (!state.registered.has(w)) {
        state.registered.add(w);
        this.timers.push({ time: end - 1 + lateness, kind: 1, key, start: w, end });
        if (end - 1 > wm) this.timers.push({ time: end - 1, kind: 0, key, start: w, end });
      }
      if (end - 1 <= wm) this.fire(key, state, w, out);
    }
  }

  protected onTimer(t: Timer, out: Emitter): void {
    const state = this.states.get(t.key);
    if (state === undefined) return;
    if (t.kind === 0) {
      if (!state.fired.has(t.start)) this.fire(t.key, state, t.start, out);
      return;
    }
    // Clean-up: the window is past its lateness; panes whose last window this was go too.
    state.registered.delete(t.start);
    state.fired.delete(t.start);
    for (let p = t.start; p < t.start + this.slide; p += this.pane) state.panes.delete(p);
    this.dropIfEmpty(t.key, state);
  }

  /** The panes of window `w` that hold records, in time order. */
  private panesOf(state: PaneState, w: number): Accumulator[] {
    const parts: Accumulator[] = [];
    for (let p = w; p < w + this.size; p += this.pane) {
      const a = state.panes.get(p);
      if (a !== undefined) parts.push(a);
    }
    return parts;
  }

  private fire(key: string, state: PaneState, w: number, out: Emitter): void {
    const parts = this.panesOf(state, w);
    if (parts.length === 0) return;
    const revision = state.fired.get(w) ?? 0;
    state.fired.set(w, revision + 1);
    this.markDirty(key);
    // The panes' results without building a merged accumulator's value lists.
    out.row(this.makeRow(key, w, w + this.size, this.plan.resultsOfMerged(parts), revision));
  }

  protected timersOf(key: string, state: PaneState): Timer[] {
    const out: Timer[] = [];
    for (const w of state.registered) {
      const end = w + this.size;
      out.push({ time: end - 1 + this.lateness, kind: 1, key, start: w, end });
      if (!state.fired.has(w)) out.push({ time: end - 1, kind: 0, key, start: w, end });
    }
    return out;
  }

  protected openWindows(state: PaneState): Array<[number, number, Array<number | null>, number]> {
    const out: Array<[number, number, Array<number | null>, number]> = [];
    for (const w of [...state.registered].sort((a, b) => a - b)) {
      if (state.fired.has(w) || w + this.size - 1 <= this.wm) continue;
      const parts = this.panesOf(state, w);
      if (parts.length > 0) out.push([w, w + this.size, this.plan.resultsOfMerged(parts), 0]);
    }
    return out;
  }

  protected serialize(s: PaneState): unknown {
    return { v: 1, p: [...s.panes], f: [...s.fired], r: [...s.registered], s: s.seq };
  }

  protected deserialize(data: unknown): PaneState {
    const d = data as {
      v: number;
      p: Array<[number, Accumulator]>;
      f: Array<[number, number]>;
      r: number[];
      s: number;
    };
    return { panes: new Map(d.p), fired: new Map(d.f), registered: new Set(d.r), seq: d.s };
  }

  protected bytesOf(s: PaneState): number {
    let n = 48 * (s.fired.size + s.registered.size);
    for (const acc of s.panes.values()) n += 48 + this.plan.bytes(acc);
    return n;
  }

  protected isEmpty(s: PaneState): boolean {
    return s.panes.size === 0 && s.registered.size === 0;
  }
}
