import { DEFAULT_WORKFLOW_CONFIG } from '../model.js';
import { type PatternTemplate, validatePatterns } from '../patterns.js';
import {
  deserializeSession,
  emptySession,
  pushCall,
  type SessionHistory,
  serializeSession,
  sessionRowValues,
} from '../session.js';
import type { JsonValue, ProcessNode } from '../../../../topology/index.js';
import { KeyedProcessBase } from '../../../../operators/index.js';
import type { Emitter } from '../../../../operators/index.js';

/** Parameters of `wf-session`. */
export interface WfSessionParams {
  /** Idle time after which a session's state is dropped (ms); a later call starts afresh. */
  readonly gap: number;
  /** Extra time kept for late calls, ms. */
  readonly lateness: number;
  /** Pattern templates (default: the shipped three). */
  readonly patterns?: readonly PatternTemplate[];
}

/** Checks `wf-session` / `wf-transition` params; errors name the field. */
export function validateWorkflowParams(params: JsonValue | undefined, ints: readonly string[]): void {
  const p = (params ?? {}) as Record<string, unknown>;
  for (const n of ints) {
    const v = p[n];
    if (!(Number.isSafeInteger(v) && (v as number) > 0)) {
      throw new TypeError(`params.${n} must be a positive integer (ms), got ${JSON.stringify(v)}`);
    }
  }
  if (p.patterns !== undefined) validatePatterns(p.patterns, 'params.patterns');
}

/**
 * The `wf_session` group (family B): per-session history keyed by `session_id` — the call count,
 * the first call's state, the detected pattern and its confidence, a state version, and the last
 * 16 calls (endpoint id, state, resource id, time; `e1` the latest). One row per call, event
 * time the latest call's, revision the state version (so two calls in the same millisecond
 * both land). Serving reads it to rank a session's next call.
 */
export class WfSessionOperator extends KeyedProcessBase<SessionHistory> {
  private readonly params: WfSessionParams;
  private readonly patterns: readonly PatternTemplate[];
  private readonly fEndpoint: number;
  private readonly fState: number;
  private readonly fResource: number;

  constructor(node: ProcessNode, fields: readonly string[], attributes: readonly string[]) {
    super(node, fields, attributes);
    this.params = node.params as unknown as WfSessionParams;
    this.patterns = this.params.patterns ?? DEFAULT_WORKFLOW_CONFIG.patterns;
    this.fEndpoint = this.field('endpoint');
    this.fState = this.field('state');
    this.fResource = this.field('resource');
  }

  protected onRecord(
    key: string,
    ts: number,
    v: (i: number) => number,
    _a: (i: number) => string,
    out: Emitter,
  ): void {
    const h = this.getState(key) ?? emptySession();
    pushCall(h, { e: v(this.fEndpoint), s: v(this.fState), r: v(this.fResource), t: ts });
    this.setState(key, h);
    let latest = ts;
    for (const c of h.calls) latest = Math.max(latest, c.t);
    out.row({ ...this.row(key, latest, sessionRowValues(h, this.patterns)), revision: h.version });
  }

  protected override expired(h: SessionHistory, wm: number): boolean {
    let latest = Number.NEGATIVE_INFINITY;
    for (const c of h.calls) latest = Math.max(latest, c.t);
    return latest + this.params.gap + this.params.lateness < wm;
  }

  protected serialize(h: SessionHistory): unknown {
    return serializeSession(h);
  }

  protected deserialize(data: unknown): SessionHistory {
    return deserializeSession(data);
  }
}
