/**
 * Reading features for the serving routes: one entity's features through the tiers
 * (synchronously when every group is an L1 hit), `at=` parsing, and the response shapes.
 *
 * @example
 * const reads = new FeatureReads(tiers);
 * const served = reads.serve('model', 'gpt-4', resolver.resolve(['PERF_002'], 'model'), undefined, undefined, null);
 */
import { assignVersion } from '../registry/rollout.js';
import { RequestError } from './errors.js';
import type { FeaturePlan, GroupPlan } from './resolve.js';
import { elapsedMs, round3 } from './timing.js';
import type { Lookup, Outcome, TieredReader } from './tiers.js';
import type { FastifyReply } from 'fastify';

/** The querystring of `GET /features/:entity_type/:entity_id` after validation. */
export interface FeaturesQuery {
  features: string[];
  version?: number;
  at?: string;
  user_id?: string;
}

/** One item of `POST /features/batch`. */
export interface BatchItem {
  entity_type: string;
  entity_id: string;
  features: string[];
  version?: number;
  at?: string;
  user_id?: string;
}

/**
 * Whether a value was found, per value name (as Feast's online API says it): `present`; `null_value`
 * (the entity's row was found but holds no value for it, e.g. a feature never written or invalid);
 * `not_found` (no row of its group for the entity, in any tier: an unknown entity, or expired).
 */
export type ValueStatus = 'present' | 'null_value' | 'not_found';

/** One entity's features, their statuses and metadata. */
export interface Served {
  features: Record<string, number | null>;
  statuses: Record<string, ValueStatus>;
  metadata: {
    computed_at: string | null;
    version: number | Record<string, number>;
    cache_hit: boolean;
    cache_tier: Outcome;
    freshness_seconds: number | null;
  };
}

/** 0001-01-01T00:00:00Z in ms: PostgreSQL has no year 0. */
const YEAR_1 = -62_135_596_800_000;

const RANK: Readonly<Record<Outcome, number>> = { l1: 0, l2: 1, l3: 2, none: 3 };
const BY_RANK: readonly Outcome[] = ['l1', 'l2', 'l3', 'none'];

/** Reads features through the tiers. */
export class FeatureReads {
  constructor(private readonly reader: TieredReader) {}

  /** Reads one entity's features; synchronous when every group is an L1 hit. */
  serve(
    entityType: string,
    entityId: string,
    plan: FeaturePlan,
    version: number | undefined,
    userId: string | undefined,
    atMs: number | null,
  ): Served | Promise<Served> {
    const groups = plan.groups;
    const n = groups.length;
    const lookups = new Array<Lookup>(n);
    const versions = new Array<number>(n);
    let pending: Promise<unknown>[] | null = null;
    for (let i = 0; i < n; i++) {
      const g = groups[i]!;
      const v = FeatureReads.versionOf(g, version, userId);
      versions[i] = v;
      const r =
        atMs === null
          ? this.reader.get(entityType, entityId, g, v)
          : this.reader.pointInTime(entityType, entityId, g, v, atMs);
      if (r instanceof Promise) {
        if (pending === null) pending = [];
        pending.push(
          r.then((x) => {
            lookups[i] = x;
          }),
        );
      } else {
        lookups[i] = r;
      }
    }
    if (pending === null) return assemble(plan, lookups, versions, atMs);
    return Promise.all(pending).then(() => assemble(plan, lookups, versions, atMs));
  }

  /**
   * The version of `g` a request is served: the one it names, else its user's rollout arm, else
   * the group's default.
   */
  static versionOf(g: GroupPlan, version: number | undefined, userId: string | undefined): number {
    return (
      version ??
      (userId !== undefined && g.rollout !== null ? assignVersion(userId, g.rollout) : g.defaultVersion)
    );
  }

