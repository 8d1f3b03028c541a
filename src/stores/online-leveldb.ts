import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { FeatureRow } from '../../operators/operator.js';
import { ConfigError, ExternalError } from '../shared/errors.js';
import { type DirLock, lockDir } from './dir-lock.js';
import type { OnlineKey, OnlineStore, OnlineValue } from './online-store.js';

/** Options of {@link EmbeddedOnlineStore.open}. */
export interface EmbeddedOnlineStoreOptions {
  /** TTL in seconds per feature group; groups not listed use `defaultTtlSeconds`. */
  readonly ttlSecondsByGroup?: Readonly<Record<string, number>>;
  /** Default 86 400 (24 h). */
  readonly defaultTtlSeconds?: number;
  /** Clock for `_computed_at` and expiry. Default `Date.now`. */
  readonly now?: () => number;
  /** The flag named in errors. Default `--online`. */
  readonly flag?: string;
  /** Accepted for symmetry with Redis; a local store has no outage to wait out. */
  readonly retryDeadlineMs?: number;
  readonly onRetry?: (err: unknown, attempt: number) => void;
}

/** What one key holds: the vector, its newer-wins metadata and its expiry (ms since the epoch). */
interface Stored {
  readonly e: number;
  readonly r: number;
  readonly c: number;
  readonly x: number;
  readonly p?: 1;
  readonly v: Record<string, number | null>;
}

const SYNC_KEY = '\u0000sync';

/**
 * The embedded online store: the same keys, rules and interface as {@link RedisOnlineStore},
 * persisted with LevelDB (classic-level) in a directory, so a `serve` process started after the
 * run can read what the run wrote.
 *
 * - Key `feature:{entity_type}:{entity_id}:{group}:v{version}` → one JSON record.
 * - Newer wins (event time, then revision; a provisional row is replaced by any row of the same
 *   event time and revision), TTL per group refreshed by each applied write, an expired vector
 *   reads as missing (expired records are purged on open).
 * - One opener at a time: LevelDB locks the directory, so a second process (or a second
 *   `open` in this one) fails with {@link ExternalError} until the first closes it.
 * - Writes are serialised in the process (read-compare-write per batch, atomic in one LevelDB
 *   batch); `flush()` forces them to disk (fsync).
 *
 * @example
 * const store = await EmbeddedOnlineStore.open('.featurestream/default/online', { ttlSecondsByGroup: { context: 30 } });
 * await store.writeRows(rows);
 * await store.read('model', 'gpt-4', 'perf_5min', 1);
 * await store.close();
 */
