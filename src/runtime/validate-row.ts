import type { FeatureRow } from '../../operators/operator.js';
import { checkValue, type ValidationRule } from '../features/catalog.js';
import { llmFeatureSet } from '../features/feature-set.js';

/**
 * Checks a row's values against their registry rules (a topology's `featureSet(t).rules`): a
 * failing value is replaced by null and counted under `name:reason`. Values without a rule pass
 * as they are. `rules` default to the `llm-features` topology's (pass the run topology's).
 *
 * @example
 * const rules = featureSet(topology).rules;
 * const checked = validateRow(row, invalidCounts, rules);
 */
export function validateRow(
  row: FeatureRow,
  invalid: Record<string, number>,
  rules: ReadonlyMap<string, ValidationRule> = llmFeatureSet().rules,
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
