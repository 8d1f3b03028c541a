import type { FeatureRow } from '../../operators/operator.js';
import { checkValue, FEATURE_CATALOG, type ValidationRule } from '../features/catalog.js';

/** Registry rules by row value name (DRV_001's eight values share one rule). */
const RULES: ReadonlyMap<string, ValidationRule> = new Map(
  FEATURE_CATALOG.flatMap((f) => f.valueNames.map((n) => [n, f.validation] as const)),
);

/**
 * Checks a row's values against their registry rules: a failing value is replaced by null and
 * counted under `name:reason`. Values without a registry entry (custom topologies) pass as is.
 */
export function validateRow(row: FeatureRow, invalid: Record<string, number>): FeatureRow {
  let values: Record<string, number | null> | null = null;
  for (const [name, v] of Object.entries(row.values)) {
    const rule = RULES.get(name);
    if (rule === undefined) continue;
    const reason = checkValue(rule, v);
    if (reason === null) continue;
    values ??= { ...row.values };
    values[name] = null;
    const k = `${name}:${reason}`;
    invalid[k] = (invalid[k] ?? 0) + 1;
  }
  return values === null ? row : { ...row, values };
}
