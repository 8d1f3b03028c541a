import type { FeatureRow } from '../../operators/operator.js';
import { checkValue, type ValidationRule } from '../../topology/feature-catalog.js';
import { formatRow } from '../connectors/row-format.js';
import type { RowLines } from './protocol.js';

/**
 * Checks a row's values against their registry rules (a topology's `featureRules(t)`): a
 * failing value is replaced by null and counted under `name:reason`. Values without a rule pass
 * as they are.
 *
 * @example
 * const rules = featureRules(topology);
 * const checked = validateRow(row, invalidCounts, rules);
 */
export function validateRow(
  row: FeatureRow,
  invalid: Record<string, number>,
  rules: ReadonlyMap<string, ValidationRule>,
): FeatureRow {
  let values: Record<string, number | null> | null = null;
  // Object.keys, not Object.entries: no pair per value (every row of a run passes here).
  const names = Object.keys(row.values);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const v = row.values[name]!;
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

/** Adds the counts of rows a worker validated ({@link rowsAsLines}) to a run's counters. */
export function addRowLineCounts(
  lines: RowLines,
  invalid: Record<string, number>,
  rowsByGroup: Record<string, number>,
): void {
  for (const [k, n] of Object.entries(lines.invalid)) invalid[k] = (invalid[k] ?? 0) + n;
  for (const [g, n] of Object.entries(lines.byGroup)) rowsByGroup[g] = (rowsByGroup[g] ?? 0) + n;
}

/**
 * Validates rows ({@link validateRow}) and formats them as the file sink's lines, counting the
 * invalid values and the rows by group: what a shard worker sends back in place of the rows when
 * the coordinator only writes lines.
 */
export function rowsAsLines(
  rows: readonly FeatureRow[],
  rules: ReadonlyMap<string, ValidationRule>,
): RowLines {
  const invalid: Record<string, number> = {};
  const byGroup: Record<string, number> = {};
  let text = '';
  for (const raw of rows) {
    const r = validateRow(raw, invalid, rules);
    byGroup[r.group] = (byGroup[r.group] ?? 0) + 1;
    text += formatRow(r);
  }
  return { text, invalid, byGroup };
}
