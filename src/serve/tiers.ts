/**
 * The three read tiers behind the serving API: L1 in-process LRU (bounded in bytes, TTL) → L2
 * the Redis online store → L3 the PostgreSQL offline store, read-through.
 *
 * - An L2 or L3 hit fills L1. L1 entries live at most `ttlMs`, and never past the value's own
 *   expiry (L2: `computedAt + group TTL`, as the online store refreshes its TTL on each write;
 *   L3: `eventTime + group TTL`).
 * - L3 hits are *not* written back to L2: the online store belongs to the sink (newer-wins
 *   script, TTL refreshed on write), an L2 miss usually means the value expired there, and a
 *   back-fill would make an expired value live for another full TTL — "an expired value is
 *   reported as missing". L1 already absorbs repeated reads of the same key.
 * - Concurrent misses of one key share one L2/L3 read (single flight). A key invalidated while
 *   its read is in flight is not cached from that read.
 * - A failed L2 read falls through to L3; when there is no L3 (or it fails too) the request fails
 *   with 503 `store_unavailable`.
 *
 * @example
 * const tiers = new TieredReader({ online, offline: new OfflineReader(pool), l1: { maxBytes: 64 << 20, ttlMs: 30_000 } });
 * const r = await tiers.get('model', 'gpt-4', resolver.group('perf_5min')!, 1); // { value, tier: 'l1'|'l2'|'l3'|'none' }
 */
import { LRUCache } from 'lru-cache';
import type { OnlineValue } from '../stores/online-redis.js';
import { RequestError } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import type { OfflineReader } from './offline-reader.js';
import type { GroupPlan } from './resolve.js';
import { toTierValue, type TierValue } from './values.js';

/** The part of `RedisOnlineStore` the server reads through (L2). */
export interface OnlineReader {
  read(entityType: string, entityId: string, group: string, version: number): Promise<OnlineValue | null>;
}

/** Which tier answered a lookup; `none` when no tier had a value. */
export type Outcome = 'l1' | 'l2' | 'l3' | 'none';

/** The answer for one (entity, group, version). */
export interface Lookup {
  readonly value: TierValue | null;
  readonly tier: Outcome;
}

/** L1 sizing. `maxBytes: 0` disables L1. */
export interface L1Options {
  readonly maxBytes: number;
  readonly ttlMs: number;
}

/** Options of a {@link TieredReader}. */
export interface TieredReaderOptions {
  readonly online: OnlineReader | null;
  readonly offline: OfflineReader | null;
  readonly l1: L1Options;
  /** The online store's key prefix, so L1 keys equal online-store keys. Default ''. */
  readonly keyPrefix?: string;
  readonly metrics: ServeMetrics;
  readonly now?: () => number;
  readonly warn?: (msg: string, err: unknown) => void;
}

interface Flight {
  stale: boolean;
  promise: Promise<Lookup>;
}

const NONE: Lookup = Object.freeze({ value: null, tier: 'none' });

/** Rough heap bytes of one L1 entry, so `maxBytes` bounds memory rather than entry count. */
function entryBytes(entry: Lookup, key: string): number {
  let n = 160 + 2 * key.length;
  const values = entry.value?.values;
  for (const name in values) n += 40 + 2 * name.length;
  return n;
}

/**
 * L1 → L2 → L3 read-through with single-flight misses and key invalidation. See the module
 * comment for the rules.
 */
export class TieredReader {
  private readonly online: OnlineReader | null;
  private readonly offline: OfflineReader | null;
  private readonly l1: LRUCache<string, Lookup> | null;
  private readonly l1TtlMs: number;
  private readonly keyPrefix: string;
  private readonly metrics: ServeMetrics;
  private readonly now: () => number;
  private readonly warnFn: (msg: string, err: unknown) => void;
  private readonly inflight = new Map<string, Flight>();
  private l1Active = true;
  private epoch = 0;
  private lastWarn = 0;

  constructor(options: TieredReaderOptions) {
    this.online = options.online;
    this.offline = options.offline;
    this.keyPrefix = options.keyPrefix ?? '';
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
    this.warnFn = options.warn ?? (() => {});
    this.l1TtlMs = options.l1.ttlMs;
    this.l1 =
      options.l1.maxBytes > 0 && options.l1.ttlMs > 0
        ? new LRUCache<string, Lookup>({
            maxSize: options.l1.maxBytes,
            sizeCalculation: entryBytes,
            ttl: options.l1.ttlMs,
            updateAgeOnGet: false,
          })
        : null;
  }

  /** Whether an offline store (L3) is configured: needed for point-in-time reads. */
  get hasOffline(): boolean {
    return this.offline !== null;
  }

  /** Whether L1 is configured. */
  get hasL1(): boolean {
    return this.l1 !== null;
  }

  /** L1 entry count and estimated bytes. */
  l1Stats(): { entries: number; bytes: number } {
    return { entries: this.l1?.size ?? 0, bytes: this.l1?.calculatedSize ?? 0 };
  }

  /** The online-store (and L1) key of one (entity, group, version). */
  key(entityType: string, entityId: string, group: string, version: number): string {
    return `${this.keyPrefix}feature:${entityType}:${entityId}:${group}:v${version}`;
  }

  /**
   * The current value of one (entity, group, version): synchronously on an L1 hit, else a
   * promise. Rejects with {@link RequestError} 503 when the stores fail.
   */
  get(entityType: string, entityId: string, group: GroupPlan, version: number): Lookup | Promise<Lookup> {
    const key = `${this.keyPrefix}feature:${entityType}:${entityId}:${group.group}:v${version}`;
    if (this.l1 !== null && this.l1Active) {
      const hit = this.l1.get(key);
      if (hit !== undefined) {
        this.metrics.cacheLookup('l1', true);
        return hit;
      }
      this.metrics.cacheLookup('l1', false);
    }
    const flight = this.inflight.get(key);
    if (flight !== undefined) return flight.promise;
    return this.startFlight(key, entityType, entityId, group, version);
  }