  /**
   * The L1 entry of one group at `version` when L1 is active and holds it, else undefined; not
   * counted (the caller counts an answer from L1; a fall-back to {@link serve} counts its own).
   */
  peekL1(entityType: string, entityId: string, g: GroupPlan, version: number): Lookup | undefined {
    return this.reader.peekL1(entityType, entityId, g.group, version);
  }

  /** Parses an `at=` value (RFC 3339, year 1 or later); 400 when invalid or without an offline store. */
  parseAt(at: string | undefined, field: string): number | null {
    if (at === undefined) return null;
    const ms = Date.parse(at);
    if (Number.isNaN(ms)) {
      throw new RequestError(400, 'bad_at', `${field} must be an RFC 3339 timestamp, got "${at}"`, field);
    }
    if (ms < YEAR_1) {
      throw new RequestError(
        400,
        'bad_at',
        `${field} must be 0001-01-01T00:00:00Z or later, got "${at}"`,
        field,
      );
    }
    if (!this.reader.hasOffline) {
      throw new RequestError(
        400,
        'point_in_time_unavailable',
        `${field}: point-in-time reads need the offline store, and this server runs without one`,
        field,
      );
    }
    return ms;
  }
}

/** The response body of `GET /features/...`. */
export function single(entityId: string, s: Served, reply: FastifyReply) {
  return {
    entity_id: entityId,
    features: s.features,
    statuses: s.statuses,
    metadata: s.metadata,
    latency_ms: round3(elapsedMs(reply.request, reply)),
  };
}

/** One result of a batch. */
export function batchItem(it: BatchItem, s: Served) {
  return {
    entity_type: it.entity_type,
    entity_id: it.entity_id,
    features: s.features,
    statuses: s.statuses,
    metadata: s.metadata,
  };
}

/** Puts the looked-up groups together into features and metadata (see server.ts). */
export function assemble(
  plan: FeaturePlan,
  lookups: readonly Lookup[],
  versions: readonly number[],
  atMs: number | null,
): Served {
  const features: Record<string, number | null> = {};
  const statuses: Record<string, ValueStatus> = {};
  const names = plan.names;
  const groupOf = plan.groupOf;
  for (let j = 0; j < names.length; j++) {
    const name = names[j]!;
    const row = lookups[groupOf[j]!]!.value;
    const v = row?.values[name];
    features[name] = v === undefined ? null : v;
    statuses[name] =
      row === null || row === undefined
        ? 'not_found'
        : v === undefined || v === null
          ? 'null_value'
          : 'present';
  }
  let worst = 0;
  let allL1 = true;
  let computedAt = Number.POSITIVE_INFINITY;
  let computedAtIso: string | null = null;
  let oldestEvent = Number.POSITIVE_INFINITY;
  let sameVersion = true;
  for (let i = 0; i < lookups.length; i++) {
    const lk = lookups[i]!;
    const rank = RANK[lk.tier];
    if (rank > worst) worst = rank;
    if (lk.tier !== 'l1') allL1 = false;
    if (versions[i] !== versions[0]) sameVersion = false;
    const value = lk.value;
    if (value !== null) {
      if (value.computedAt < computedAt) {
        computedAt = value.computedAt;
        computedAtIso = value.computedAtIso === '' ? null : value.computedAtIso;
      }
      if (value.eventTime < oldestEvent) oldestEvent = value.eventTime;
    }
  }
  let version: number | Record<string, number> = versions[0]!;
  if (!sameVersion) {
    const byGroup: Record<string, number> = {};
    for (let i = 0; i < plan.groups.length; i++) byGroup[plan.groups[i]!.group] = versions[i]!;
    version = byGroup;
  }
  return {
    features,
    statuses,
    metadata: {
      computed_at: computedAtIso,
      version,
      cache_hit: allL1,
      cache_tier: BY_RANK[worst]!,
      freshness_seconds:
        oldestEvent === Number.POSITIVE_INFINITY ? null : round3(((atMs ?? Date.now()) - oldestEvent) / 1000),
    },
  };
}
