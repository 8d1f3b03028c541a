import { describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { llmFeatureSet } from '../domains/llm/feature-set.js';
import { formatRow } from '../connectors/row-format.js';
import { addRowLineCounts, rowsAsLines, validateRow } from './validate-row.js';

const RULES = llmFeatureSet().rules;

const row = (values: Record<string, number | null>): FeatureRow => ({
  group: 'perf_5min',
  entityType: 'model',
  entityId: 'm',
  version: 1,
  windowStart: 0,
  windowEnd: 300_000,
  eventTime: 299_999,
  revision: 0,
  values,
});

describe('validateRow (registry rules on output values)', () => {
  it('passes valid values through unchanged (the same object)', () => {
    const r = row({ success_rate_5min: 0.9, latency_p95_5min: 1200 });
    const invalid: Record<string, number> = {};
    expect(validateRow(r, invalid, RULES)).toBe(r);
    expect(invalid).toEqual({});
  });

  it('writes a failing value as null and counts it by feature and reason', () => {
    const invalid: Record<string, number> = {};
    const out = validateRow(
      row({ success_rate_5min: 1.5, error_rate_5min: -0.1, latency_p95_5min: 10 }),
      invalid,
      RULES,
    );
    expect(out.values).toEqual({ success_rate_5min: null, error_rate_5min: null, latency_p95_5min: 10 });
    expect(invalid).toEqual({ 'success_rate_5min:above_max': 1, 'error_rate_5min:below_min': 1 });
    validateRow(row({ success_rate_5min: Number.NaN }), invalid, RULES);
    expect(invalid['success_rate_5min:non_finite']).toBe(1);
  });

  it('leaves values without a registry entry alone (custom topologies)', () => {
    const invalid: Record<string, number> = {};
    const r = row({ my_feature: 1e9 });
    expect(validateRow(r, invalid, RULES)).toBe(r);
    expect(invalid).toEqual({});
  });

  it('rowsAsLines: the file sink lines of the validated rows, invalid values and rows by group counted', () => {
    const rows = [
      row({ success_rate_5min: 1.5, latency_p95_5min: 10 }),
      { ...row({ not_in_the_registry: 3 }), group: 'request' },
      row({ success_rate_5min: 0.5, error_rate_5min: -1 }),
    ];
    const invalid: Record<string, number> = {};
    const expected = rows.map((r) => formatRow(validateRow(r, invalid, RULES))).join('');
    const got = rowsAsLines(rows, RULES);
    expect(got.text).toBe(expected);
    expect(got.text).toContain('"success_rate_5min":null');
    expect(got.invalid).toEqual(invalid);
    expect(got.invalid).toEqual({ 'success_rate_5min:above_max': 1, 'error_rate_5min:below_min': 1 });
    expect(got.byGroup).toEqual({ perf_5min: 2, request: 1 });
    // A run's counters take them in (added to what they hold).
    const runInvalid: Record<string, number> = { 'success_rate_5min:above_max': 2 };
    const runGroups: Record<string, number> = { request: 4 };
    addRowLineCounts(got, runInvalid, runGroups);
    expect(runInvalid).toEqual({ 'success_rate_5min:above_max': 3, 'error_rate_5min:below_min': 1 });
    expect(runGroups).toEqual({ request: 5, perf_5min: 2 });
  });
});
