/**
 * The stream statistics of family B as keyed state, shared by the processors (operators/wf-*.ts)
 * and the in-memory model: n-gram counts over endpoints (per scope: `*` for all tenants, or a
 * tenant) and state-transition / method counts (per pattern and from-state). Every count is
 * exponentially decayed (half-life `halfLifeMs`), so old habits fade.
 *
 * Keys (also the entity ids of their rows, prefixed by the scope or pattern):
 * - n-gram `ctx>next` and its context `ctx>`, ctx = one or two endpoint ids in hex (`a,b` = second
 *   last, last; the begin-of-session token is all zeros); `#` the vocabulary size;
 * - transitions `pattern|from` (from = a state name or `start`), a vector of the 5 state counts
 *   then the 6 method counts.
 */
import { addDecayed, type Decayed, emptyDecayed } from './counts.js';
import { idHex } from './ids.js';
import type { PatternTemplate } from './patterns.js';
import { type Call, context2, lastCall, type SessionHistory, sessionPattern } from './session.js';
import { PRIOR_METHODS, START, WORKFLOW_STATES } from './states.js';

export const ngramKey = (ctx: readonly number[], next: number): string =>
  `${ctx.map(idHex).join(',')}>${idHex(next)}`;
export const contextKey = (ctx: readonly number[]): string => `${ctx.map(idHex).join(',')}>`;
export const VOCAB_KEY = '#';
export const fromName = (from: number): string => (from < 0 ? START : WORKFLOW_STATES[from]!);
export const transitionKey = (pattern: string, from: number): string => `${pattern}|${fromName(from)}`;
/** Layout of a transition vector: 5 states, then 6 methods. */
export const TRANSITION_WIDTH = WORKFLOW_STATES.length + PRIOR_METHODS.length;
export const TRANSITION_VALUE_NAMES: readonly string[] = [
  ...WORKFLOW_STATES.map((s) => `to_${s}`),
  ...PRIOR_METHODS.map((m) => `method_${m}`),
];

/** Counts one transition into `call.s` and one method observation in a transition vector (in place). */
export function countTransition(d: Decayed, call: Call, methodIndex: number, halfLifeMs: number): void {
  const newer = call.t >= d.t;
  addDecayed(d, call.s, call.t, halfLifeMs);
  // The same call is one method observation; both counts share the vector's time.
  d.c[WORKFLOW_STATES.length + methodIndex]! += newer ? 1 : 2 ** (-(d.t - call.t) / halfLifeMs);
}

/** N-gram counts of one scope. */
export class NgramCounts {
  readonly counts = new Map<string, Decayed>();
  readonly vocab = new Set<number>();

  constructor(readonly halfLifeMs: number) {}

  /**
   * Counts `call` after history `h` (before the call is appended). Returns the keys changed (the
   * vocabulary key when a new endpoint appeared).
   */
  observe(h: SessionHistory, call: Call): string[] {
    const [e2, e1] = context2(h);
    const keys = [ngramKey([e1], call.e), contextKey([e1]), ngramKey([e2, e1], call.e), contextKey([e2, e1])];
    for (const k of keys) {
      let d = this.counts.get(k);
      if (d === undefined) {
        d = emptyDecayed(1);
        this.counts.set(k, d);
      }
      addDecayed(d, 0, call.t, this.halfLifeMs);
    }
    if (!this.vocab.has(call.e)) {
      this.vocab.add(call.e);
      keys.push(VOCAB_KEY);
    }
    return keys;
  }
}

/** Transition and method counts. */
export class TransitionCounts {
  readonly counts = new Map<string, Decayed>();

  constructor(
    readonly halfLifeMs: number,
    readonly patterns: readonly PatternTemplate[],
  ) {}

  /** Counts `call` after history `h`; returns the keys changed (the pattern's and `*`'s). */
  observe(h: SessionHistory, call: Call, methodIndex: number): string[] {
    const from = lastCall(h)?.s ?? -1;
    const pattern = sessionPattern(h, this.patterns).name;
    const keys = [transitionKey(pattern, from), transitionKey('*', from)];
    for (const k of keys) {
      let d = this.counts.get(k);
      if (d === undefined) {
        d = emptyDecayed(TRANSITION_WIDTH);
        this.counts.set(k, d);
      }
      countTransition(d, call, methodIndex, this.halfLifeMs);
    }
    return keys;
  }
}

/** The popularity key of all calls. */
export const POPULARITY_ALL = '*';

/**
 * Popularity (WF_008): calls per endpoint (key: endpoint id in hex) and of all endpoints (`*`),
 * each weighing exp(−age/τ) — the last hour, exponentially weighted, with τ = 1 h by default —
 * so the share of an endpoint is exact at any reference time whenever its count was last updated.
 */
export class PopularityCounts {
  readonly counts = new Map<string, Decayed>();
  readonly halfLifeMs: number;

  constructor(tauMs: number) {
    this.halfLifeMs = Math.round(tauMs * Math.LN2);
  }

  observe(call: Call): string[] {
    const keys = [idHex(call.e), POPULARITY_ALL];
    for (const k of keys) {
      let d = this.counts.get(k);
      if (d === undefined) {
        d = emptyDecayed(1);
        this.counts.set(k, d);
      }
      addDecayed(d, 0, call.t, this.halfLifeMs);
    }
    return keys;
  }
}

export function serializeDecayed(d: Decayed): unknown {
  return [d.t, ...d.c];
}

export function deserializeDecayed(data: unknown): Decayed {
  const [t, ...c] = data as number[];
  return { t: t ?? Number.NEGATIVE_INFINITY, c };
}
