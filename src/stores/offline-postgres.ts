import pg from 'pg';
import type { FeatureRow } from '../../operators/operator.js';
import { ConfigError, ExternalError } from '../errors.js';
import { type Migration, migrate, quoteIdent } from './migrate.js';

export interface OfflineStoreOptions {
  /** e.g. `postgres://postgres@127.0.0.1:5432/test`. */
  readonly connectionString: string;
  /** The schema holding the tables. Default `public`. */
  readonly schema?: string;
  /** Sent as `application_name` (visible in `pg_stat_activity`). Default `featurestream`. */
  readonly applicationName?: string;
  /** How long a write keeps retrying on lost connections before it throws. Default 60 000 ms. */
  readonly retryDeadlineMs?: number;
  /** Pool size. Default 4. */
  readonly maxConnections?: number;
  /** Rows per INSERT statement (≤ 1000). Default 1000. */
  readonly chunkSize?: number;
  /** Migrations to apply instead of the shipped ones (tests). */
  readonly migrations?: readonly Migration[];
}

/** A raw record that could not be parsed or validated, kept for audit and replay. */
export interface DeadLetter {
  readonly source: string;
  readonly reason: string;
  readonly payload: string;
}

/** A record that arrived after all of its windows closed. */
export interface LateEvent {
  readonly operatorId: string;
  /** ms since the epoch. */
  readonly eventTime: number;
  readonly payload: string;
}

const MONTH_PARTITION = /^feature_values_p(\d{4})(\d{2})$/;

/**
 * The offline store: PostgreSQL table `feature_values`, range-partitioned by month on
 * `event_time` (partitions `feature_values_pYYYYMM` created on demand), plus `dead_letters` and
 * `late_events`. Feature values are one `jsonb` column (NaN/±∞ become null, as in JSON).
 *
 * Unique key: PostgreSQL needs the partition key in every unique index of a partitioned table,
 * so windowed rows are keyed by (feature_group, entity_type, entity_id, version, window_end,
 * event_time) — the same as the spec's key since event_time = window_end − 1 — and rows without a
 * window by (feature_group, entity_type, entity_id, version, event_time).
 *
 * `writeRows` is idempotent: a duplicate is a no-op and a higher revision replaces. Lost
 * connections (server restart, `pg_terminate_backend`) are retried on a fresh connection with
 * backoff until `retryDeadlineMs`, then {@link ExternalError} is thrown.
 *
 * @example
 * const store = new OfflineStore({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', schema: 'features' });
 * await store.migrate();
 * await store.writeRows(rows);
 * await store.dropPartitionsOlderThan(90);
 * await store.close();
 */
export class OfflineStore {
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly s: string;
  private readonly deadlineMs: number;
  private readonly chunkSize: number;
  private readonly migrations: readonly Migration[] | undefined;
  private readonly knownPartitions = new Set<string>();
  private retryCount = 0;

