import { isConnectionRefused } from './connection-refused.js';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { redactUrlPasswords, tlsProblem } from '../shared/connections.js';
import { ConfigError, ExternalError, FeaturestreamError, InUseError } from '../shared/errors.js';
import { pgConnectionConfig } from './tls.js';
import { distFile } from '../shared/dist-path.js';
import { type DirLock, LOCK_FILE, lockDir } from './dir-lock.js';
import { quoteIdent } from './migrate.js';

/** Rows of one statement. `rowCount` is the number of rows returned or affected. */
export interface SqlResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

/**
 * One connection's worth of SQL: statements run in order on the same backend, so `BEGIN` …
 * `COMMIT`, temporary settings and advisory locks behave as on any PostgreSQL connection.
 */
export interface SqlSession {
  /** One statement with `$1…` parameters. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /** Several statements separated by `;`, without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * The SQL the stores speak, on a PostgreSQL server (`pg.Pool`) or on PostgreSQL embedded in the
 * process (PGlite): the same statements and migrations run on both.
 *
 * Results are normalised to what both engines return alike: `timestamptz` → `Date`, `jsonb` →
 * parsed value, `float8`/`int4` → number, `text[]` → string[]. `bigint` differs (string on pg,
 * number on PGlite): cast it in SQL (`count(*)::int`) before reading it.
 *
 * Every method takes a `what` naming the operation for error messages. On PostgreSQL a lost
 * connection (server restart, `pg_terminate_backend`) is retried as a whole on a new connection
 * with backoff until the retry deadline — so `fn` must be safe to run again (one transaction, or
 * idempotent statements). Other errors are thrown at once as {@link ExternalError}.
 *
 * @example
 * const client = await openSqlClient('postgres://postgres@127.0.0.1:5432/test?schema=features');
 * const n = await client.query('count', 'SELECT count(*)::int AS n FROM features.feature_values');
 * await client.transaction('move', async (tx) => { await tx.query('…'); await tx.query('…'); });
 * await client.close();
 */
export interface SqlClient {
  readonly kind: 'postgres' | 'embedded';
  /** The schema holding the store's tables. */
  readonly schema: string;
  /** For logs: the URL without password, or `embedded:/abs/dir`. */
  readonly description: string;
  /** How many times an operation was retried after a lost connection. */
  readonly retries: number;
  /** One statement, retried on a lost connection. */
  query<R = Record<string, unknown>>(
    what: string,
    sql: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<R>>;
  /** `fn` on one connection (no transaction), retried as a whole on a lost connection. */
  session<T>(what: string, fn: (s: SqlSession) => Promise<T>): Promise<T>;
  /** `fn` in one transaction, rolled back on error, retried as a whole on a lost connection. */
  transaction<T>(what: string, fn: (s: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Options shared by both engines. */
export interface SqlClientOptions {
  /** Schema for the store's tables; overrides `?schema=` in the URL. Default `public`. */
  readonly schema?: string;
  /** PostgreSQL: `application_name` (visible in `pg_stat_activity`), unless the URL sets one. */
  readonly applicationName?: string;
  /** PostgreSQL: how long an operation retries through lost connections. Default 60 000 ms; may be Infinity. */
  readonly retryDeadlineMs?: number;
  /** PostgreSQL: pool size. Default 4. */
  readonly maxConnections?: number;
  /** Called before each retry after a lost connection (for logging). */
  readonly onRetry?: (err: unknown, attempt: number, what: string) => void;
  /** The flag named in configuration errors. Default `--offline`. */
  readonly flag?: string;
  /**
   * PostgreSQL: a refused connection (nothing listens there) before any connection succeeded
   * fails at once, naming the URL, without retrying — a command's start-up. Once connected, a
   * refusal is an outage (a restart) and is retried like any lost connection. Default false.
   */
  readonly refusedIsFinal?: boolean;
  /**
   * PostgreSQL: told every few seconds while no connection has succeeded yet and the client
   * retries (a server that accepts and never answers, say): a line for the log.
   */
  readonly onWaiting?: (message: string) => void;
  /**
   * Embedded only: start from an empty schema — drop the schema with everything in it, then
   * create it again. The embedded default run starts its stores fresh this way: PGlite opens an
   * existing directory in ~0.8 s where a new one costs an initdb (~4 s here). A directory PGlite
   * cannot open is then emptied (all but its lock file) and made anew: its contents were to go anyway.
   */
  readonly emptySchema?: boolean;
  /**
   * Embedded only, for commands that only read: when another process holds the directory (a
   * `serve`, say), open a snapshot copy of it instead of failing with {@link InUseError}. The
   * copy is taken as a base backup is (the control file first, the WAL last), so PostgreSQL's
   * recovery makes it consistent; it is removed on close. Called with the holder's message.
   */
  readonly snapshotIfInUse?: (inUse: InUseError) => void;
}

/** A parsed `--offline` value. */
export type OfflineSpec =
  | { readonly kind: 'postgres'; readonly connectionString: string; readonly schema: string }
  | { readonly kind: 'embedded'; readonly dir: string; readonly schema: string };

/** Where `--offline embedded` keeps its data. */
export const DEFAULT_EMBEDDED_OFFLINE_DIR = '.featurestream/default/offline';

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Parses an offline-store location: `postgres://…` / `postgresql://…` (an optional `?schema=NAME`
 * query parameter picks the schema; every other parameter goes to the driver), `embedded`
 * (PGlite in {@link DEFAULT_EMBEDDED_OFFLINE_DIR}) or `embedded:DIR`. Anything else is a
 * {@link ConfigError} naming the flag.
 *
 * @example
 * parseOfflineSpec('embedded'); // { kind: 'embedded', dir: '/abs/.featurestream/default/offline', schema: 'public' }
 * parseOfflineSpec('postgres://postgres@127.0.0.1/test?schema=fs'); // { kind: 'postgres', …, schema: 'fs' }
 */
export function parseOfflineSpec(spec: string, flag = '--offline', schemaOverride?: string): OfflineSpec {
  const checkSchema = (schema: string): string => {
    if (!SCHEMA_NAME.test(schema)) {
      throw new ConfigError(
        `${flag}: schema must match ${SCHEMA_NAME.source} (letters, digits, _), got "${schema}"`,
        { field: flag },
      );
    }
    return schema;
  };
  if (spec === 'embedded' || spec.startsWith('embedded:')) {
    const dir = spec === 'embedded' ? DEFAULT_EMBEDDED_OFFLINE_DIR : spec.slice('embedded:'.length);
    if (dir === '') throw new ConfigError(`${flag}: \`embedded:\` needs a directory`, { field: flag });
    return { kind: 'embedded', dir: resolve(dir), schema: checkSchema(schemaOverride ?? 'public') };
  }
  if (/^postgres(ql)?:\/\//.test(spec)) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new ConfigError(`${flag}: not a valid PostgreSQL URL: "${redact(spec)}"`, { field: flag });
    }
    if (url.hostname === '' && !url.searchParams.has('host')) {
      throw new ConfigError(`${flag}: the PostgreSQL URL has no host: "${redact(spec)}"`, { field: flag });
    }
    if (url.port !== '' && !(Number(url.port) > 0 && Number(url.port) < 65_536)) {
      throw new ConfigError(`${flag}: bad port in "${redact(spec)}"`, { field: flag });
    }
    const schema = schemaOverride ?? url.searchParams.get('schema') ?? 'public';
    url.searchParams.delete('schema');
    return { kind: 'postgres', connectionString: url.toString(), schema: checkSchema(schema) };
  }
  throw new ConfigError(
    `${flag}: expected postgres://USER@HOST:PORT/DB[?schema=NAME], embedded or embedded:DIR, got "${redact(spec)}"`,
    { field: flag },
  );
}

/**
 * Opens a {@link SqlClient} for an `--offline` value (see {@link parseOfflineSpec}). The embedded
 * engine takes its directory's lock (one opener at a time) and starts PGlite there (a few seconds
 * on first use: it runs initdb). PostgreSQL connects lazily: the first query meets an outage.
 *
 * @example
 * const client = await openSqlClient('embedded:.featurestream/default/offline');
 */
export async function openSqlClient(
  spec: string | OfflineSpec,
  options: SqlClientOptions = {},
): Promise<SqlClient> {
  const parsed = typeof spec === 'string' ? parseOfflineSpec(spec, options.flag, options.schema) : spec;
  if (parsed.kind === 'postgres')
    return new PostgresSqlClient(parsed.connectionString, parsed.schema, options);
  return EmbeddedSqlClient.open(parsed.dir, { ...options, schema: parsed.schema });
}

/** {@link SqlClient} on a PostgreSQL server through a `pg.Pool`, retrying lost connections. */
export class PostgresSqlClient implements SqlClient {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly deadlineMs: number;
  private readonly onRetry: SqlClientOptions['onRetry'];
  private readonly flag: string;
  private readonly refusedIsFinal: boolean;
  private readonly onWaiting: SqlClientOptions['onWaiting'];
  /** A connection has succeeded once (a refusal after it is an outage, not a wrong address). */
  private everConnected = false;
  private retryCount = 0;

  /**
   * @example
   * const client = new PostgresSqlClient('postgres://postgres@127.0.0.1:5432/test', 'features');
   */
  constructor(connectionString: string, schema = 'public', options: SqlClientOptions = {}) {
    this.schema = schema;
    this.description = redact(connectionString);
    this.deadlineMs = options.retryDeadlineMs ?? 60_000;
    this.onRetry = options.onRetry;
    this.flag = options.flag ?? '--offline';
    this.refusedIsFinal = options.refusedIsFinal ?? false;
    this.onWaiting = options.onWaiting;
    if (!(this.deadlineMs >= 0)) {
      throw new ConfigError(`\`retryDeadlineMs\` must be ≥ 0, got ${this.deadlineMs}`, {
        field: 'retryDeadlineMs',
      });
    }
    const hasAppName = /[?&]application_name=/.test(connectionString);
    // A server that accepts and never answers (or a lost packet) must not hang a connection
    // attempt: each gives up after a while and is retried like any lost connection. On the
    // client only — the pool's own option would also time out waits for a busy pool.
    const connectTimeoutMs = Math.max(1_000, Math.min(5_000, Math.floor(this.deadlineMs / 4)));
    class TimedClient extends pg.Client {
      constructor(config: pg.ClientConfig = {}) {
        super({ ...config, connectionTimeoutMillis: config.connectionTimeoutMillis || connectTimeoutMs });
      }
    }
    this.pool = new pg.Pool({
      // TLS from sslmode and the process's --offline-ca/-cert/-key (src/stores/tls.ts).
      ...pgConnectionConfig(connectionString),
      ...(hasAppName ? {} : { application_name: options.applicationName ?? 'featurestream' }),
      max: options.maxConnections ?? 4,
      Client: TimedClient,
    });
    // An idle client whose backend died emits here; the pool discards it. Without a listener the
    // process would crash.
    this.pool.on('error', () => {});
  }

  get retries(): number {
    return this.retryCount;
  }

  query<R = Record<string, unknown>>(
    what: string,
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<SqlResult<R>> {
    return this.session(what, (s) => s.query<R>(sql, params));
  }

  async session<T>(what: string, fn: (s: SqlSession) => Promise<T>): Promise<T> {
    const start = Date.now();
    const deadline = start + this.deadlineMs;
    // A line every few seconds while no connection has succeeded yet (at least two before the deadline).
    const noticeEvery = Math.max(250, Math.min(5_000, Math.floor(this.deadlineMs / 4)));
    let lastNotice = start;
    let delay = 50;
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient | null = null;
      try {
        client = await this.pool.connect();
        this.everConnected = true;
        // pg-pool drops its error listener while a client is checked out; a backend killed
        // mid-query would then crash the process. The query itself rejects, and is retried here.
        if (!GUARDED.has(client)) {
          GUARDED.add(client);
          client.on('error', () => {});
        }
        const out = await fn(pgSession(client));
        client.release();
        return out;
      } catch (err) {
        const lost = isConnectionError(err);
        // A client that saw a connection error must not go back to the pool.
        client?.release(lost ? (err instanceof Error ? err : true) : undefined);
        if (!lost) {
          if (err instanceof FeaturestreamError) throw err;
          const tls = tlsProblem(err);
          if (tls !== null) {
            throw new ExternalError(
              `PostgreSQL offline store (${this.description}): ${what} failed: ${tls}`,
              {
                cause: err,
                retryable: false,
              },
            );
          }
          // A database that does not exist is a wrong URL (or a step left out), not an outage.
          if ((err as { code?: unknown }).code === '3D000') {
            throw new ConfigError(
              `--offline ${this.description}: ${describe(err)}: create it (createdb) or fix the URL`,
              { field: '--offline', cause: err },
            );
          }
          throw new ExternalError(`PostgreSQL offline store: ${what} failed: ${describe(err)}`, {
            cause: err,
            retryable: false,
          });
        }
        if (this.refusedIsFinal && !this.everConnected && isConnectionRefused(err)) {
          // Nothing listens there: waiting will not change that.
          throw new ExternalError(
            `${this.flag} ${this.description}: connection refused (${describe(err)}): no PostgreSQL listens there; ` +
              'is it running, and are the host and port right?',
            { field: this.flag, cause: err, retryable: false },
          );
        }
        if (!this.everConnected) {
          // Never reached: say what to check, not that a connection was lost.
          const why = isConnectTimeout(err)
            ? 'connected, but no answer to the startup message'
            : describe(err);
          if (Date.now() + delay > deadline) {
            throw new ExternalError(
              `${this.flag} ${this.description}: PostgreSQL not reachable within ${this.deadlineMs} ms (${why}): ` +
                'check the host and port, that it is PostgreSQL that listens there, and any firewall between; ' +
                'FEATURESTREAM_RETRY_DEADLINE_MS sets the wait',
              { field: this.flag, cause: err },
            );
          }
          if (this.onWaiting !== undefined && Date.now() - lastNotice >= noticeEvery) {
            lastNotice = Date.now();
            this.onWaiting(
              `still waiting for ${this.flag} ${this.description}: ${why}; retrying for up to ${Math.round(this.deadlineMs / 1000)} s`,
            );
          }
        }
        if (Date.now() + delay > deadline) {
          throw new ExternalError(
            `PostgreSQL offline store (${this.description}): ${what} failed, connection lost for ${this.deadlineMs} ms: ${describe(err)}`,
            { cause: err },
          );
        }
        this.retryCount++;
        this.onRetry?.(err, attempt, what);
        await sleep(delay + Math.floor(Math.random() * delay * 0.2));
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }

  transaction<T>(what: string, fn: (s: SqlSession) => Promise<T>): Promise<T> {
    return this.session(what, (s) => inTransaction(s, fn));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

const GUARDED = new WeakSet<pg.PoolClient>();

function pgSession(client: pg.PoolClient): SqlSession {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const res = await client.query(sql, params as unknown[]);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

/** Serialises sessions on one PGlite instance: it is one connection. */
const MUTEXES = new WeakMap<PGlite, { tail: Promise<void> }>();

/**
 * {@link SqlClient} on PGlite, PostgreSQL compiled to WebAssembly and run in this process, with
 * its data in a directory. One connection: sessions run one at a time. Durability: a committed
 * write is in the directory's files when its call resolves (it survives the process being
 * killed); PGlite runs with `fsync=off`, so a machine crash may lose recent commits.
 */
export class EmbeddedSqlClient implements SqlClient {
  readonly kind = 'embedded' as const;
  readonly schema: string;
  readonly description: string;
  readonly retries = 0;
  private readonly mutex: { tail: Promise<void> };
  private closed = false;

  private constructor(
    private readonly db: PGlite,
    schema: string,
    description: string,
    private readonly owned: { lock: DirLock } | null,
  ) {
    this.schema = schema;
    this.description = description;
    let m = MUTEXES.get(db);
    if (m === undefined) {
      m = { tail: Promise.resolve() };
      MUTEXES.set(db, m);
    }
    this.mutex = m;
  }

  /**
   * Opens (creating if needed) a PGlite database in `dir`, holding the directory's lock until
   * {@link close}. `dir` null keeps it in memory (tests).
   *
   * @example
   * const client = await EmbeddedSqlClient.open('.featurestream/default/offline');
   */
  static async open(dir: string | null, options: SqlClientOptions = {}): Promise<EmbeddedSqlClient> {
    const flag = options.flag ?? '--offline';
    let lock: DirLock | null;
    let snapshot: string | null = null;
    try {
      lock = dir === null ? null : lockDir(dir, `${flag}: store dir`);
    } catch (err) {
      if (!(err instanceof InUseError) || options.snapshotIfInUse === undefined || dir === null) throw err;
      if (!existsSync(join(dir, 'PG_VERSION'))) throw err;
      options.snapshotIfInUse(err);
      snapshot = snapshotOf(resolve(dir));
      lock = lockDir(snapshot, `${flag}: store dir`);
    }
    const release = () => {
      lock?.release();
      if (snapshot !== null) rmSync(snapshot, { recursive: true, force: true });
    };
    try {
      const db = await startPGlite(
        snapshot ?? (dir === null ? null : resolve(dir)),
        options.emptySchema === true,
      );
      if (options.emptySchema === true) {
        const schema = quoteIdent(options.schema ?? 'public');
        try {
          await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};`);
        } catch (err) {
          await db.close().catch(() => {});
          throw err;
        }
      }
      return new EmbeddedSqlClient(
        db,
        options.schema ?? 'public',
        dir === null
          ? 'embedded:memory'
          : `embedded:${resolve(dir)}${snapshot === null ? '' : ' (a snapshot: the store is in use)'}`,
        { lock: { dir: lock?.dir ?? '', release } },
      );
    } catch (err) {
      release();
      if (err instanceof FeaturestreamError) throw err;
      throw new ExternalError(`${flag}: cannot open the embedded PostgreSQL in ${dir}: ${describe(err)}`, {
        cause: err,
        retryable: false,
      });
    }
  }

  /**
   * A client on a PGlite instance the caller owns (not closed by {@link close}); several clients
   * with different schemas may share one instance.
   *
   * @example
   * const db = await PGlite.create();
   * const a = EmbeddedSqlClient.wrap(db, 'tenant_a');
   */
  static wrap(db: PGlite, schema = 'public'): EmbeddedSqlClient {
    return new EmbeddedSqlClient(db, schema, 'embedded:shared', null);
  }

  query<R = Record<string, unknown>>(
    what: string,
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<SqlResult<R>> {
    return this.session(what, (s) => s.query<R>(sql, params));
  }

  async session<T>(what: string, fn: (s: SqlSession) => Promise<T>): Promise<T> {
    if (this.closed) throw new ExternalError(`embedded offline store: ${what} after close`);
    const prev = this.mutex.tail;
    let done!: () => void;
    this.mutex.tail = new Promise<void>((r) => {
      done = r;
    });
    await prev;
    try {
      return await fn(this.sessionOf());
    } catch (err) {
      if (err instanceof FeaturestreamError) throw err;
      throw new ExternalError(`embedded offline store: ${what} failed: ${describe(err)}`, {
        cause: err,
        retryable: false,
      });
    } finally {
      done();
    }
  }

  transaction<T>(what: string, fn: (s: SqlSession) => Promise<T>): Promise<T> {
    return this.session(what, (s) => inTransaction(s, fn));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.mutex.tail;
    if (this.owned !== null) {
      try {
        await this.db.close();
      } finally {
        this.owned.lock.release();
      }
    }
  }

  private sessionOf(): SqlSession {
    const db = this.db;
    return {
      async query<R>(sql: string, params: readonly unknown[] = []) {
        const res = await db.query<R>(sql, params as unknown[]);
        return { rows: res.rows, rowCount: res.affectedRows || res.rows.length };
      },
      async exec(sql: string) {
        await db.exec(sql);
      },
    };
  }
}

async function inTransaction<T>(s: SqlSession, fn: (s: SqlSession) => Promise<T>): Promise<T> {
  await s.query('BEGIN');
  try {
    const out = await fn(s);
    await s.query('COMMIT');
    return out;
  } catch (err) {
    await s.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Errors after which a new connection may succeed: class 08 (connection), 57P01–57P03 (shutdown). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code)) return true;
  }
  return (
    isConnectTimeout(err) ||
    /Connection terminated|not queryable|Client has encountered a connection error/i.test(err.message)
  );
}

/** A connection attempt that gave up waiting for the server (pg's `connectionTimeoutMillis`). */
function isConnectTimeout(err: unknown): boolean {
  return (
    err instanceof Error &&
    /^(timeout expired|Connection terminated due to connection timeout)$/.test(err.message)
  );
}

/**
 * The fresh PGlite data directory new embedded databases start from, or null (run initdb): the
 * build's (`scripts/pglite-template.mjs` → dist/assets/pglite-template.tar.gz) unless
 * `FEATURESTREAM_PGLITE_TEMPLATE` names another file, or is `none` to always run initdb.
 */
function pgliteTemplate(): Blob | null {
  const chosen = process.env.FEATURESTREAM_PGLITE_TEMPLATE;
  if (chosen === 'none') return null;
  const file =
    chosen !== undefined && chosen !== ''
      ? resolve(chosen)
      : distFile(import.meta.url, 'assets', 'pglite-template.tar.gz');
  if (templateBytes?.file !== file) {
    try {
      templateBytes = { file, blob: new Blob([readFileSync(file)]) };
    } catch {
      return null;
    }
  }
  return templateBytes.blob;
}
/** The template last read (4.5 MB): every new embedded database of the process starts from it. */
let templateBytes: { readonly file: string; readonly blob: Blob } | null = null;

/** Everything in `dir` but its lock file. */
function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name !== LOCK_FILE) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * PGlite in `dir` (null: in memory). A new directory, and memory, start from the build's template
 * data directory (~1.2 s here) instead of running initdb (~3.5–4.3 s); should the template fail,
 * initdb runs. With `remake`, a directory PGlite cannot open (e.g. damaged) is emptied — all but
 * the lock file — and made anew: only for callers that drop its contents anyway
 * ({@link SqlClientOptions.emptySchema}).
 */
/**
 * Copies a PGlite directory that another process holds into a new temporary directory, as a base
 * backup is taken: the control file first, the data files, the WAL last (recovery then replays
 * whatever changed while the files were copied). The lock file is not copied.
 */
function snapshotOf(dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'featurestream-snapshot-'));
  try {
    const control = join('global', 'pg_control');
    cpSync(join(dir, control), join(copy, control));
    cpSync(dir, copy, {
      recursive: true,
      filter: (src) => {
        const rel = src.slice(dir.length + 1);
        return rel !== LOCK_FILE && rel !== 'postmaster.pid' && rel !== control && !rel.startsWith('pg_wal');
      },
    });
    cpSync(join(dir, 'pg_wal'), join(copy, 'pg_wal'), { recursive: true });
    return copy;
  } catch (err) {
    rmSync(copy, { recursive: true, force: true });
    throw new ExternalError(`cannot copy the embedded store in ${dir}: ${describe(err)}`, { cause: err });
  }
}

async function startPGlite(dir: string | null, remake: boolean): Promise<PGlite> {
  if (dir === null || !existsSync(join(dir, 'PG_VERSION'))) {
    const template = pgliteTemplate();
    if (template !== null) {
      try {
        return dir === null
          ? await PGlite.create({ loadDataDir: template })
          : await PGlite.create(dir, { loadDataDir: template });
      } catch {
        if (dir !== null) emptyDir(dir);
      }
    }
    return dir === null ? PGlite.create() : PGlite.create(dir);
  }
  if (!remake) return PGlite.create(dir);
  try {
    return await PGlite.create(dir);
  } catch {
    emptyDir(dir);
    return startPGlite(dir, false);
  }
}

/** The URL with its password replaced by `***`. */
function redact(url: string): string {
  return redactUrlPasswords(url);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A `pg.Pool`-shaped view of a client — `query(text, params) → { rows }` — for code written
 * against a pool (e.g. the serving API's offline reader), so it runs on the embedded engine too.
 * Lost connections are retried as by {@link SqlClient.query}.
 *
 * @example
 * const reader = new OfflineReader(asQueryable(store.client), { schema: store.schema });
 */
export function asQueryable(client: SqlClient): {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
} {
  return { query: (text, params) => client.query('query', text, params ?? []) };
}
