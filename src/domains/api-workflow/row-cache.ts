/**
 * An in-process view of the api-workflow rows for `/workflow/rank-features`: a {@link RowReader}
 * in front of the online store that keeps the rows it has read (session, n-gram, transition and
 * popularity rows) and reads only the missing ones, in one `readMany`. A warm session is then
 * ranked without a store round trip.
 *
 * Freshness follows L1's rules (tiers.ts): entries live at most `ttlMs`; when the server runs with
 * the Redis invalidation channel, every key the sink writes is dropped at once
 * ({@link CachedRowReader.invalidate}), and while the subscription is down the cache is off and
 * emptied when it is back ({@link CachedRowReader.setActive}). A read in flight when one of its
 * keys is invalidated is not cached. Missing rows are cached too (a session not seen yet), so a
 * cold start costs no read either until the sink writes the row.
 *
 * @example
 * const rows = new CachedRowReader(store, { ttlMs: 30_000 });
 * const ranker = new StoreRanker({ store: rows, ... });
 * subscribeInvalidations({ ..., onKeys: (keys) => rows.invalidate(keys) });
 */
import { LRUCache } from 'lru-cache';
import type { OnlineKey, OnlineValue } from '../../stores/online-store.js';
import type { RowReader } from './store-ranker.js';

/** Options of {@link CachedRowReader}. */
export interface RowCacheOptions {
  /** Longest life of an entry (ms); 0 turns the cache off. */
  readonly ttlMs: number;
  /** Most rows kept. Default 200 000. */
  readonly maxRows?: number;
  /** The online store's key prefix, so cache keys equal the keys invalidation messages carry. */
  readonly keyPrefix?: string;
}

/** Row cache counters since start. */
export interface RowCacheStats {
  hits: number;
  misses: number;
  invalidated: number;
}

const MISSING = Symbol('missing');
type Entry = OnlineValue | typeof MISSING;

/** A caching {@link RowReader}; see the module comment. */
export class CachedRowReader implements RowReader {
  private readonly cache: LRUCache<string, Entry> | null;
  private readonly prefix: string;
  private active = true;
  /** Bumped by every invalidation and clear: a read started before is not cached. */
  private epoch = 0;
  readonly stats: RowCacheStats = { hits: 0, misses: 0, invalidated: 0 };

  constructor(
    private readonly store: RowReader,
    options: RowCacheOptions,
  ) {
    if (!(options.ttlMs >= 0)) throw new RangeError(`row cache \`ttlMs\` must be ≥ 0, got ${options.ttlMs}`);
    this.prefix = options.keyPrefix ?? '';
    this.cache =
      options.ttlMs > 0
        ? new LRUCache<string, Entry>({
            max: options.maxRows ?? 200_000,
            ttl: options.ttlMs,
            updateAgeOnGet: false,
          })
        : null;
  }

  /** The store key of one row (as the sink writes and publishes it). */
  key(k: OnlineKey): string {
    return `${this.prefix}feature:${k.entityType}:${k.entityId}:${k.group}:v${k.version}`;
  }

  /** The rows, in the order asked; only the ones not cached are read, in one `readMany`. */
  async readMany(keys: readonly OnlineKey[]): Promise<Array<OnlineValue | null>> {
    const cache = this.active ? this.cache : null;
    if (cache === null) return this.store.readMany(keys);
    const out = new Array<OnlineValue | null>(keys.length);
    const names = new Array<string>(keys.length);
    let missing: number[] | null = null;
    for (let i = 0; i < keys.length; i++) {
      const name = this.key(keys[i]!);
      names[i] = name;
      const hit = cache.get(name);
      if (hit !== undefined) out[i] = hit === MISSING ? null : hit;
      else if (missing === null) missing = [i];
      else missing.push(i);
    }
    this.stats.hits += keys.length - (missing?.length ?? 0);
    if (missing === null) return out;
    this.stats.misses += missing.length;
    const epoch = this.epoch;
    const read = await this.store.readMany(missing.map((i) => keys[i]!));
    // Cached only when nothing was invalidated meanwhile (cheap and safe: rare, and only skips caching).
    const fill = epoch === this.epoch && this.active;
    for (let j = 0; j < missing.length; j++) {
      const i = missing[j]!;
      const v = read[j] ?? null;
      out[i] = v;
      if (fill) cache.set(names[i]!, v === null ? MISSING : v);
    }
    return out;
  }

  /** Drops rows by store key (the keys of one invalidation message). */
  invalidate(keys: readonly string[]): void {
    if (this.cache === null) return;
    this.epoch++;
    for (const k of keys) if (this.cache.delete(k)) this.stats.invalidated++;
  }

  /** Empties the cache. */
  clear(): void {
    this.epoch++;
    this.cache?.clear();
  }

  /** Turns the cache off (invalidations may be missed) or on again (emptied first). */
  setActive(active: boolean): void {
    if (active && !this.active) this.clear();
    if (!active) this.epoch++;
    this.active = active;
  }

  /** Rows held. */
  get size(): number {
    return this.cache?.size ?? 0;
  }
}
