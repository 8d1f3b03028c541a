import { addDecayed } from '../counts.js';
import { idHex } from '../ids.js';
import { context2, emptySession, pushCall } from '../session.js';
import { contextKey, ngramKey, VOCAB_KEY } from '../stats.js';
import type { Emitter } from '../../../../operators/index.js';
import { WfCountsBase } from './wf-counts-base.js';

/**
 * Endpoint n-grams (WF_002, WF_003) keyed by scope — `all` (`*`: every tenant) or `tenant`
 * (records without a tenant are skipped there): per session its last two calls, and decayed
 * counts of each bigram `last > next`, trigram `second last,last > next`, their contexts
 * (`ctx >`) and the vocabulary size (`#`). Rows: group of the node, entity `scope|key`, value
 * `count` (decayed to the row's event time). The begin-of-session token is the context of a
 * session's first call, so cold starts have counts too. Same arithmetic as `NgramCounts`.
 */
export class WfNgramOperator extends WfCountsBase {
  private readonly fEndpoint: number;
  private readonly aSession: number;

  constructor(...args: ConstructorParameters<typeof WfCountsBase>) {
    super(...args);
    this.fEndpoint = this.field('endpoint');
    this.aSession = this.attr('session_id');
  }

  protected onRecord(
    scope: string,
    ts: number,
    v: (i: number) => number,
    a: (i: number) => string,
    out: Emitter,
  ): void {
    if (scope === '') return;
    const sessionKey = `${scope}|${a(this.aSession)}`;
    const h = this.session(sessionKey) ?? emptySession();
    const e = v(this.fEndpoint);
    const [e2, e1] = context2(h);
    for (const k of [ngramKey([e1], e), contextKey([e1]), ngramKey([e2, e1], e), contextKey([e2, e1])]) {
      const key = `${scope}|${k}`;
      const entry = this.count(key, 1);
      addDecayed(entry.d, 0, ts, this.params.halfLife);
      this.emitCount(key, entry, key, ['count'], out);
    }
    const seenKey = `${scope}|v${idHex(e)}`;
    if (this.count(seenKey, 0).u === 0) {
      this.setState(`c|${seenKey}`, { kind: 'count', d: { c: [], t: ts }, u: 1 });
      const vocabKey = `${scope}|${VOCAB_KEY}`;
      const vocab = this.count(vocabKey, 1);
      vocab.d.c[0]! += 1;
      vocab.d.t = Math.max(vocab.d.t, ts);
      this.emitCount(vocabKey, vocab, vocabKey, ['count'], out);
    }
    pushCall(h, { e, s: 0, r: 0, t: ts });
    if (h.calls.length > 2) h.calls.splice(0, h.calls.length - 2);
    this.putSession(sessionKey, h);
  }
}
