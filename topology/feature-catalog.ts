/**
 * Feature catalogs: what a domain knows of its features independent of any topology — a
 * description, a formula, input event types, a validation rule and the row value names — keyed
 * by feature id. A topology's feature entry names an id; where the entry leaves a field out,
 * the catalog's entry fills it in. Plugins register catalogs (`catalog` in a plugin's default
 * export); the engine ships none.
 *
 * @example
 * registerFeatureCatalog([{ id: 'CLK_001', name: 'views_5min', … }], 'plugin clickstream');
 * featureRules(topology).get('views_5min'); // { min: 0, max: Infinity, nullable: true }
 */
import { ConfigError } from '../src/shared/errors.js';
import type { FeatureMeta, Topology } from './nodes.js';

/** A feature value's validation rule: inclusive bounds, and whether null is allowed. */
export interface ValidationRule {
  readonly min: number;
  readonly max: number;
  readonly nullable: boolean;
}

/** One feature as its domain's catalog describes it. */
export interface FeatureCatalogEntry {
  /** Feature id, e.g. `REQ_001`. */
  readonly id: string;
  /** Feature name, e.g. `prompt_length`. */
  readonly name: string;
  /** The catalog's category (free text, e.g. `request`). */
  readonly category: string;
  /** The group the catalog puts it in. */
  readonly group: string;
  readonly description: string;
  /** The formula text. */
  readonly computation: string;
  /** Input event types. */
  readonly source: readonly string[];
  /** The window the catalog states, or null. */
  readonly window: string | null;
  readonly validation: ValidationRule;
  /** Row value names (usually [name]; a vector feature names each component). */
  readonly valueNames: readonly string[];
  readonly owner: string;
  readonly tags: readonly string[];
}

const entries: FeatureCatalogEntry[] = [];
const byId = new Map<string, FeatureCatalogEntry>();

/**
 * Adds catalog entries (in order); an id already registered is a ConfigError naming `source`.
 */
export function registerFeatureCatalog(list: readonly FeatureCatalogEntry[], source: string): void {
  for (const e of list) {
    if (byId.has(e.id)) {
      throw new ConfigError(`${source}: catalog feature \`${e.id}\` is already registered`, {
        field: '--plugin',
      });
    }
  }
  for (const e of list) {
    entries.push(e);
    byId.set(e.id, e);
  }
}

/** The registered catalog entry of a feature id, or undefined. */
export function catalogEntry(id: string): FeatureCatalogEntry | undefined {
  return byId.get(id);
}

/** Every registered catalog entry, in registration order. */
export function catalogEntries(): readonly FeatureCatalogEntry[] {
  return entries;
}

/**
 * Checks one value against a rule: null when valid, else the reason — `non_finite` (NaN, ±∞),
 * `below_min`, `above_max` (bounds inclusive), or `null_not_allowed`.
 *
 * @example
 * checkValue({ min: 0, max: 1, nullable: true }, null); // null
 * checkValue({ min: 0, max: 1, nullable: false }, Number.NaN); // 'non_finite'
 */
export function checkValue(
  rule: ValidationRule,
  value: number | null,
): null | 'non_finite' | 'below_min' | 'above_max' | 'null_not_allowed' {
  if (value === null) return rule.nullable ? null : 'null_not_allowed';
  if (!Number.isFinite(value)) return 'non_finite';
  if (value < rule.min) return 'below_min';
  if (value > rule.max) return 'above_max';
  return null;
}

/** A feature entry's own rule (absent bounds open, nullable by default), else `fallback`. */
export function ruleOf(meta: FeatureMeta, fallback: ValidationRule | undefined): ValidationRule | undefined {
  const v = meta.validation;
  if (v === undefined) return fallback;
  return Object.freeze({
    min: v.min ?? Number.NEGATIVE_INFINITY,
    max: v.max ?? Number.POSITIVE_INFINITY,
    nullable: v.nullable ?? true,
  });
}

/**
 * The validation rules of a topology's row values, by value name: each feature entry's own rule,
 * else its catalog entry's. Values without a rule are not checked.
 */
export function featureRules(t: Topology): ReadonlyMap<string, ValidationRule> {
  const rules = new Map<string, ValidationRule>();
  for (const n of t.nodes) {
    if (n.kind !== 'window' && n.kind !== 'process') continue;
    const features: readonly (FeatureMeta & { id: string; name: string; values?: readonly string[] })[] =
      n.features;
    for (const f of features) {
      const c = byId.get(f.id);
      const rule = ruleOf(f, c?.validation);
      if (rule === undefined) continue;
      for (const v of f.values ?? c?.valueNames ?? [f.name]) rules.set(v, rule);
    }
  }
  return rules;
}
