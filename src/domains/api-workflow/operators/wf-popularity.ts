import { addDecayed } from '../counts.js';
import { idHex } from '../ids.js';
import { POPULARITY_ALL } from '../stats.js';
import type { Emitter } from '../../../../operators/index.js';
import { WfCountsBase } from './wf-counts-base.js';

/**
 * Endpoint popularity (WF_008), keyed by `all`: calls per endpoint and of all endpoints, each
 * weighing exp(−age / τ) (`params.halfLife` = τ·ln 2; τ = 1 h in the shipped topology). Rows:
 * entity the endpoint id in hex, or `*` for all calls, value `count`. Same arithmetic as
 * `PopularityCounts`.
 */
export class WfPopularityOperator extends WfCountsBase {
  private readonly fEndpoint: number;

  constructor(...args: ConstructorParameters<typeof WfCountsBase>) {
    super(...args);
    this.fEndpoint = this.field('endpoint');
  }

  protected onRecord(
    _key: string,
    ts: number,
    v: (i: number) => number,
    _a: (i: number) => string,
    out: Emitter,
  ): void {
    for (const key of [idHex(v(this.fEndpoint)), POPULARITY_ALL]) {
      const entry = this.count(key, 1);
      addDecayed(entry.d, 0, ts, this.params.halfLife);
      this.emitCount(key, entry, key, ['count'], out);
    }
  }
}