  /**
   * The L1 entry of one (entity, group, version) when L1 is active and holds it, else undefined;
   * the lookup is not counted (the caller counts it with `metrics.cacheLookup('l1', true)` once it
   * answers from L1, so a fall-back to {@link get} counts it once). Used by the fast path.
   */
  peekL1(entityType: string, entityId: string, group: string, version: number): Lookup | undefined {
    if (this.l1 === null || !this.l1Active) return undefined;
    return this.l1.get(`${this.keyPrefix}feature:${entityType}:${entityId}:${group}:v${version}`);
  }

  /**
   * The value as of `atMs` from L3 (latest `event_time ≤ at`, within the group's TTL); not
   * cached. Rejects with 400 `point_in_time_unavailable` without an offline store.
   */
  async pointInTime(
    entityType: string,
    entityId: string,
    group: GroupPlan,
    version: number,
    atMs: number,
  ): Promise<Lookup> {
    if (this.offline === null) {
      throw new RequestError(
        400,
        'point_in_time_unavailable',
        'at: point-in-time reads need the offline store, and this server runs without one',
        'at',
      );
    }
    const value = await this.readOffline(entityType, entityId, group, version, atMs);
    return value === null ? NONE : { value, tier: 'l3' };
  }

  /** Drops keys (online-store keys) from L1; reads of them in flight will not be cached. */
  invalidate(keys: readonly string[]): void {
    for (const key of keys) {
      this.l1?.delete(key);
      const flight = this.inflight.get(key);
      if (flight !== undefined) {
        flight.stale = true;
        this.inflight.delete(key);
      }
    }
    this.metrics.invalidated(keys.length);
  }

  /** Whether L1 answers now (it is off while the invalidation subscription is down). */
  get l1On(): boolean {
    return this.l1 !== null && this.l1Active;
  }

  /** Empties L1 (e.g. after invalidation messages may have been lost). */
  clear(): void {
    this.epoch++;
    this.l1?.clear();
    for (const flight of this.inflight.values()) flight.stale = true;
    this.inflight.clear();
  }

  /**
   * Turns L1 on or off (off while the invalidation subscription is down, so L1 never serves a
   * value whose invalidation may have been missed). Turning it on empties it first.
   */
  setL1Active(active: boolean): void {
    if (active && !this.l1Active) this.clear();
    this.l1Active = active;
  }

  private startFlight(
    key: string,
    entityType: string,
    entityId: string,
    group: GroupPlan,
    version: number,
  ): Promise<Lookup> {
    const epoch = this.epoch;
    const flight: Flight = { stale: false, promise: undefined as unknown as Promise<Lookup> };
    this.inflight.set(key, flight);
    flight.promise = this.readBelowL1(entityType, entityId, group, version).then(
      (lookup) => {
        if (this.inflight.get(key) === flight) this.inflight.delete(key);
        if (lookup.value !== null && !flight.stale && epoch === this.epoch) this.fill(key, lookup, group);
        return lookup;
      },
      (err: unknown) => {
        if (this.inflight.get(key) === flight) this.inflight.delete(key);
        throw err;
      },
    );
    return flight.promise;
  }

  private fill(key: string, lookup: Lookup, group: GroupPlan): void {
    if (this.l1 === null || !this.l1Active) return;
    const value = lookup.value!;
    const expiresAt = (lookup.tier === 'l2' ? value.computedAt : value.eventTime) + group.ttlMs;
    const ttl = Math.min(this.l1TtlMs, Math.floor(expiresAt - this.now()));
    if (ttl > 0) this.l1.set(key, { value, tier: 'l1' }, { ttl });
  }

  private async readBelowL1(
    entityType: string,
    entityId: string,
    group: GroupPlan,
    version: number,
  ): Promise<Lookup> {
    let l2Error: unknown = null;
    if (this.online !== null) {
      try {
        const v = await this.online.read(entityType, entityId, group.group, version);
        this.metrics.cacheLookup('l2', v !== null);
        if (v !== null) {
          return { value: toTierValue(v.values, v.eventTime, v.revision, v.computedAt), tier: 'l2' };
        }
      } catch (err) {
        l2Error = err;
        this.metrics.storeError('l2');
        this.warn('online store read failed; falling through to the offline store', err);
      }
    }
    if (this.offline !== null) {
      const value = await this.readOffline(entityType, entityId, group, version, this.now());
      return value === null ? NONE : { value, tier: 'l3' };
    }
    if (l2Error !== null) {
      throw new RequestError(
        503,
        'store_unavailable',
        `online store unavailable: ${describe(l2Error)}`,
        undefined,
        l2Error,
      );
    }
    return NONE;
  }

  private async readOffline(
    entityType: string,
    entityId: string,
    group: GroupPlan,
    version: number,
    atMs: number,
  ): Promise<TierValue | null> {
    try {
      const value = await this.offline!.readAt(entityType, entityId, group.group, version, atMs, group.ttlMs);
      this.metrics.cacheLookup('l3', value !== null);
      return value;
    } catch (err) {
      this.metrics.storeError('l3');
      throw new RequestError(
        503,
        'store_unavailable',
        `offline store unavailable: ${describe(err)}`,
        undefined,
        err,
      );
    }
  }

  private warn(msg: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn < 10_000) return;
    this.lastWarn = now;
    this.warnFn(msg, err);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
