import { assessDrift, type DriftStatus } from '../drift/assess.js';
import { checkValue } from '../domains/llm/features/catalog.js';
import type { FeatureDef, FeatureSet } from '../registry/feature-set.js';

// Scored against the shipped llm-features topology's features and groups.

/**
 * Quality score per feature value (shared/spec/quality.md): null rate, freshness (age of the
 * newest value vs the group's SLA), completeness, consistency (share passing validation) and
 * drift, combined into one 0–1 score. Computed from the offline store's rows of one window
 * `[at − window, at)`; drift compares it with the window before (`[at − 2·window, at − window)`),
 * all entities of the group together.
 *
 * Components, each in [0, 1]:
 * - `1 − null_rate`: null_rate = nulls / values present (validation failures are written as null);
 * - `freshness`: 1 while the newest non-null value is at most the SLA old at `at`, then SLA / age
 *   (0 when there is none in the two windows);
 * - `completeness`: values present / values expected — for groups with a fixed slide (perf_5min,
 *   perf_1hr, feedback_1hr, timeout_5min) one row per entity per slide between the entity's first
 *   and last window in the window (gaps count as missing), otherwise one per row of the group;
 * - `validity`: share of present values passing the registry rule (a null of a non-nullable
 *   value fails);
 * - `1 − drift score` ({@link assessDrift}'s score; left out with insufficient data).
 * The score is their mean. Status: `good` ≥ 0.9, `degraded` ≥ 0.7, else `poor`.
 *
 * @example
 * const q = await computeQuality((sql, p) => pool.query(sql, p).then((r) => r.rows), { at: Date.now() });
 * q.features.find((f) => f.feature === 'latency_p95_5min')?.score;
 */

/** Runs a query with `$n` parameters and returns its rows. */
export type QueryRows = (sql: string, params: unknown[]) => Promise<readonly unknown[]>;

export interface QualityOptions {
  /** The features and groups of the topology that wrote the rows (`featureSet(topology)`). */
  readonly featureSet: FeatureSet;
  /** The end of the window (ms). Default now. */
  readonly at?: number;
  /** Window length in ms. Default 24 h. */
  readonly windowMs?: number;
  /** Only this group. */
  readonly group?: string;
  /** Schema of `feature_values`; unset = the connection's search_path. */
  readonly schema?: string;
}

export type QualityStatus = 'good' | 'degraded' | 'poor';

/** One feature value's quality. */
export interface FeatureQuality {
  readonly feature: string;
  /** Catalog id, or null for a value outside the catalog. */
  readonly feature_id: string | null;
  readonly group: string;
  readonly version: number;
  readonly score: number;
  readonly status: QualityStatus;
  /** Rows of the group in the window, and how many carried this value (null or not). */
  readonly rows: number;
  readonly present: number;
  readonly null_rate: number | null;
  readonly freshness: number;
  readonly age_seconds: number | null;
  readonly freshness_sla_seconds: number | null;
  readonly completeness: number;
  readonly validity: number | null;
  readonly drift_score: number | null;
  readonly drift_status: DriftStatus;
}

export interface QualityReport {
  readonly at: string;
  readonly window_seconds: number;
  /** Worst first. */
  readonly features: readonly FeatureQuality[];
}

const valueDefs = (set: FeatureSet): ReadonlyMap<string, FeatureDef> =>
  new Map(set.features.flatMap((f) => f.valueNames.map((n) => [n, f] as const)));

