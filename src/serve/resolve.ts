/**
 * Resolution of a request's `features` list (ids, names or value names) to the feature groups to
 * read and the value names to return, precomputed from the catalog once and memoised per distinct
 * list, so the hot path does one map lookup.
 *
 * @example
 * const resolver = new FeatureResolver();
 * const plan = resolver.resolve(['PERF_001,latency_p95_5min'], 'model');
 * plan.groups.map((g) => g.group); // ['perf_5min']
 */
import type { FeatureDef, FeatureSet, GroupDef } from '../registry/feature-set.js';
import { type RolloutArm, validateRollout } from '../registry/rollout.js';
import { ConfigError } from '../shared/errors.js';
import { RequestError } from './errors.js';

/** One group a request reads. */
export interface GroupPlan {
  readonly group: string;
  readonly entity: string;
  /** The group's TTL in ms: a value older than this is missing. */
  readonly ttlMs: number;
  /** The version served when the request names none and no rollout applies. */
  readonly defaultVersion: number;
  /** The group's rollout, or null. */
  readonly rollout: readonly RolloutArm[] | null;
}

/** The resolved read of one `features` list. */
export interface FeaturePlan {
  readonly entity: string;
  readonly groups: readonly GroupPlan[];
  /** The value names to return, in request order, each with the index of its group in `groups`. */
  readonly names: readonly string[];
  readonly groupOf: readonly number[];
}

/** Options of a {@link FeatureResolver}. */
export interface ResolverOptions {
  /** Per-group rollouts (group → arms); validated here. */
  readonly rollout?: Readonly<Record<string, readonly RolloutArm[]>>;
  /** Per-group TTL overrides in seconds (default: the catalog's `ttlSeconds`). */
  readonly ttlSecondsByGroup?: Readonly<Record<string, number>>;
  /** The features and groups served. */
  readonly featureSet: FeatureSet;
  /** How many distinct `features` lists to memoise. Default 4096. */
  readonly memoSize?: number;
}

/**
 * Resolves `features` lists against the catalog. Tokens are comma-separated (a list may also be
 * repeated), trimmed, empty ones skipped, duplicates collapsed. A feature id or name stands for
 * all its value names (DRV_001 → prompt_embedding_1 … 8); a value name stands for itself.
 *
 * @example
 * new FeatureResolver().resolve(['DRV_001'], 'request').names.length; // 8
 */
export class FeatureResolver {
  /** Entity types known to the catalog. */
  readonly entities: ReadonlySet<string>;
  private readonly groups: ReadonlyMap<string, GroupPlan>;
  private readonly memo = new Map<string, FeaturePlan>();
  private readonly memoSize: number;
  private readonly set: FeatureSet;

  constructor(options: ResolverOptions) {
    this.memoSize = options.memoSize ?? 4096;
    this.set = options.featureSet;
    const groups = this.set.groups;
    this.entities = new Set(groups.map((g) => g.entity));
    const rollout = options.rollout ?? {};
    const ttl = options.ttlSecondsByGroup ?? {};
    const known = new Set(groups.map((g) => g.group));
    for (const [group, arms] of Object.entries(rollout)) {
      if (!known.has(group)) {
        throw new ConfigError(
          `\`rollout.${group}\`: unknown feature group (known: ${[...known].join(', ')})`,
          {
            field: `rollout.${group}`,
          },
        );
      }
      validateRollout(arms, `rollout.${group}`);
    }
    for (const [group, seconds] of Object.entries(ttl)) {
      if (!known.has(group)) {
        throw new ConfigError(`\`ttlSecondsByGroup.${group}\`: unknown feature group`, {
          field: `ttlSecondsByGroup.${group}`,
        });
      }
      if (!(Number.isFinite(seconds) && seconds > 0)) {
        throw new ConfigError(`\`ttlSecondsByGroup.${group}\` must be > 0, got ${seconds}`, {
          field: `ttlSecondsByGroup.${group}`,
        });
      }
    }
    this.groups = new Map(
      groups.map((g: GroupDef) => [
        g.group,
        Object.freeze({
          group: g.group,
          entity: g.entity,
          ttlMs: (ttl[g.group] ?? g.ttlSeconds) * 1000,
          defaultVersion: g.version,
          rollout: rollout[g.group] ?? null,
        }),
      ]),
    );
  }

  /** The plan of one group, or undefined. */
  group(name: string): GroupPlan | undefined {
    return this.groups.get(name);
  }

  /**
   * Resolves a `features` list for an entity type. Throws {@link RequestError}: 400
   * `unknown_entity_type`, `missing_features`, `unknown_feature`, `entity_type_mismatch`;
   * `field` names the parameter in messages.
   */
  resolve(features: readonly string[], entityType: string, field = 'features'): FeaturePlan {
    const raw = features.length === 1 ? features[0]! : features.join(',');
    let plan = this.memo.get(raw);
    if (plan === undefined) {
      plan = this.build(raw, field);
      if (this.memo.size >= this.memoSize) this.memo.clear();
      this.memo.set(raw, plan);
    }
    if (plan.entity !== entityType) this.entityMismatch(plan, raw, entityType, field);
    return plan;
  }

  private entityMismatch(plan: FeaturePlan, raw: string, entityType: string, field: string): never {
    if (!this.entities.has(entityType)) {
      throw new RequestError(
        400,
        'unknown_entity_type',
        `unknown entity type "${entityType}" (known: ${[...this.entities].join(', ')})`,
        'entity_type',
      );
    }
    const first = tokens(raw).find((t) => this.set.byIdOrName(t)?.entity !== entityType) ?? raw;
    throw new RequestError(
      400,
      'entity_type_mismatch',
      `${field}: feature "${first}" belongs to entity type "${plan.entity}", not "${entityType}"`,
      field,
    );
  }

  private build(raw: string, field: string): FeaturePlan {
    const list = tokens(raw);
    if (list.length === 0) {
      throw new RequestError(
        400,
        'missing_features',
        `${field}: list at least one feature id or name, e.g. ${field}=PERF_001,latency_p95_5min`,
        field,
      );
    }
    const groups: GroupPlan[] = [];
    const names: string[] = [];
    const groupOf: number[] = [];
    const seen = new Set<string>();
    let entity: string | null = null;
    let entitySource = '';
    for (const token of list) {
      const def: FeatureDef | undefined = this.set.byIdOrName(token);
      if (def === undefined) {
        throw new RequestError(
          400,
          'unknown_feature',
          `${field}: unknown feature "${token}" (GET /registry/features lists the ids and names)`,
          field,
        );
      }
      if (entity === null) {
        entity = def.entity;
        entitySource = token;
      } else if (def.entity !== entity) {
        throw new RequestError(
          400,
          'entity_type_mismatch',
          `${field}: "${entitySource}" is a feature of entity type "${entity}" but "${token}" of "${def.entity}"; request them separately`,
          field,
        );
      }
      const group = this.groups.get(def.group)!;
      let gi = groups.indexOf(group);
      if (gi < 0) gi = groups.push(group) - 1;
      const valueNames = token === def.id || token === def.name ? def.valueNames : [token];
      for (const name of valueNames) {
        if (seen.has(name)) continue;
        seen.add(name);
        names.push(name);
        groupOf.push(gi);
      }
    }
    return Object.freeze({
      entity: entity!,
      groups: Object.freeze(groups),
      names: Object.freeze(names),
      groupOf: Object.freeze(groupOf),
    });
  }
}

function tokens(raw: string): string[] {
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const t = part.trim();
    if (t !== '') out.push(t);
  }
  return out;
}
