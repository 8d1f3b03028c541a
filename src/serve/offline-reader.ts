/**
 * L3: reads feature values from the offline store's `feature_values` table (001_init.sql) for
 * serving — the latest row with `event_time ≤ at` (highest revision) and within the group's TTL
 * (`event_time > at − ttl`), so a point-in-time read never leaks the future and never serves a
 * value the online store would have expired.
 *
 * @example
 * const reader = new OfflineReader(new pg.Pool({ connectionString }), { schema: 'features' });
 * await reader.readAt('model', 'gpt-4', 'perf_5min', 1, Date.parse('2025-01-15T10:07:00Z'), 86_400_000);
 */
import { ExternalError } from '../shared/errors.js';
import { toTierValue, type TierValue } from './values.js';

/**
 * The part of a `pg.Pool` (or `pg.Client`, or an embedded PGlite engine) the reader uses: `$n`
 * parameters, rows as objects.
 */
export interface SqlClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** Options of an {@link OfflineReader}. */
export interface OfflineReaderOptions {
  /** Schema of `feature_values`; unset = the connection's `search_path`. */
  readonly schema?: string;
}

/** 0001-01-01T00:00:00Z in ms. */
const YEAR_1 = -62_135_596_800_000;

interface Row {
  values: unknown;
  event_time: unknown;
  revision: unknown;
  computed_at: unknown;
}

/**
 * Serving-side reader of `feature_values`. Works on any {@link SqlClient}; one indexed query per
 * (entity, group, version), served by the `feature_values_pit` index.
 *
 * @example
 * const v = await reader.readAt('model', 'gpt-4', 'perf_5min', 1, Date.now(), 86_400_000);
 * v?.values.latency_p95_5min;
 */
export class OfflineReader {
  private readonly client: SqlClient;
  private readonly table: string;
  private readonly sql: string;

  constructor(client: SqlClient, options: OfflineReaderOptions = {}) {
    this.client = client;
    this.table =
      options.schema === undefined ? 'feature_values' : `${quoteIdent(options.schema)}.feature_values`;
    this.sql =
      `SELECT "values", event_time, revision, computed_at FROM ${this.table} ` +
      'WHERE entity_type = $1 AND entity_id = $2 AND feature_group = $3 AND version = $4 ' +
      'AND event_time <= $5::timestamptz AND event_time > $6::timestamptz ' +
      'ORDER BY event_time DESC, revision DESC LIMIT 1';
  }

  /**
   * The latest value with `event_time ≤ atMs` and `event_time > atMs − ttlMs`, or null. Throws
   * {@link ExternalError} when the database fails.
   */
  async readAt(
    entityType: string,
    entityId: string,
    group: string,
    version: number,
    atMs: number,
    ttlMs: number,
  ): Promise<TierValue | null> {
    let rows: unknown[];
    try {
      ({ rows } = await this.client.query(this.sql, [
        entityType,
        entityId,
        group,
        version,
        new Date(atMs).toISOString(),
        // Clamped to year 1, so a TTL before `at=0000-01-01…` still is a timestamp PostgreSQL reads.
        new Date(Math.max(atMs - ttlMs, YEAR_1)).toISOString(),
      ]));
    } catch (err) {
      throw new ExternalError(`offline store: read failed: ${describe(err)}`, { cause: err });
    }
    const row = rows[0] as Row | undefined;
    if (row === undefined) return null;
    const raw = typeof row.values === 'string' ? (JSON.parse(row.values) as unknown) : row.values;
    return toTierValue(
      raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {},
      toMs(row.event_time),
      Number(row.revision ?? 0),
      toMs(row.computed_at),
    );
  }

  /** Resolves when the database answers and the table exists; throws {@link ExternalError} otherwise. */
  async ping(): Promise<void> {
    try {
      await this.client.query(`SELECT 1 FROM ${this.table} LIMIT 0`);
    } catch (err) {
      throw new ExternalError(`offline store: ${describe(err)}`, { cause: err });
    }
  }
}

function toMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Date.parse(v);
  return Number.NaN;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
