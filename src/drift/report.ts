import type { FeatureSet } from '../registry/feature-set.js';
import { quoteIdent } from '../stores/migrate.js';
import type { OfflineStore } from '../stores/offline-postgres.js';
import {
  assessDrift,
  compareDrift,
  DRIFT_BANDS,
  type DriftHistogram,
  type DriftStatus,
  driftHistogram,
  type FeatureDrift,
  type FeatureKind,
} from './assess.js';

// Described against the shipped llm-features topology's features.

/** A half-open period [from, to), in ms since the epoch. */
export interface Period {
  readonly from: number;
  readonly to: number;
}

/** What {@link buildDriftReport} compares. */
export interface DriftReportOptions {
  /** The features of the topology that wrote the rows (`featureSet(topology)`). */
  readonly featureSet: FeatureSet;
  readonly group: string;
  readonly reference: Period;
  readonly current: Period;
  /** Only this entity id. */
  readonly entity?: string;
  /** Feature value names, feature names or ids (DRV_001 → its eight values); default every value found. */
  readonly features?: readonly string[];
  /** Version of the group; default the highest version with rows in either period. */
  readonly version?: number;
  /** Compare all entities of the group together (entity_id `*`) instead of each on its own. */
  readonly pooled?: boolean;
  readonly minSamples?: number;
  /** Rows per query. Default 5 000. */
  readonly pageSize?: number;
}

/** The JSON report. */
export interface DriftReport {
  readonly group: string;
  readonly version: number | null;
  readonly reference: { readonly from: string; readonly to: string; readonly rows: number };
  readonly current: { readonly from: string; readonly to: string; readonly rows: number };
  readonly generated_at: string;
  /** Fewer values than this on either side make a comparison `insufficient_data` (`--min-samples`). */
  readonly min_samples: number;
  readonly summary: Readonly<Record<DriftStatus, number>>;
  /** Drifted first ({@link compareDrift}). */
  readonly features: readonly FeatureDrift[];
}

/** The report and, per (entity, feature) in the same order, the histogram the HTML report draws. */
export interface DriftReportResult {
  readonly report: DriftReport;
  readonly histograms: readonly DriftHistogram[];
}

/** entity id → value name → the period's non-null values. */
type Samples = Map<string, Map<string, number[]>>;

/**
 * Reads one group's rows of two periods from the offline store and compares every (entity,
 * value) of them: the JSON drift report, drifted first. Values are the row values of the group
 * (nulls, validation failures written as null, and non-numbers are left out of the samples);
 * a value the catalog declares as a hashed category ([0,1) hash) is compared as categorical.
 *
 * @example
 * const { report } = await buildDriftReport(store, { group: 'perf_5min',
 *   reference: { from: Date.parse('2026-01-01'), to: Date.parse('2026-01-08') },
 *   current: { from: Date.parse('2026-01-08'), to: Date.parse('2026-01-15') } });
 * report.features.filter((f) => f.status === 'drift');
 */
export async function buildDriftReport(
  store: OfflineStore,
  opts: DriftReportOptions,
): Promise<DriftReportResult> {
  const wanted = opts.features === undefined ? null : expandFeatures(opts.featureSet, opts.features);
  const version = opts.version ?? (await latestVersion(store, opts));
  const ref = await readPeriod(store, opts, opts.reference, version, wanted);
  const cur = await readPeriod(store, opts, opts.current, version, wanted);
  const pairs: { drift: FeatureDrift; histogram: DriftHistogram }[] = [];
  const entities = new Set([...ref.samples.keys(), ...cur.samples.keys()]);
  for (const entity of entities) {
    const r = ref.samples.get(entity) ?? new Map<string, number[]>();
    const c = cur.samples.get(entity) ?? new Map<string, number[]>();
    const names = wanted ?? [...new Set([...r.keys(), ...c.keys()])];
    for (const name of names) {
      const rv = r.get(name) ?? [];
      const cv = c.get(name) ?? [];
      pairs.push({
        drift: assessDrift(entity, name, rv, cv, {
          kind: kindOf(opts.featureSet, name),
          ...(opts.minSamples === undefined ? {} : { minSamples: opts.minSamples }),
        }),
        histogram: driftHistogram(rv, cv),
      });
    }
  }
  pairs.sort((a, b) => compareDrift(a.drift, b.drift));
  const summary: Record<DriftStatus, number> = {
    drift: 0,
    possible_drift: 0,
    no_drift: 0,
    insufficient_data: 0,
  };
  for (const p of pairs) summary[p.drift.status]++;
  return {
    report: {
      group: opts.group,
      version,
      reference: { ...iso(opts.reference), rows: ref.rows },
      current: { ...iso(opts.current), rows: cur.rows },
      generated_at: new Date().toISOString(),
      min_samples: opts.minSamples ?? DRIFT_BANDS.minSamples,
      summary,
      features: pairs.map((p) => p.drift),
    },
    histograms: pairs.map((p) => p.histogram),
  };
}

