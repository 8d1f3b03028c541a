import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ConfigError } from '../shared/errors.js';
import { parseDateOrTimestamp } from '../shared/timestamp.js';
import type { FeatureSet } from '../registry/feature-set.js';
import { quoteIdent } from './migrate.js';
import type { OfflineStore } from './offline-postgres.js';
import {
  type Cell,
  type ColumnSpec,
  type OutputFormat,
  openTableWriter,
  rowProgress,
} from './table-output.js';

/** One row of the entities file: whose features, as of when. */
export interface EntityRequest {
  readonly entityType: string;
  readonly entityId: string;
  /** ms since the epoch. */
  readonly timestamp: number;
  /** The file's other columns, passed through to the output (labels, ids). */
  readonly extra: readonly string[];
}

/** A requested value column and where it comes from. */
export interface RequestedValue {
  readonly name: string;
  readonly group: string;
  readonly version: number;
  readonly ttlSeconds: number;
}

/** Options of {@link buildTrainingSet}. */
export interface TrainingSetOptions {
  /** Feature ids (`PERF_002`), names (`latency_p95_5min`) or value names (`prompt_embedding_3`). */
  readonly features: readonly string[];
  /** The version of every group; default each group's current catalog version. */
  readonly version?: number;
  readonly format: OutputFormat;
  /** A file, or null for stdout. */
  readonly out: string | null;
  /** Entity rows per query. Default 2 000. */
  readonly pageSize?: number;
  /** Draw a progress bar on stderr (when it is a terminal). Default false. */
  readonly progress?: boolean;
  /** The features and groups to resolve `features` against (the topology that wrote the rows). */
  readonly featureSet: FeatureSet;
}

/**
 * Resolves `--features` to value columns: a feature id or name gives all its value names (DRV_001
 * gives 8), a value name gives itself; each with its group, the version to read (`version` or the
 * group's catalog version) and the group's TTL. Unknown names are a {@link ConfigError} naming
 * `--features`.
 *
 * @example
 * resolveFeatures(['PERF_002', 'error_rate_5min'], undefined, featureSetOf('llm-features'));
 * // [{ name: 'latency_p95_5min', group: 'perf_5min', version: 1, ttlSeconds: 86400 }, { name: 'error_rate_5min', … }]
 */
export function resolveFeatures(
  features: readonly string[],
  version: number | undefined,
  set: FeatureSet,
): RequestedValue[] {
  if (features.length === 0)
    throw new ConfigError('--features: list at least one feature', { field: '--features' });
  const out = new Map<string, RequestedValue>();
  for (const raw of features) {
    const key = raw.trim();
    const f = set.byIdOrName(key);
    if (f === undefined) {
      throw new ConfigError(
        `--features: unknown feature "${key}" (use the topology's feature ids, names or value names)`,
        {
          field: '--features',
        },
      );
    }
    const g = set.group(f.group);
    const names = key === f.id || key === f.name ? f.valueNames : [key];
    for (const name of names) {
      if (out.has(name)) continue;
      out.set(name, {
        name,
        group: f.group,
        version: version ?? g?.version ?? f.version,
        ttlSeconds: g?.ttlSeconds ?? 86_400,
      });
    }
  }
  return [...out.values()];
}

/**
 * Reads an entities CSV: RFC 4180 (quoted fields may hold commas, quotes and line breaks), UTF-8,
 * an optional BOM. With a header line naming `entity_type`, `entity_id` and `timestamp` (any
 * order, any case) the other columns are passed through; without one, the first three columns
 * are those, in that order, and further columns are passed through as `col4`, `col5`…
 * `timestamp` is RFC 3339 (`2025-01-15T10:04:59.999Z`, any offset), a date (`2025-01-15`, UTC
 * midnight) or integer ms since the epoch. Blank lines are skipped; anything else malformed is a
 * {@link ConfigError} naming `--entities` and the line.
 *
 * @example
 * for await (const batch of readEntitiesCsv('entities.csv', 1000)) console.log(batch.rows.length);
 */
