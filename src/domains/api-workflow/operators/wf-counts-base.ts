import type { Decayed } from '../counts.js';
import { deserializeDecayed, serializeDecayed } from '../stats.js';
import { deserializeSession, type SessionHistory, serializeSession } from '../session.js';
import type { ProcessNode } from '../../../../topology/index.js';
import { KeyedProcessBase } from '../../../../operators/index.js';
import type { Emitter } from '../../../../operators/index.js';

/** A state entry of the count processors: a session's recent calls, or a decayed count vector. */
export type CountEntry =
  | { readonly kind: 'session'; readonly h: SessionHistory }
  | { readonly kind: 'count'; readonly d: Decayed /** Updates so far: the row revision. */; u: number };

/** Parameters shared by the count processors. */
export interface CountParams {
  /** Count half-life, ms. */
  readonly halfLife: number;
  /** Idle time after which a session's recent calls are dropped, ms. */
  readonly gap: number;
  readonly lateness: number;
}

/**
 * What `wf-ngram`, `wf-transition` and `wf-popularity` share: state entries under composite keys
 * (`s|…` sessions, `c|…` counts) so that checkpoints write only the entries that changed, session
 * entries expiring after `gap + lateness` of watermark, and rows of decayed counts (event time the
 * count's time, revision its update number, so every update replaces the stored one).
 */
export abstract class WfCountsBase extends KeyedProcessBase<CountEntry> {
  protected readonly params: CountParams;

  constructor(node: ProcessNode, fields: readonly string[], attributes: readonly string[]) {
    super(node, fields, attributes);
    this.params = node.params as unknown as CountParams;
  }

  protected session(key: string): SessionHistory | undefined {
    const e = this.getState(`s|${key}`);
    return e?.kind === 'session' ? e.h : undefined;
  }

  protected putSession(key: string, h: SessionHistory): void {
    this.setState(`s|${key}`, { kind: 'session', h });
  }

  /** The count vector under `key` (created with `width` zeros). */
  protected count(key: string, width: number): { d: Decayed; u: number } {
    const e = this.getState(`c|${key}`);
    if (e?.kind === 'count') return e;
    return { d: { c: new Array<number>(width).fill(0), t: Number.NEGATIVE_INFINITY }, u: 0 };
  }

  /** Stores a count vector after an update and emits its row: entity `entity`, values by name. */
  protected emitCount(
    key: string,
    entry: { d: Decayed; u: number },
    entity: string,
    names: readonly string[],
    out: Emitter,
  ): void {
    entry.u++;
    this.setState(`c|${key}`, { kind: 'count', d: entry.d, u: entry.u });
    const values: Record<string, number | null> = {};
    names.forEach((n, i) => {
      values[n] = entry.d.c[i]!;
    });
    out.row({ ...this.row(entity, entry.d.t, values), revision: entry.u });
  }

  protected override expired(e: CountEntry, wm: number): boolean {
    if (e.kind !== 'session') return false;
    let latest = Number.NEGATIVE_INFINITY;
    for (const c of e.h.calls) latest = Math.max(latest, c.t);
    return latest + this.params.gap + this.params.lateness < wm;
  }

  protected serialize(e: CountEntry): unknown {
    return e.kind === 'session' ? ['s', serializeSession(e.h)] : ['c', e.u, serializeDecayed(e.d)];
  }

  protected deserialize(data: unknown): CountEntry {
    const [tag, a, b] = data as [string, unknown, unknown];
    return tag === 's'
      ? { kind: 'session', h: deserializeSession(a) }
      : { kind: 'count', u: a as number, d: deserializeDecayed(b) };
  }
}