  constructor(options: OfflineStoreOptions) {
    this.schema = options.schema ?? 'public';
    this.s = quoteIdent(this.schema);
    this.deadlineMs = options.retryDeadlineMs ?? 60_000;
    this.chunkSize = options.chunkSize ?? 1000;
    this.migrations = options.migrations;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1 || this.chunkSize > 1000) {
      throw new ConfigError(`\`chunkSize\` must be an integer in 1…1000, got ${this.chunkSize}`, {
        field: 'chunkSize',
      });
    }
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      application_name: options.applicationName ?? 'featurestream',
      max: options.maxConnections ?? 4,
      options: `-c search_path=${this.s}`,
    });
    // An idle client whose backend died emits here; the pool discards it. Without a listener
    // the process would crash.
    this.pool.on('error', () => {});
  }

  /** How many times an operation was retried after a lost connection (for metrics and tests). */
  get retries(): number {
    return this.retryCount;
  }

  /**
   * Applies pending migrations (idempotent). Returns the versions applied.
   *
   * @example
   * await store.migrate(); // [1], then [] on the next start
   */
  async migrate(): Promise<number[]> {
    return this.withRetry('migrate', async (client) =>
      this.migrations === undefined
        ? migrate(client, this.schema)
        : migrate(client, this.schema, this.migrations),
    );
  }

  /**
   * Writes feature rows in one transaction: creates the month partitions they need, then one
   * multi-row `INSERT … ON CONFLICT … DO UPDATE … WHERE excluded.revision > revision` per chunk.
   * Within a batch, the highest revision of each key wins.
   *
   * @example
   * await store.writeRows([{ group: 'perf_5min', entityType: 'model', entityId: 'gpt-4', version: 1,
   *   windowStart: 0, windowEnd: 300_000, eventTime: 299_999, revision: 0, values: { n: 3 } }]);
   */
  async writeRows(rows: readonly FeatureRow[]): Promise<void> {
    if (rows.length === 0) return;
    const windowed = new Map<string, FeatureRow>();
    const perEvent = new Map<string, FeatureRow>();
    for (const row of rows) {
      const target = row.windowEnd === null ? perEvent : windowed;
      const key = JSON.stringify([
        row.group,
        row.entityType,
        row.entityId,
        row.version,
        row.windowEnd,
        row.eventTime,
      ]);
      const prev = target.get(key);
      if (prev === undefined || row.revision > prev.revision) target.set(key, row);
    }
    const months = new Set<string>();
    for (const row of rows) months.add(monthOf(row.eventTime));
    const created: string[] = [];
    await this.withRetry('writeRows', async (client) => {
      created.length = 0;
      await client.query('BEGIN');
      try {
        for (const month of months) {
          if (this.knownPartitions.has(month)) continue;
          await this.createPartition(client, month);
          created.push(month);
        }
        await this.insertChunks(client, [...windowed.values()], 'window_end IS NOT NULL', true);
        await this.insertChunks(client, [...perEvent.values()], 'window_end IS NULL', false);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
    for (const month of created) this.knownPartitions.add(month);
  }

  /**
   * Keeps dead letters for audit and replay.
   *
   * @example
   * await store.writeDeadLetters([{ source: 'events.ndjson:17', reason: 'missing field ts', payload: line }]);
   */
  async writeDeadLetters(entries: readonly DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    await this.withRetry('writeDeadLetters', async (client) => {
      for (let i = 0; i < entries.length; i += this.chunkSize) {
        const chunk = entries.slice(i, i + this.chunkSize);
        const params: string[] = [];
        const tuples = chunk.map((e) => {
          params.push(e.source, e.reason, e.payload);
          const n = params.length;
          return `($${n - 2}, $${n - 1}, $${n})`;
        });
        await client.query(
          `INSERT INTO ${this.s}.dead_letters (source, reason, payload) VALUES ${tuples.join(',')}`,
          params,
        );
      }
    });
  }

  /**
   * Keeps late events (the late-data side output) for audit and replay.
   *
   * @example
   * await store.writeLateEvents([{ operatorId: 'perf_5min', eventTime: 1_700_000_000_000, payload: line }]);
   */
  async writeLateEvents(entries: readonly LateEvent[]): Promise<void> {
    if (entries.length === 0) return;
    await this.withRetry('writeLateEvents', async (client) => {
      for (let i = 0; i < entries.length; i += this.chunkSize) {
        const chunk = entries.slice(i, i + this.chunkSize);
        const params: string[] = [];
        const tuples = chunk.map((e) => {
          params.push(e.operatorId, new Date(e.eventTime).toISOString(), e.payload);
          const n = params.length;
          return `($${n - 2}, $${n - 1}, $${n})`;
        });
        await client.query(
          `INSERT INTO ${this.s}.late_events (operator_id, event_time, payload) VALUES ${tuples.join(',')}`,
          params,
        );
      }
    });
  }

  /**
   * Retention: drops every month partition whose whole range ends at or before `now − days`
   * (rows are never deleted one by one). Returns the dropped partition names.
   *
   * @example
   * await store.dropPartitionsOlderThan(90); // ['feature_values_p202601']
   */
  async dropPartitionsOlderThan(days: number, now: number = Date.now()): Promise<string[]> {
    if (!(days >= 0)) throw new ConfigError(`retention \`days\` must be ≥ 0, got ${days}`, { field: 'days' });
    const cutoff = now - days * 86_400_000;
    return this.withRetry('dropPartitionsOlderThan', async (client) => {
      const dropped: string[] = [];
      for (const name of await this.listPartitionsWith(client)) {
        const m = MONTH_PARTITION.exec(name);
        if (m === null) continue;
        const end = Date.UTC(Number(m[1]), Number(m[2]), 1); // first instant of the next month
        if (end > cutoff) continue;
        await client.query(`DROP TABLE IF EXISTS ${this.s}.${quoteIdent(name)}`);
        this.knownPartitions.delete(`${m[1]}${m[2]}`);
        dropped.push(name);
      }
      return dropped;
    });
  }

  /**
   * The partitions of `feature_values`, by name, sorted.
   *
   * @example
   * await store.listPartitions(); // ['feature_values_p202610', 'feature_values_p202611']
   */
  async listPartitions(): Promise<string[]> {
    return this.withRetry('listPartitions', (client) => this.listPartitionsWith(client));
  }

  /** Closes the pool. */
  async close(): Promise<void> {
    await this.pool.end();
  }

  private async listPartitionsWith(client: pg.PoolClient): Promise<string[]> {
    const res = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = $1 AND p.relname = 'feature_values'
        ORDER BY 1`,
      [this.schema],
    );
    return res.rows.map((r) => r.name);
  }

  private async createPartition(client: pg.PoolClient, month: string): Promise<void> {
    const y = Number(month.slice(0, 4));
    const m = Number(month.slice(4, 6));
    const from = new Date(Date.UTC(y, m - 1, 1)).toISOString();
    const to = new Date(Date.UTC(y, m, 1)).toISOString();
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${this.s}.${quoteIdent(`feature_values_p${month}`)}
         PARTITION OF ${this.s}.feature_values FOR VALUES FROM ('${from}') TO ('${to}')`,
    );
  }

  private async insertChunks(
    client: pg.PoolClient,
    rows: readonly FeatureRow[],
    predicate: string,
    windowed: boolean,
  ): Promise<void> {
    const conflict = windowed
      ? '(feature_group, entity_type, entity_id, version, window_end, event_time)'
      : '(feature_group, entity_type, entity_id, version, event_time)';
    for (let i = 0; i < rows.length; i += this.chunkSize) {
      const chunk = rows.slice(i, i + this.chunkSize);
      const params: unknown[] = [];
      const tuples = chunk.map((r) => {
        const base = params.length;
        params.push(
          r.entityType,
          r.entityId,
          r.group,
          r.version,
          r.windowStart === null ? null : new Date(r.windowStart).toISOString(),
          r.windowEnd === null ? null : new Date(r.windowEnd).toISOString(),
          new Date(r.eventTime).toISOString(),
          r.revision,
          JSON.stringify(r.values),
        );
        const p = (k: number) => `$${base + k}`;
        return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}::int, ${p(5)}::timestamptz, ${p(6)}::timestamptz, ${p(7)}::timestamptz, ${p(8)}::int, ${p(9)}::jsonb)`;
      });
      await client.query(
        `INSERT INTO ${this.s}.feature_values AS fv
           (entity_type, entity_id, feature_group, version, window_start, window_end, event_time, revision, "values")
         VALUES ${tuples.join(',')}
         ON CONFLICT ${conflict} WHERE ${predicate}
         DO UPDATE SET window_start = excluded.window_start, revision = excluded.revision,
                       "values" = excluded."values", computed_at = now()
         WHERE excluded.revision > fv.revision`,
        params,
      );
    }
  }

  /** Runs `fn` on a pooled client; on a lost connection, discards that client and retries. */
  private async withRetry<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.deadlineMs;
    let delay = 50;
    for (;;) {
      let client: pg.PoolClient | null = null;
      try {
        client = await this.pool.connect();
        const out = await fn(client);
        client.release();
        return out;
      } catch (err) {
        const lost = isConnectionError(err);
        // A client that saw a connection error must not go back to the pool.
        client?.release(lost ? (err instanceof Error ? err : true) : undefined);
        if (!lost) {
          if (err instanceof ConfigError) throw err;
          throw new ExternalError(`PostgreSQL offline store: ${what} failed: ${describe(err)}`, {
            cause: err,
            retryable: false,
          });
        }
        if (Date.now() + delay > deadline) {
          throw new ExternalError(
            `PostgreSQL offline store: ${what} failed, connection lost for ${this.deadlineMs} ms: ${describe(err)}`,
            { cause: err },
          );
        }
        this.retryCount++;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }
}

/** `YYYYMM` (UTC) of a time in ms. */
function monthOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Errors after which a new connection may succeed: class 08 (connection), 57P01–57P03 (shutdown). */
function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  }
  return /Connection terminated|not queryable|Client has encountered a connection error/i.test(err.message);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
