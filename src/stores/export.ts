import type { FeatureRow } from '../../operators/operator.js';
import { formatRow } from '../connectors/row-format.js';
import { catalogEntries } from '../../topology/feature-catalog.js';

/** The registered catalog's features of a group, in catalog order. */
const featuresOfGroup = (group: string) => catalogEntries().filter((f) => f.group === group);
import { quoteIdent } from './migrate.js';
import type { OfflineStore } from './offline-postgres.js';
import {
  type Cell,
  type ColumnSpec,
  type OutputFormat,
  openTableWriter,
  openTextOutput,
  rowProgress,
} from './table-output.js';

/** What {@link exportFeatures} exports. */
export interface ExportOptions {
  readonly group: string;
  /** Only this version; default every version. */
  readonly version?: number;
  /** Rows with `event_time ≥ from` (ms since the epoch). */
  readonly from?: number;
  /** Rows with `event_time < to` (ms since the epoch). */
  readonly to?: number;
  readonly format: OutputFormat;
  /** A file, or null for stdout. */
  readonly out: string | null;
  /** Rows per query (keyset pages). Default 5 000. */
  readonly pageSize?: number;
  /** Draw a progress bar on stderr (when it is a terminal). Default false. */
  readonly progress?: boolean;
}

/** The fixed leading columns of CSV and Parquet exports. */
export const EXPORT_KEY_COLUMNS: readonly ColumnSpec[] = [
  { name: 'group', type: 'string' },
  { name: 'entity_type', type: 'string' },
  { name: 'entity_id', type: 'string' },
  { name: 'version', type: 'int' },
  { name: 'window_start', type: 'timestamp' },
  { name: 'window_end', type: 'timestamp' },
  { name: 'event_time', type: 'timestamp' },
  { name: 'revision', type: 'int' },
];

interface Row {
  entity_type: string;
  entity_id: string;
  version: number;
  window_start: Date | null;
  window_end: Date | null;
  event_time: Date;
  revision: number;
  values: Record<string, number | null>;
}

/**
 * Exports the offline rows of one group, ordered by (event_time, entity, version, window end),
 * read in keyset pages (each page is one query, retried on its own after a lost connection, so
 * memory stays flat and nothing is written twice):
 * - `ndjson`: the file sink's row format ({@link formatRow}), values in catalog order then
 *   other names sorted (jsonb does not keep the written order);
 * - `csv` / `parquet`: {@link EXPORT_KEY_COLUMNS} then one column per feature value — the
 *   group's catalog value names in catalog order, then any other name found in the rows, sorted.
 *
 * Returns the number of rows and the value columns.
 *
 * @example
 * await exportFeatures(store, { group: 'perf_5min', version: 1, format: 'csv', out: 'perf.csv',
 *   from: Date.parse('2025-01-01T00:00:00Z'), to: Date.parse('2025-02-01T00:00:00Z') });
 */