export async function* readEntitiesCsv(
  path: string,
  batchSize = 1_000,
): AsyncGenerator<{ extraColumns: readonly string[]; rows: EntityRequest[] }> {
  let layout: { type: number; id: number; ts: number; extra: number[]; extraNames: string[] } | null = null;
  let batch: EntityRequest[] = [];
  for await (const { fields, line } of csvRecords(path)) {
    if (fields.length === 1 && fields[0]!.trim() === '') continue;
    if (layout === null) {
      const lower = fields.map((f) => f.trim().toLowerCase());
      const at = (n: string) => lower.indexOf(n);
      if (at('entity_type') >= 0 && at('entity_id') >= 0 && at('timestamp') >= 0) {
        const used = new Set([at('entity_type'), at('entity_id'), at('timestamp')]);
        const extra = fields.map((_, i) => i).filter((i) => !used.has(i));
        layout = {
          type: at('entity_type'),
          id: at('entity_id'),
          ts: at('timestamp'),
          extra,
          extraNames: extra.map((i) => fields[i]!.trim()),
        };
        continue;
      }
      const extra = fields.map((_, i) => i).slice(3);
      layout = { type: 0, id: 1, ts: 2, extra, extraNames: extra.map((i) => `col${i + 1}`) };
    }
    const need = Math.max(layout.type, layout.id, layout.ts) + 1;
    if (fields.length < need) {
      throw new ConfigError(`--entities: line ${line} has ${fields.length} fields, needs ${need}`, {
        field: '--entities',
      });
    }
    const entityType = fields[layout.type]!.trim();
    const entityId = fields[layout.id]!.trim();
    if (entityType === '' || entityId === '') {
      throw new ConfigError(`--entities: line ${line}: entity_type and entity_id must not be empty`, {
        field: '--entities',
      });
    }
    const tsText = fields[layout.ts]!.trim();
    const timestamp = /^-?\d+$/.test(tsText) ? Number(tsText) : parseDateOrTimestamp(tsText);
    if (timestamp === null || !Number.isSafeInteger(timestamp)) {
      throw new ConfigError(
        `--entities: line ${line}: timestamp "${tsText}" is not RFC 3339, a date or integer ms since the epoch`,
        { field: '--entities' },
      );
    }
    batch.push({ entityType, entityId, timestamp, extra: layout.extra.map((i) => fields[i] ?? '') });
    if (batch.length >= batchSize) {
      yield { extraColumns: layout.extraNames, rows: batch };
      batch = [];
    }
  }
  yield { extraColumns: layout?.extraNames ?? [], rows: batch };
}