/** Slide of a group with a fixed one, in ms ("tumbling 5m", "sliding 1h every 5m"). */
export function groupSlideMs(set: FeatureSet, group: string): number | null {
  const w = set.group(group)?.window ?? null;
  if (w === null) return null;
  const m = /(?:every|tumbling) (\d+)([smhd])/.exec(w);
  if (m === null) return null;
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

interface Row {
  feature_group: string;
  version: number;
  entity_id: string;
  event_time: Date | string;
  values: Record<string, unknown>;
}

const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;

/**
 * Reads the rows of the two windows and scores every value of every group that has rows (the
 * catalog's values of those groups included, so a value that never arrives scores low).
 */
export async function computeQuality(query: QueryRows, opts: QualityOptions): Promise<QualityReport> {
  const set = opts.featureSet;
  const VALUE_DEFS = valueDefs(set);
  const at = opts.at ?? Date.now();
  const windowMs = opts.windowMs ?? 86_400_000;
  const table = opts.schema === undefined ? 'feature_values' : `${quote(opts.schema)}.feature_values`;
  const params: unknown[] = [new Date(at - 2 * windowMs).toISOString(), new Date(at).toISOString()];
  let groupFilter = '';
  if (opts.group !== undefined) {
    params.push(opts.group);
    groupFilter = ' AND feature_group = $3';
  }
  const rows = (await query(
    `SELECT feature_group, version, entity_id, event_time, "values" FROM ${table}
      WHERE event_time >= $1::timestamptz AND event_time < $2::timestamptz${groupFilter}
      ORDER BY feature_group, entity_id, event_time`,
    params,
  )) as Row[];

  // Each group at its highest version in the windows.
  const versions = new Map<string, number>();
  for (const r of rows)
    versions.set(r.feature_group, Math.max(versions.get(r.feature_group) ?? 0, r.version));
  const split = at - windowMs;
  const features: FeatureQuality[] = [];
  for (const [group, version] of versions) {
    const mine = rows.filter((r) => r.feature_group === group && r.version === version);
    const timeOf = (r: Row) =>
      r.event_time instanceof Date ? r.event_time.getTime() : Date.parse(r.event_time);
    const current = mine.filter((r) => timeOf(r) >= split);
    const names = new Set(set.ofGroup(group).flatMap((f) => f.valueNames));
    for (const r of mine) for (const k of Object.keys(r.values)) names.add(k);
    const expected = expectedRows(set, group, current, timeOf);
    for (const name of names) {
      const def = VALUE_DEFS.get(name);
      let present = 0;
      let nulls = 0;
      let passing = 0;
      const cur: number[] = [];
      for (const r of current) {
        if (!(name in r.values)) continue;
        present++;
        const v = r.values[name];
        const x = typeof v === 'number' ? v : null;
        if (x === null) nulls++;
        else cur.push(x);
        if (def === undefined ? x === null || Number.isFinite(x) : checkValue(def.validation, x) === null)
          passing++;
      }
      const ref: number[] = [];
      let newest: number | null = null;
      for (const r of mine) {
        const v = r.values[name];
        if (typeof v !== 'number') continue;
        if (timeOf(r) < split) ref.push(v);
        newest = Math.max(newest ?? Number.NEGATIVE_INFINITY, timeOf(r));
      }
      const sla = def?.freshnessSlaSeconds ?? null;
      const age = newest === null ? null : Math.max(0, (at - newest) / 1000);
      const freshness = age === null ? 0 : sla === null || age <= sla ? 1 : sla / age;
      const completeness = expected === 0 ? 0 : Math.min(1, present / expected);
      const nullRate = present === 0 ? null : nulls / present;
      const validity = present === 0 ? null : passing / present;
      const drift = assessDrift('*', name, ref, cur);
      const parts = [
        nullRate === null ? 0 : 1 - nullRate,
        freshness,
        completeness,
        validity ?? 0,
        ...(drift.score === null ? [] : [1 - drift.score]),
      ];
      const score = round4(parts.reduce((a, b) => a + b, 0) / parts.length);
      features.push({
        feature: name,
        feature_id: def?.id ?? null,
        group,
        version,
        score,
        status: score >= 0.9 ? 'good' : score >= 0.7 ? 'degraded' : 'poor',
        rows: current.length,
        present,
        null_rate: nullRate === null ? null : round4(nullRate),
        freshness: round4(freshness),
        age_seconds: age === null ? null : Math.round(age),
        freshness_sla_seconds: sla,
        completeness: round4(completeness),
        validity: validity === null ? null : round4(validity),
        drift_score: drift.score === null ? null : round4(drift.score),
        drift_status: drift.status,
      });
    }
  }
  features.sort((a, b) => a.score - b.score || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0));
  return { at: new Date(at).toISOString(), window_seconds: windowMs / 1000, features };
}

/** Rows the window should hold: per entity, one per slide between its first and last window. */
function expectedRows(
  set: FeatureSet,
  group: string,
  current: readonly Row[],
  timeOf: (r: Row) => number,
): number {
  const slide = groupSlideMs(set, group);
  if (slide === null) return current.length;
  const span = new Map<string, [number, number]>();
  for (const r of current) {
    const t = timeOf(r);
    const s = span.get(r.entity_id);
    if (s === undefined) span.set(r.entity_id, [t, t]);
    else span.set(r.entity_id, [Math.min(s[0], t), Math.max(s[1], t)]);
  }
  let n = 0;
  for (const [lo, hi] of span.values()) n += Math.round((hi - lo) / slide) + 1;
  return n;
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
