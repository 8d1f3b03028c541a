import { sessionDepth } from '../features/request.js';
import type { ProcessNode } from '../../../../topology/index.js';
import { KeyedProcessBase } from '../../../../operators/index.js';
import type { Emitter } from '../../../../operators/index.js';

/** Parameters of the `request-row` processor. */
export interface RequestRowParams {
  /** Session gap, ms (catalog: 30 min). */
  readonly gap: number;
  /** Session maximum duration, ms (catalog: 4 h). */
  readonly maxDuration: number;
  /** How long after a session's end (event time) its state is kept for late records, ms. */
  readonly lateness: number;
}

interface SessionState {
  start: number;
  last: number;
  /** llm_request events counted in this session so far. */
  n: number;
}

/**
 * The `request` group (catalog A1): one row per `llm_request`, entity `request` (the
 * request_id), no window, event time = the request's time. REQ_001–013 and REQ_015 are computed
 * per event by the map; REQ_014 `session_depth` is keyed state per `session_id`.
 *
 * Sessions are formed by both `llm_request` and `user_feedback` events of the session id with the
 * catalog's rules (gap 30 min, max 4 h): a record extends the current session when it lies within
 * `gap` of it and the session (first event … last event + gap, as the session window measures it)
 * would not grow past `maxDuration`; a later record outside it starts
 * a new session (count reset). REQ_014 counts the session's requests up to and including the
 * current one *in arrival order*; a record far older than the current session (before its start
 * minus the gap) belongs to an earlier, finished session and is counted as that session's only
 * known request rather than disturbing the current one. Input: the `session-extract` map
 * (`is_request` plus the request feature values), attribute `request_id`.
 */
export class RequestRowOperator extends KeyedProcessBase<SessionState> {
  private readonly params: RequestRowParams;
  private readonly isRequest: number;
  private readonly passThrough: ReadonlyArray<readonly [string, number]>;
  private readonly requestId: number;

  constructor(node: ProcessNode, fields: readonly string[], attributes: readonly string[]) {
    super(node, fields, attributes);
    this.params = node.params as unknown as RequestRowParams;
    this.isRequest = this.field('is_request');
    this.requestId = this.attr('request_id');
    this.passThrough = this.valueNames
      .filter((n) => n !== 'session_depth')
      .map((n) => [n, this.field(n)] as const);
  }

  protected onRecord(
    key: string,
    ts: number,
    v: (i: number) => number,
    a: (i: number) => string,
    out: Emitter,
  ): void {
    const { gap, maxDuration } = this.params;
    const isRequest = v(this.isRequest) === 1;
    let s = this.getState(key);
    let depth: number;
    if (s !== undefined && ts < s.start - gap) {
      // An earlier, finished session of this id: don't disturb the current one.
      depth = 1;
    } else {
      const fits =
        s !== undefined &&
        ts <= s.last + gap &&
        // As the session window: a session spans start … last + gap, at most maxDuration.
        Math.max(s.last, ts) + gap - Math.min(s.start, ts) <= maxDuration;
      if (s === undefined || !fits) {
        if (s !== undefined && ts < s.last) {
          // Older than the session's end but would stretch it past the maximum: a past session.
          depth = 1;
          if (isRequest) out.row(this.build(a(this.requestId), ts, v, depth));
          return;
        }
        s = { start: ts, last: ts, n: 0 };
      } else {
        s = { start: Math.min(s.start, ts), last: Math.max(s.last, ts), n: s.n };
      }
      if (isRequest) s.n++;
      depth = s.n;
      this.setState(key, s);
    }
    if (isRequest) out.row(this.build(a(this.requestId), ts, v, depth));
  }

  private build(requestId: string, ts: number, v: (i: number) => number, depth: number) {
    const values: Record<string, number | null> = {};
    for (const name of this.valueNames) {
      values[name] = name === 'session_depth' ? sessionDepth(depth) : null;
    }
    for (const [name, i] of this.passThrough) values[name] = KeyedProcessBase.orNull(v(i));
    return this.row(requestId, ts, values);
  }

  protected override expired(state: SessionState, wm: number): boolean {
    return state.last + this.params.gap + this.params.lateness < wm;
  }

  protected serialize(s: SessionState): unknown {
    return [s.start, s.last, s.n];
  }

  protected deserialize(data: unknown): SessionState {
    const [start, last, n] = data as [number, number, number];
    return { start, last, n };
  }
}