export async function exportFeatures(
  store: OfflineStore,
  opts: ExportOptions,
): Promise<{ rows: number; valueColumns: string[] }> {
  const s = quoteIdent(store.schema);
  const where: string[] = ['feature_group = $1'];
  const params: unknown[] = [opts.group];
  if (opts.version !== undefined) {
    params.push(opts.version);
    where.push(`version = $${params.length}::int`);
  }
  if (opts.from !== undefined) {
    params.push(new Date(opts.from).toISOString());
    where.push(`event_time >= $${params.length}::timestamptz`);
  }
  if (opts.to !== undefined) {
    params.push(new Date(opts.to).toISOString());
    where.push(`event_time < $${params.length}::timestamptz`);
  }
  const filter = where.join(' AND ');

  const valueColumns =
    opts.format === 'ndjson' ? [] : await valueColumnsOf(store, s, filter, params, opts.group);
  const order = catalogOrder(opts.group);
  let total: number | null = null;
  if (opts.progress === true && process.stderr.isTTY) {
    const res = await store.client.query<{ n: number }>(
      'export count',
      `SELECT count(*)::int AS n FROM ${s}.feature_values WHERE ${filter}`,
      params,
    );
    total = res.rows[0]?.n ?? 0;
  }
  const bar = opts.progress === true ? rowProgress(`export ${opts.group}`, total) : null;

  const columns: ColumnSpec[] = [
    ...EXPORT_KEY_COLUMNS,
    ...valueColumns.map((name): ColumnSpec => ({ name, type: 'double' })),
  ];
  const table = opts.format === 'ndjson' ? null : openTableWriter(opts.format, columns, opts.out);
  const text = opts.format === 'ndjson' ? openTextOutput(opts.out) : null;

  const pageSize = opts.pageSize ?? 5_000;
  const ORDER = `event_time, entity_type, entity_id, version, coalesce(window_end, '-infinity'::timestamptz)`;
  let after: unknown[] | null = null;
  let count = 0;
  try {
    for (;;) {
      const p = [...params];
      let keyset = '';
      if (after !== null) {
        const n = p.length;
        p.push(...after);
        keyset = ` AND (${ORDER}) > ($${n + 1}::timestamptz, $${n + 2}, $${n + 3}, $${n + 4}::int, $${n + 5}::timestamptz)`;
      }
      p.push(pageSize);
      const res = await store.client.query<Row>(
        'export',
        `SELECT entity_type, entity_id, version, window_start, window_end, event_time, revision, "values"
           FROM ${s}.feature_values WHERE ${filter}${keyset}
          ORDER BY ${ORDER} LIMIT $${p.length}::int`,
        p,
      );
      if (res.rows.length === 0) break;
      if (text !== null) {
        await text.write(res.rows.map((r) => formatRow(rowOf(opts.group, r, order))).join(''));
      } else {
        await table!.write(
          res.rows.map((r): Cell[] => [
            opts.group,
            r.entity_type,
            r.entity_id,
            r.version,
            r.window_start?.getTime() ?? null,
            r.window_end?.getTime() ?? null,
            r.event_time.getTime(),
            r.revision,
            ...valueColumns.map((k) => numberOrNull(r.values[k])),
          ]),
        );
      }
      count += res.rows.length;
      bar?.update(count);
      const last = res.rows[res.rows.length - 1]!;
      after = [
        last.event_time.toISOString(),
        last.entity_type,
        last.entity_id,
        last.version,
        last.window_end === null ? '-infinity' : last.window_end.toISOString(),
      ];
      if (res.rows.length < pageSize) break;
    }
  } finally {
    if (text !== null) await text.close();
    if (table !== null) await table.close();
    bar?.done();
  }
  return { rows: count, valueColumns };
}

/** Value name → rank in the group's catalog order. */
function catalogOrder(group: string): ReadonlyMap<string, number> {
  const names = featuresOfGroup(group).flatMap((f) => f.valueNames);
  return new Map(names.map((n, i) => [n, i]));
}

/**
 * The row with its values in catalog order, then other names sorted — jsonb does not keep the
 * order they were written in, so this is the order the topology's operators emit.
 */
function rowOf(group: string, r: Row, order: ReadonlyMap<string, number>): FeatureRow {
  const keys = Object.keys(r.values).sort((a, b) => {
    const ra = order.get(a) ?? Number.POSITIVE_INFINITY;
    const rb = order.get(b) ?? Number.POSITIVE_INFINITY;
    return ra !== rb ? ra - rb : a < b ? -1 : a > b ? 1 : 0;
  });
  const values: Record<string, number | null> = {};
  for (const k of keys) values[k] = r.values[k] ?? null;
  return {
    group,
    entityType: r.entity_type,
    entityId: r.entity_id,
    version: r.version,
    windowStart: r.window_start?.getTime() ?? null,
    windowEnd: r.window_end?.getTime() ?? null,
    eventTime: r.event_time.getTime(),
    revision: r.revision,
    values,
  };
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

/** The value names in the exported rows: catalog order first, then the rest sorted. */
async function valueColumnsOf(
  store: OfflineStore,
  s: string,
  filter: string,
  params: readonly unknown[],
  group: string,
): Promise<string[]> {
  const res = await store.client.query<{ k: string }>(
    'export columns',
    `SELECT DISTINCT k FROM ${s}.feature_values, jsonb_object_keys("values") AS k WHERE ${filter}`,
    params,
  );
  const found = new Set(res.rows.map((r) => r.k));
  const ordered: string[] = [];
  for (const f of featuresOfGroup(group)) {
    for (const name of f.valueNames) {
      if (found.delete(name)) ordered.push(name);
    }
  }
  return [...ordered, ...[...found].sort()];
}
