import type { OfflineStore } from '../stores/offline-postgres.js';
import { quoteIdent } from '../stores/migrate.js';

/** How one feature value differs between two versions over a range. */
export interface FeatureDiff {
  readonly feature: string;
  /** Rows of version A / B holding the value (present, possibly null). */
  readonly countA: number;
  readonly countB: number;
  /** Rows present in both versions (same entity, window and event time). */
  readonly paired: number;
  /** Paired rows whose value differs (a null on one side only counts as a change). */
  readonly changed: number;
  /** changed / paired (0 when nothing is paired). */
  readonly shareChanged: number;
  /** Mean of |B − A| over the paired rows where both are numbers; null when there are none. */
  readonly meanAbsChange: number | null;
}

/** The summary of `featurestream diff`. */
export interface VersionDiff {
  readonly group: string;
  readonly versions: readonly [number, number];
  readonly from: number;
  readonly to: number;
  readonly rowsA: number;
  readonly rowsB: number;
  readonly onlyA: number;
  readonly onlyB: number;
  readonly features: readonly FeatureDiff[];
}

/**
 * Compares two versions of a group in the offline store over event times `[from, to)`: rows are
 * paired by entity, window and event time, and each feature value is summarised (count in each
 * version, rows changed, share changed, mean absolute change). Computed in SQL, so it scales
 * with the store rather than with memory.
 *
 * @example
 * const d = await diffVersions(store, 'perf_5min', 1, 2, from, to);
 * d.features.find((f) => f.feature === 'latency_p50_5min')?.shareChanged;
 */
export async function diffVersions(
  store: OfflineStore,
  group: string,
  a: number,
  b: number,
  from: number,
  to: number,
): Promise<VersionDiff> {
  const s = quoteIdent(store.schema);
  const rowsOf = (p: string) =>
    `SELECT entity_type, entity_id, coalesce(window_start, '-infinity') AS ws,
            coalesce(window_end, '-infinity') AS we, event_time, "values" AS v
       FROM ${s}.feature_values
      WHERE feature_group = $1 AND version = ${p}::int
        AND event_time >= $4::timestamptz AND event_time < $5::timestamptz`;
  const params = [group, a, b, new Date(from).toISOString(), new Date(to).toISOString()];
  const joined = `WITH a AS (${rowsOf('$2')}), b AS (${rowsOf('$3')}),
       j AS (SELECT a.v AS av, b.v AS bv FROM a FULL JOIN b USING (entity_type, entity_id, ws, we, event_time))`;
  const totals = await store.client.query<{ rows_a: number; rows_b: number; only_a: number; only_b: number }>(
    'diff rows',
    `${joined}
     SELECT count(av)::int AS rows_a, count(bv)::int AS rows_b,
            count(*) FILTER (WHERE bv IS NULL)::int AS only_a,
            count(*) FILTER (WHERE av IS NULL)::int AS only_b
       FROM j`,
    params,
  );
  const res = await store.client.query<{
    feature: string;
    count_a: number;
    count_b: number;
    paired: number;
    changed: number;
    mean_abs: number | null;
  }>(
    'diff features',
    `${joined},
       kv AS (SELECT k, av -> k AS x, bv -> k AS y, av IS NOT NULL AND bv IS NOT NULL AS in_both
                FROM j, LATERAL jsonb_object_keys(coalesce(av, '{}'::jsonb) || coalesce(bv, '{}'::jsonb)) AS k)
     SELECT k AS feature,
            count(x)::int AS count_a,
            count(y)::int AS count_b,
            count(*) FILTER (WHERE in_both)::int AS paired,
            count(*) FILTER (WHERE in_both AND x IS DISTINCT FROM y)::int AS changed,
            avg(CASE WHEN in_both AND jsonb_typeof(x) = 'number' AND jsonb_typeof(y) = 'number'
                     THEN abs((y #>> '{}')::float8 - (x #>> '{}')::float8) END)::float8 AS mean_abs
       FROM kv GROUP BY k ORDER BY k`,
    params,
  );
  const t = totals.rows[0]!;
  return {
    group,
    versions: [a, b],
    from,
    to,
    rowsA: t.rows_a,
    rowsB: t.rows_b,
    onlyA: t.only_a,
    onlyB: t.only_b,
    features: res.rows.map((r) => ({
      feature: r.feature,
      countA: r.count_a,
      countB: r.count_b,
      paired: r.paired,
      changed: r.changed,
      shareChanged: r.paired === 0 ? 0 : r.changed / r.paired,
      meanAbsChange: r.mean_abs === null ? null : Number(r.mean_abs),
    })),
  };
}

/** The diff as a text table. */
export function formatDiff(d: VersionDiff): string {
  const head = [
    `${d.group}: version ${d.versions[0]} → ${d.versions[1]}, event time [${new Date(d.from).toISOString()}, ${new Date(d.to).toISOString()})`,
    `  rows ${d.rowsA} → ${d.rowsB} (only in v${d.versions[0]}: ${d.onlyA}, only in v${d.versions[1]}: ${d.onlyB})`,
  ];
  const rows = d.features.map((f) => [
    f.feature,
    String(f.countA),
    String(f.countB),
    String(f.changed),
    `${(100 * f.shareChanged).toFixed(1)}%`,
    f.meanAbsChange === null ? '-' : Number(f.meanAbsChange.toPrecision(4)).toString(),
  ]);
  const header = [
    'feature',
    `count v${d.versions[0]}`,
    `count v${d.versions[1]}`,
    'changed',
    'share changed',
    'mean |Δ|',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  return `${[...head, line(header), ...rows.map(line)].join('\n')}\n`;
}