/** RFC 4180 records of a file, streamed, with the line each starts on. */
async function* csvRecords(path: string): AsyncGenerator<{ fields: string[]; line: number }> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let recordLine = 1;
  let first = true;
  let pendingCr = false;
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = chunk;
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const records: Array<{ fields: string[]; line: number }> = [];
      for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (pendingCr) {
          pendingCr = false;
          if (c === '\n') continue;
        }
        if (quoted) {
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i++;
            } else {
              // The closing quote — unless the next chunk starts with '"' (an escaped quote split
              // across chunks), see `afterQuote` below.
              quoted = false;
              afterQuote = true;
            }
          } else {
            if (c === '\n') line++;
            field += c;
          }
          continue;
        }
        if (afterQuote && c === '"') {
          // `""` split across chunks: an escaped quote inside the quoted field.
          field += '"';
          quoted = true;
          afterQuote = false;
          continue;
        }
        afterQuote = false;
        if (c === ',') {
          fields.push(field);
          field = '';
        } else if (c === '\n' || c === '\r') {
          fields.push(field);
          records.push({ fields, line: recordLine });
          fields = [];
          field = '';
          line++;
          recordLine = line;
          if (c === '\r') pendingCr = true;
        } else if (c === '"' && field === '') {
          quoted = true;
        } else {
          field += c;
        }
      }
      for (const r of records) yield r;
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      `--entities: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      {
        field: '--entities',
        cause: err,
      },
    );
  }
  if (quoted)
    throw new ConfigError(`--entities: unterminated quoted field from line ${recordLine}`, {
      field: '--entities',
    });
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    yield { fields, line: recordLine };
  }
}

/**
 * Builds a point-in-time correct training set: for each entity row (entity, timestamp) and each
 * requested value, the value of the latest row of its group (at the chosen version) for that
 * entity with `event_time ≤ timestamp` and younger than the group's TTL at that time
 * (`event_time > timestamp − ttl`) — never a value from after the timestamp; null when there is
 * none (or when the row's entity type is not the group's).
 *
 * Done in SQL, in bulk: the entities are loaded into a staging table (multi-row inserts of 1 000),
 * then read back in pages of `pageSize` rows, each page one query with a `LEFT JOIN LATERAL` per
 * group (served by the `feature_values_pit` index). The staging table is dropped at the end.
 *
 * Output columns: `entity_type`, `entity_id`, `timestamp`, the file's other columns, then one
 * column per requested value. Rows keep the file's order.
 *
 * @example
 * await buildTrainingSet(store, 'entities.csv', { features: ['PERF_002', 'error_rate_5min'], format: 'csv', out: null });
 */
export async function buildTrainingSet(
  store: OfflineStore,
  entitiesCsv: string,
  opts: TrainingSetOptions,
): Promise<{ rows: number; columns: string[] }> {
  const values = resolveFeatures(opts.features, opts.version, opts.featureSet);
  const s = quoteIdent(store.schema);
  const table = `${s}.${quoteIdent(`training_entities_${randomUUID().replaceAll('-', '')}`)}`;
  await store.client.query(
    'training-set stage',
    `CREATE UNLOGGED TABLE ${table} (idx integer PRIMARY KEY, entity_type text NOT NULL,
       entity_id text NOT NULL, ts timestamptz NOT NULL, extra jsonb NOT NULL)`,
  );
  let count = 0;
  try {
    let extraColumns: readonly string[] = [];
    for await (const batch of readEntitiesCsv(entitiesCsv, 1_000)) {
      extraColumns = batch.extraColumns;
      if (batch.rows.length === 0) continue;
      const params: unknown[] = [];
      const tuples = batch.rows.map((r, i) => {
        params.push(
          count + i,
          r.entityType,
          r.entityId,
          new Date(r.timestamp).toISOString(),
          JSON.stringify(r.extra),
        );
        const n = params.length;
        return `($${n - 4}::int, $${n - 3}, $${n - 2}, $${n - 1}::timestamptz, $${n}::jsonb)`;
      });
      // Idempotent, so a retry after a lost connection cannot duplicate a row.
      await store.client.query(
        'training-set stage',
        `INSERT INTO ${table} (idx, entity_type, entity_id, ts, extra) VALUES ${tuples.join(',')}
         ON CONFLICT (idx) DO NOTHING`,
        params,
      );
      count += batch.rows.length;
    }
    await store.client.query('training-set stage', `ANALYZE ${table}`);

    // One lateral per (group, version, ttl); each value column reads from its group's.
    const groupsKey = (v: RequestedValue) => `${v.group}\u0000${v.version}\u0000${v.ttlSeconds}`;
    const groups = [...new Map(values.map((v) => [groupsKey(v), v])).values()];
    const groupIndex = new Map(groups.map((g, i) => [groupsKey(g), i]));
    const params: unknown[] = [];
    const laterals = groups.map((g, i) => {
      params.push(g.group, g.version, g.ttlSeconds);
      const n = params.length;
      return `LEFT JOIN LATERAL (
          SELECT fv."values" FROM ${s}.feature_values fv
           WHERE fv.entity_type = e.entity_type AND fv.entity_id = e.entity_id
             AND fv.feature_group = $${n - 2} AND fv.version = $${n - 1}::int
             AND fv.event_time <= e.ts AND fv.event_time > e.ts - make_interval(secs => $${n}::float8)
           ORDER BY fv.event_time DESC, fv.window_end DESC NULLS LAST LIMIT 1) g${i} ON true`;
    });
    const select = groups.map((_, i) => `g${i}."values" AS v${i}`).join(', ');
    const columns: ColumnSpec[] = [
      { name: 'entity_type', type: 'string' },
      { name: 'entity_id', type: 'string' },
      { name: 'timestamp', type: 'timestamp' },
      ...extraColumns.map((name): ColumnSpec => ({ name, type: 'string' })),
      ...values.map((v): ColumnSpec => ({ name: v.name, type: 'double' })),
    ];
    const writer = openTableWriter(opts.format, columns, opts.out);
    const bar = opts.progress === true ? rowProgress('training-set', count) : null;
    const pageSize = opts.pageSize ?? 2_000;
    try {
      for (let lo = 0; lo < count; lo += pageSize) {
        const p = [...params, lo, lo + pageSize];
        const res = await store.client.query<Record<string, unknown>>(
          'training-set join',
          `SELECT e.idx, e.entity_type, e.entity_id, e.ts, e.extra, ${select}
             FROM ${table} e ${laterals.join('\n')}
            WHERE e.idx >= $${p.length - 1}::int AND e.idx < $${p.length}::int
            ORDER BY e.idx`,
          p,
        );
        await writer.write(
          res.rows.map((r): Cell[] => {
            const extra = r.extra as string[];
            return [
              r.entity_type as string,
              r.entity_id as string,
              (r.ts as Date).getTime(),
              ...extraColumns.map((_, i) => extra[i] ?? null),
              ...values.map((v) => {
                const vals = r[`v${groupIndex.get(groupsKey(v))!}`] as Record<string, unknown> | null;
                const x = vals?.[v.name];
                return typeof x === 'number' ? x : null;
              }),
            ];
          }),
        );
        bar?.update(Math.min(count, lo + pageSize));
      }
    } finally {
      await writer.close();
      bar?.done();
    }
    return { rows: count, columns: columns.map((c) => c.name) };
  } finally {
    await store.client.query('training-set cleanup', `DROP TABLE IF EXISTS ${table}`).catch(() => {});
  }
}
