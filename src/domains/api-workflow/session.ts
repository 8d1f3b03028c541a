/**
 * Per-session history of API calls: the last {@link HISTORY_SIZE} calls (endpoint id, state,
 * resource id, time), the session's first state and its call count. The same class is the state of
 * the `wf-session` processor, the private session view of `wf-ngram` and `wf-transition`, and of
 * the in-memory model; {@link sessionRowValues} / {@link sessionFromRow} turn it into a
 * `wf_session` row and back.
 */
import { BOS } from './ids.js';
import { detectPattern, type DetectedPattern, type PatternTemplate } from './patterns.js';
import { WORKFLOW_STATES, type WorkflowState } from './states.js';

export const HISTORY_SIZE = 16;

/** One call as history keeps it. */
export interface Call {
  /** Endpoint id ({@link stableId} of `METHOD template`). */
  readonly e: number;
  /** State index into WORKFLOW_STATES. */
  readonly s: number;
  /** Resource id ({@link stableId} of the resource name; BOS when none). */
  readonly r: number;
  readonly t: number;
}

/** A session's history. */
export interface SessionHistory {
  /** Calls so far (all of them, not only those kept). */
  n: number;
  /** State index of the first call. */
  first: number;
  /** Kept calls, oldest first, at most HISTORY_SIZE. */
  calls: Call[];
  /** Times the state changed, so serving can tell cached vectors apart (a state version). */
  version: number;
}

export function emptySession(): SessionHistory {
  return { n: 0, first: -1, calls: [], version: 0 };
}

/** Appends a call (in place). */
export function pushCall(h: SessionHistory, call: Call): void {
  if (h.n === 0) h.first = call.s;
  h.n++;
  h.version++;
  h.calls.push(call);
  if (h.calls.length > HISTORY_SIZE) h.calls.shift();
}

/** The last call, or null. */
export function lastCall(h: SessionHistory): Call | null {
  return h.calls.length === 0 ? null : h.calls[h.calls.length - 1]!;
}

/** Endpoint ids of the last two calls, BOS-padded: [second last, last]. */
export function context2(h: SessionHistory): [number, number] {
  const k = h.calls.length;
  return [k >= 2 ? h.calls[k - 2]!.e : BOS, k >= 1 ? h.calls[k - 1]!.e : BOS];
}

/**
 * The states pattern detection looks at: the kept calls, preceded by the first call's state when
 * it is no longer kept (so anchored templates still see how the session started).
 */
export function stateSequence(h: SessionHistory): WorkflowState[] {
  const seq = h.calls.map((c) => WORKFLOW_STATES[c.s]!);
  if (h.n > h.calls.length && h.first >= 0) seq.unshift(WORKFLOW_STATES[h.first]!);
  return seq;
}

export function sessionPattern(h: SessionHistory, templates: readonly PatternTemplate[]): DetectedPattern {
  return detectPattern(stateSequence(h), templates);
}

/** Value names of a `wf_session` row. */
export const SESSION_VALUE_NAMES: readonly string[] = [
  'calls',
  'first_state',
  'pattern',
  'pattern_confidence',
  'state_version',
  ...['e', 's', 'r', 't'].flatMap((p) => Array.from({ length: HISTORY_SIZE }, (_, i) => `${p}${i + 1}`)),
];

/** A session as `wf_session` row values: `e1`/`s1`/`r1`/`t1` the last call, `e2`… the one before. */
export function sessionRowValues(
  h: SessionHistory,
  templates: readonly PatternTemplate[],
): Record<string, number | null> {
  const p = sessionPattern(h, templates);
  const v: Record<string, number | null> = {
    calls: h.n,
    first_state: h.first >= 0 ? h.first : null,
    pattern: p.index >= 0 ? p.index : null,
    pattern_confidence: p.confidence,
    state_version: h.version,
  };
  const k = h.calls.length;
  for (let i = 0; i < HISTORY_SIZE; i++) {
    const c = i < k ? h.calls[k - 1 - i]! : null;
    v[`e${i + 1}`] = c?.e ?? null;
    v[`s${i + 1}`] = c?.s ?? null;
    v[`r${i + 1}`] = c?.r ?? null;
    v[`t${i + 1}`] = c?.t ?? null;
  }
  return v;
}

/** The history a `wf_session` row describes. */
export function sessionFromRow(v: Readonly<Record<string, number | null>>): SessionHistory {
  const calls: Call[] = [];
  for (let i = HISTORY_SIZE; i >= 1; i--) {
    const e = v[`e${i}`];
    if (e === null || e === undefined) continue;
    calls.push({ e, s: v[`s${i}`] ?? 0, r: v[`r${i}`] ?? BOS, t: v[`t${i}`] ?? 0 });
  }
  return { n: v.calls ?? calls.length, first: v.first_state ?? -1, calls, version: v.state_version ?? 0 };
}

export function serializeSession(h: SessionHistory): unknown {
  return [h.n, h.first, h.version, h.calls.map((c) => [c.e, c.s, c.r, c.t])];
}

export function deserializeSession(data: unknown): SessionHistory {
  const [n, first, version, calls] = data as [number, number, number, [number, number, number, number][]];
  return { n, first, version, calls: calls.map(([e, s, r, t]) => ({ e, s, r, t })) };
}