export class EmbeddedOnlineStore implements OnlineStore {
  readonly kind = 'embedded' as const;
  readonly location: string;
  private readonly ttlByGroup: Readonly<Record<string, number>>;
  private readonly defaultTtl: number;
  private readonly now: () => number;
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly db: ClassicLevel<string, string>,
    location: string,
    options: EmbeddedOnlineStoreOptions,
    private readonly lock: DirLock,
  ) {
    this.location = location;
    this.ttlByGroup = options.ttlSecondsByGroup ?? {};
    this.defaultTtl = options.defaultTtlSeconds ?? 86_400;
    this.now = options.now ?? Date.now;
  }

  /**
   * Opens (creating if needed) the store in `dir` and purges expired records.
   *
   * @example
   * const store = await EmbeddedOnlineStore.open('.featurestream/default/online');
   */
  static async open(dir: string, options: EmbeddedOnlineStoreOptions = {}): Promise<EmbeddedOnlineStore> {
    const flag = options.flag ?? '--online';
    checkPositiveInt(options.defaultTtlSeconds ?? 86_400, 'defaultTtlSeconds');
    for (const [group, ttl] of Object.entries(options.ttlSecondsByGroup ?? {})) {
      checkPositiveInt(ttl, `ttlSecondsByGroup.${group}`);
    }
    const location = resolve(dir);
    // Our PID-stamped lock first: a busy directory is named with its holder's pid.
    const lock = lockDir(location, `${flag}: store dir`);
    const db = new ClassicLevel<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await mkdir(location, { recursive: true });
      await db.open();
    } catch (err) {
      lock.release();
      const locked = /lock/i.test(describe(err)) || /lock/i.test(describe((err as Error)?.cause));
      throw new ExternalError(
        locked
          ? `${flag}: ${location} is open in another process or store (the embedded online store has one opener at a time; stop it first)`
          : `${flag}: cannot open the embedded online store in ${location}: ${describe(err)}`,
        { cause: err, retryable: locked },
      );
    }
    const store = new EmbeddedOnlineStore(db, location, options, lock);
    try {
      await store.purgeExpired();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }

  /** The key of one (entity, group, version) — the same as Redis's. */
  key(entityType: string, entityId: string, group: string, version: number): string {
    return `feature:${entityType}:${entityId}:${group}:v${version}`;
  }

  /**
   * Applies rows newer-wins in one atomic LevelDB batch.
   *
   * @example
   * await store.writeRows([{ group: 'perf_5min', entityType: 'model', entityId: 'gpt-4', version: 1,
   *   windowStart: 0, windowEnd: 300_000, eventTime: 299_999, revision: 0, values: { n: 3 } }]);
   */
  writeRows(rows: readonly FeatureRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.serialised(async () => {
      const now = this.now();
      // The winner per key within the batch, by the same rule as against the stored record.
      const batch = new Map<string, Stored>();
      for (const row of rows) {
        const key = this.key(row.entityType, row.entityId, row.group, row.version);
        const rec: Stored = {
          e: row.eventTime,
          r: row.revision,
          c: now,
          x: now + (this.ttlByGroup[row.group] ?? this.defaultTtl) * 1000,
          ...(row.provisional === true ? { p: 1 as const } : {}),
          v: { ...row.values },
        };
        const prev = batch.get(key);
        if (prev === undefined || replaces(rec, prev)) batch.set(key, rec);
      }
      const keys = [...batch.keys()];
      const stored = await this.io('write', () => this.db.getMany(keys));
      const ops: Array<{ type: 'put'; key: string; value: string }> = [];
      keys.forEach((key, i) => {
        const raw = stored[i];
        const cur = raw === undefined ? null : (JSON.parse(raw) as Stored);
        const rec = batch.get(key)!;
        if (cur !== null && cur.x > now && !replaces(rec, cur)) return;
        ops.push({ type: 'put', key, value: JSON.stringify(rec) });
      });
      if (ops.length > 0) await this.io('write', () => this.db.batch(ops));
    });
  }

  /**
   * One vector, or null when missing or expired.
   *
   * @example
   * const v = await store.read('model', 'gpt-4', 'perf_5min', 1);
   */
  async read(
    entityType: string,
    entityId: string,
    group: string,
    version: number,
  ): Promise<OnlineValue | null> {
    const [v] = await this.readMany([{ entityType, entityId, group, version }]);
    return v ?? null;
  }

  /**
   * Several vectors, in the order asked.
   *
   * @example
   * await store.readMany([{ entityType: 'model', entityId: 'gpt-4', group: 'perf_5min', version: 1 }]);
   */
  async readMany(keys: readonly OnlineKey[]): Promise<Array<OnlineValue | null>> {
    if (keys.length === 0) return [];
    const raws = await this.io('read', () =>
      this.db.getMany(keys.map((k) => this.key(k.entityType, k.entityId, k.group, k.version))),
    );
    const now = this.now();
    return raws.map((raw) => {
      if (raw === undefined) return null;
      const rec = JSON.parse(raw) as Stored;
      if (rec.x <= now) return null;
      return { values: rec.v, eventTime: rec.e, revision: rec.r, computedAt: rec.c };
    });
  }

  /** Forces everything written so far to disk (a LevelDB write with `sync`). */
  flush(): Promise<void> {
    return this.serialised(() =>
      this.io('flush', () => this.db.put(SYNC_KEY, String(this.now()), { sync: true })),
    );
  }

  /**
   * Deletes expired records; returns how many.
   *
   * @example
   * await store.purgeExpired(); // 12
   */
  purgeExpired(): Promise<number> {
    return this.serialised(async () => {
      const now = this.now();
      const dead: string[] = [];
      await this.io('purge', async () => {
        for await (const [k, v] of this.db.iterator({ gte: 'feature:', lt: 'feature;' })) {
          if ((JSON.parse(v) as Stored).x <= now) dead.push(k);
        }
      });
      if (dead.length > 0) {
        await this.io('purge', () => this.db.batch(dead.map((key) => ({ type: 'del' as const, key }))));
      }
      return dead.length;
    });
  }

  /** Flushes and closes; the directory can then be opened by another process. */
  async close(): Promise<void> {
    if (this.db.status !== 'open') {
      this.lock.release();
      return;
    }
    try {
      await this.flush();
      await this.db.close();
    } finally {
      this.lock.release();
    }
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private async io<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new ExternalError(`embedded online store (${this.location}): ${what} failed: ${describe(err)}`, {
        cause: err,
        retryable: false,
      });
    }
  }
}

/** Whether `next` replaces `cur` under newer-wins (see {@link OnlineStore}). */
function replaces(next: Stored, cur: Stored): boolean {
  if (next.e !== cur.e) return next.e > cur.e;
  if (next.r !== cur.r) return next.r > cur.r;
  return cur.p === 1;
}

function checkPositiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`\`${field}\` must be a positive integer, got ${value}`, { field });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
