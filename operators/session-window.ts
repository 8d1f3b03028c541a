import type { WindowNode } from '../topology/nodes.js';
import type { Accumulator } from './aggregation.js';
import { KeyedWindowBase } from './keyed-window-base.js';
import type { Emitter } from './operator.js';
import type { Timer } from './timer-heap.js';
import { assignerFor, type SessionAssigner, windowsTouch } from './window-assigner.js';

interface Session {
  start: number;
  end: number;
  /** Times this session (or a session merged into it) fired: its next revision. */
  fired: number;
  acc: Accumulator;
}

interface SessionState {
  /** Open sessions of the key, sorted by start. Sessions may overlap after a max-duration cut. */
  sessions: Session[];
  seq: number;
}

/**
 * Keyed session windows, the merging kind. Each element opens `[ts, ts + gap)`; it merges with
 * every session of its key it overlaps or touches, giving `[first, last + gap)`.
 *
 * Max duration: when merging with all of them would make the window longer than `maxDuration`,
 * the element joins only the latest-starting one it fits in; if it fits in none, it starts a new
 * session `[ts, ts + gap)`. So in event-time order, the element that would make a session longer
 * than the maximum starts the next one.
 *
 * Firing, lateness and late data are as for other windows; a merged session keeps the highest
 * revision of the sessions it absorbed. An element whose merged window would already be past
 * its lateness is late and changes nothing.
 */
export class SessionWindowOperator extends KeyedWindowBase<SessionState> {
  private readonly assigner: SessionAssigner;

  constructor(node: WindowNode, fields: readonly string[]) {
    super(node, fields);
    const assigner = assignerFor(node.window);
    if (assigner.kind !== 'session') throw new TypeError(`window ${node.id} is not a session window`);
    this.assigner = assigner;
  }

  protected addRecord(
    key: string,
    ts: number,
    values: Float64Array,
    offset: number,
    ref: number,
    out: Emitter,
  ): void {
    const { maxDuration } = this.assigner;
    const wm = this.wm;
    const state = this.states.get(key) ?? { sessions: [], seq: 0 };
    const own = this.assigner.assign(ts)[0]!;
    const touching = state.sessions.filter((s) => windowsTouch(s, own));
    let merging = touching;
    const span = (ss: readonly Session[]) => {
      let start = own.start;
      let end = own.end;
      for (const s of ss) {
        if (s.start < start) start = s.start;
        if (s.end > end) end = s.end;
      }
      return { start, end };
    };
    let win = span(merging);
    if (win.end - win.start > maxDuration) {
      const fits = [...touching].reverse().find((s) => {
        const w = span([s]);
        return w.end - w.start <= maxDuration;
      });
      merging = fits === undefined ? [] : [fits];
      win = span(merging);
    }
    if (win.end - 1 + this.lateness <= wm) {
      out.late(ref, this.id, ts);
      return;
    }
    const only = merging.length === 1 ? merging[0]! : undefined;
    if (only !== undefined && only.start === win.start && only.end === win.end) {
      // The element falls inside an existing session: update it in place; its timers stand.
      this.plan.add(only.acc, values, offset, ts, state.seq++);
      this.markDirty(key);
      if (only.end - 1 <= wm) this.fire(key, only, out);
      return;
    }
    const acc = this.plan.create();
    let fired = 0;
    for (const s of merging) {
      this.plan.merge(acc, s.acc);
      if (s.fired > fired) fired = s.fired;
    }
    this.plan.add(acc, values, offset, ts, state.seq++);
    const session: Session = { start: win.start, end: win.end, fired, acc };
    const rest = state.sessions.filter((s) => !merging.includes(s));
    rest.push(session);
    rest.sort((a, b) => a.start - b.start || a.end - b.end);
    state.sessions = rest;
    this.states.set(key, state);
    this.markDirty(key);
    this.timers.push({ time: win.end - 1 + this.lateness, kind: 1, key, start: win.start, end: win.end });
    if (win.end - 1 > wm) {
      this.timers.push({ time: win.end - 1, kind: 0, key, start: win.start, end: win.end });
    } else {
      this.fire(key, session, out);
    }
  }

  protected onTimer(t: Timer, out: Emitter): void {
    const state = this.states.get(t.key);
    if (state === undefined) return;
    // Timers of sessions that have since merged no longer match a session: ignore them.
    const i = state.sessions.findIndex((s) => s.start === t.start && s.end === t.end);
    if (i < 0) return;
    const session = state.sessions[i]!;
    if (t.kind === 0) {
      this.fire(t.key, session, out);
      return;
    }
    state.sessions.splice(i, 1);
    this.dropIfEmpty(t.key, state);
  }

  private fire(key: string, s: Session, out: Emitter): void {
    const revision = s.fired;
    s.fired++;
    this.markDirty(key);
    out.row(this.makeRow(key, s.start, s.end, this.plan.results(s.acc), revision));
  }

  protected timersOf(key: string, state: SessionState): Timer[] {
    const out: Timer[] = [];
    for (const s of state.sessions) {
      out.push({ time: s.end - 1 + this.lateness, kind: 1, key, start: s.start, end: s.end });
      if (s.end - 1 > this.wm) out.push({ time: s.end - 1, kind: 0, key, start: s.start, end: s.end });
    }
    return out;
  }

  protected openWindows(state: SessionState): Array<[number, number, Array<number | null>, number]> {
    return state.sessions
      .filter((s) => s.end - 1 > this.wm)
      .map(
        (s) =>
          [s.start, s.end, this.plan.results(s.acc), s.fired] as [
            number,
            number,
            Array<number | null>,
            number,
          ],
      );
  }

  protected serialize(s: SessionState): unknown {
    return { v: 1, s: s.sessions.map((x) => [x.start, x.end, x.fired, x.acc]), q: s.seq };
  }

  protected deserialize(data: unknown): SessionState {
    const d = data as { v: number; s: Array<[number, number, number, Accumulator]>; q: number };
    return { sessions: d.s.map(([start, end, fired, acc]) => ({ start, end, fired, acc })), seq: d.q };
  }

  protected bytesOf(s: SessionState): number {
    let n = 0;
    for (const x of s.sessions) n += 64 + this.plan.bytes(x.acc);
    return n;
  }

  protected isEmpty(s: SessionState): boolean {
    return s.sessions.length === 0;
  }
}