/** Feature ids and names become their value names (DRV_001 → prompt_embedding_1 … _8). */
function expandFeatures(set: FeatureSet, features: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of features) {
    const def = set.byIdOrName(f);
    const names = def === undefined || def.valueNames.includes(f) ? [f] : def.valueNames;
    for (const n of names) if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** Hashed categories (validation [0, 1 − 2⁻³²]) are categorical; the rest is decided by the data. */
function kindOf(set: FeatureSet, name: string): FeatureKind | 'auto' {
  const rule = set.byIdOrName(name)?.validation;
  return rule !== undefined && rule.min === 0 && rule.max === 1 - 2 ** -32 ? 'categorical' : 'auto';
}

function iso(p: Period): { from: string; to: string } {
  return { from: new Date(p.from).toISOString(), to: new Date(p.to).toISOString() };
}

function filterOf(
  opts: DriftReportOptions,
  period: Period | null,
  version: number | null,
): { where: string; params: unknown[] } {
  const where = ['feature_group = $1'];
  const params: unknown[] = [opts.group];
  const periods = period === null ? [opts.reference, opts.current] : [period];
  const ranges = periods.map((p) => {
    params.push(new Date(p.from).toISOString(), new Date(p.to).toISOString());
    return `(event_time >= $${params.length - 1}::timestamptz AND event_time < $${params.length}::timestamptz)`;
  });
  where.push(`(${ranges.join(' OR ')})`);
  if (version !== null) {
    params.push(version);
    where.push(`version = $${params.length}::int`);
  }
  if (opts.entity !== undefined) {
    params.push(opts.entity);
    where.push(`entity_id = $${params.length}`);
  }
  return { where: where.join(' AND '), params };
}

async function latestVersion(store: OfflineStore, opts: DriftReportOptions): Promise<number | null> {
  const { where, params } = filterOf(opts, null, null);
  const res = await store.client.query<{ v: number | null }>(
    'drift version',
    `SELECT max(version)::int AS v FROM ${quoteIdent(store.schema)}.feature_values WHERE ${where}`,
    params,
  );
  return res.rows[0]?.v ?? null;
}

/** The period's values per entity and value name, read in keyset pages. */
async function readPeriod(
  store: OfflineStore,
  opts: DriftReportOptions,
  period: Period,
  version: number | null,
  wanted: readonly string[] | null,
): Promise<{ samples: Samples; rows: number }> {
  const samples: Samples = new Map();
  if (version === null) return { samples, rows: 0 };
  const { where, params } = filterOf(opts, period, version);
  const s = quoteIdent(store.schema);
  const pageSize = opts.pageSize ?? 5_000;
  const wantedSet = wanted === null ? null : new Set(wanted);
  const ORDER = `event_time, entity_type, entity_id, coalesce(window_end, '-infinity'::timestamptz)`;
  let after: unknown[] | null = null;
  let rows = 0;
  for (;;) {
    const p = [...params];
    let keyset = '';
    if (after !== null) {
      const n = p.length;
      p.push(...after);
      keyset = ` AND (${ORDER}) > ($${n + 1}::timestamptz, $${n + 2}, $${n + 3}, $${n + 4}::timestamptz)`;
    }
    p.push(pageSize);
    const res = await store.client.query<{
      entity_type: string;
      entity_id: string;
      event_time: Date;
      window_end: Date | null;
      values: Record<string, unknown>;
    }>(
      'drift read',
      `SELECT entity_type, entity_id, event_time, window_end, "values" FROM ${s}.feature_values
        WHERE ${where}${keyset} ORDER BY ${ORDER} LIMIT $${p.length}::int`,
      p,
    );
    for (const r of res.rows) {
      const entity = opts.pooled === true ? '*' : r.entity_id;
      let byName = samples.get(entity);
      if (byName === undefined) {
        byName = new Map();
        samples.set(entity, byName);
      }
      for (const [name, v] of Object.entries(r.values)) {
        if (wantedSet !== null && !wantedSet.has(name)) continue;
        let xs = byName.get(name);
        if (xs === undefined) {
          xs = [];
          byName.set(name, xs);
        }
        if (typeof v === 'number' && Number.isFinite(v)) xs.push(v);
      }
    }
    rows += res.rows.length;
    if (res.rows.length < pageSize) break;
    const last = res.rows[res.rows.length - 1]!;
    after = [
      last.event_time.toISOString(),
      last.entity_type,
      last.entity_id,
      last.window_end === null ? '-infinity' : last.window_end.toISOString(),
    ];
  }
  return { samples, rows };
}

/** The thresholds a report was drawn with (printed in the text and HTML reports), its `--min-samples` included. */
export function bandsText(minSamples: number): string {
  return `${BANDS_TEXT} fewer than ${minSamples} values: insufficient data`;
}

const BANDS_TEXT =
  `PSI ≥ ${DRIFT_BANDS.psi.possible} possible, ≥ ${DRIFT_BANDS.psi.drift} drift (10 reference-quantile bins, ε 1e-4); ` +
  `|z| ≥ ${DRIFT_BANDS.z.possible} possible, ≥ ${DRIFT_BANDS.z.drift} drift; ` +
  `KS D ≥ ${DRIFT_BANDS.ks.possible}/${DRIFT_BANDS.ks.drift} with p < ${DRIFT_BANDS.ks.alpha} (reference ≤ 1000 values), ` +
  `normalised Wasserstein ≥ ${DRIFT_BANDS.wasserstein.possible}/${DRIFT_BANDS.wasserstein.drift} (reference > 1000); ` +
  `categorical: JS ≥ ${DRIFT_BANDS.js.possible}/${DRIFT_BANDS.js.drift} with χ² p < ${DRIFT_BANDS.js.alpha};`;
