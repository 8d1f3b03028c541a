import type { FeatureRow } from '../../operators/operator.js';
import { checkValue, type ValidationRule } from '../features/catalog.js';

/**
 * Checks a row's values against their registry rules (a topology's `featureSet(t).rules`): a
 * failing value is replaced by null and counted under `name:reason`. Values without a rule pass
 * as they are.
 *
 * @example
 * const rules = featureSet(topology).rules;
 * const checked = validateRow(row, invalidCounts, rules);
 */
export function validateRow(
  row: FeatureRow,
  invalid: Record<string, number>,
  rules: ReadonlyMap<string, ValidationRule>,
): FeatureRow {
  let values: Record<string, number | null> | null = null;
  for (const [name, v] of Object.entries(row.values)) {
    const rule = rules.get(name);
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
