import { DEFAULT_WORKFLOW_CONFIG } from '../model.js';
import type { PatternTemplate } from '../patterns.js';
import { emptySession, lastCall, pushCall, sessionPattern } from '../session.js';
import { countTransition, TRANSITION_VALUE_NAMES, TRANSITION_WIDTH, transitionKey } from '../stats.js';
import type { Emitter } from '../../../../operators/index.js';
import { WfCountsBase } from './wf-counts-base.js';

/**
 * State transitions (WF_004) and method priors (WF_007), keyed by `all`: per session its recent
 * calls (for the detected pattern), and decayed counts of the next call's state and method after
 * each state (`start` before a session's first call), per detected pattern (`pattern|from`) and
 * over all sessions (`*|from`). Rows: entity `pattern|from`, values `to_<state>` and
 * `method_<METHOD>`. Same arithmetic as `TransitionCounts`.
 */
export class WfTransitionOperator extends WfCountsBase {
  private readonly fEndpoint: number;
  private readonly fState: number;
  private readonly fMethod: number;
  private readonly aSession: number;
  private readonly patterns: readonly PatternTemplate[];

  constructor(...args: ConstructorParameters<typeof WfCountsBase>) {
    super(...args);
    this.fEndpoint = this.field('endpoint');
    this.fState = this.field('state');
    this.fMethod = this.field('method');
    this.aSession = this.attr('session_id');
    this.patterns =
      (this.node.params as { patterns?: readonly PatternTemplate[] } | undefined)?.patterns ??
      DEFAULT_WORKFLOW_CONFIG.patterns;
  }

  protected onRecord(
    _key: string,
    ts: number,
    v: (i: number) => number,
    a: (i: number) => string,
    out: Emitter,
  ): void {
    const session = a(this.aSession);
    const h = this.session(session) ?? emptySession();
    const call = { e: v(this.fEndpoint), s: v(this.fState), r: 0, t: ts };
    const from = lastCall(h)?.s ?? -1;
    const pattern = sessionPattern(h, this.patterns).name;
    for (const key of [transitionKey(pattern, from), transitionKey('*', from)]) {
      const entry = this.count(key, TRANSITION_WIDTH);
      countTransition(entry.d, call, v(this.fMethod), this.params.halfLife);
      this.emitCount(key, entry, key, TRANSITION_VALUE_NAMES, out);
    }
    pushCall(h, call);
    this.putSession(session, h);
  }
}
