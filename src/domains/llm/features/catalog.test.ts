import { describe, expect, it } from 'vitest';
import { CATALOG_ENTRIES, type FeatureGroup, checkValue } from './catalog.js';
import { llmFeatureSet } from '../feature-set.js';

// The registry's view: the catalog joined with the groups of the shipped llm-features topology.
const LLM = llmFeatureSet();
const FEATURE_CATALOG = LLM.features;
const GROUPS = LLM.groups;
const featureByIdOrName = LLM.byIdOrName;
const featuresOfGroup = LLM.ofGroup;

const range = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}_${String(i + 1).padStart(3, '0')}`);

const EXPECTED_IDS = [
  ...range('REQ', 15),
  ...range('MDL', 10),
  ...range('PERF', 12),
  ...range('FDBK', 8),
  ...range('CTX', 10),
  ...range('DRV', 10),
];

describe('FEATURE_CATALOG', () => {
  it('holds exactly the 65 family-A ids, in catalog order', () => {
    expect(EXPECTED_IDS).toHaveLength(15 + 10 + 12 + 8 + 10 + 10);
    expect(CATALOG_ENTRIES.map((f) => f.id)).toEqual(EXPECTED_IDS);
    expect(FEATURE_CATALOG.map((f) => f.id)).toEqual(EXPECTED_IDS);
    // The topology puts every catalog feature in the group feature-catalog.md gives it.
    for (const c of CATALOG_ENTRIES) expect(featureByIdOrName(c.id)?.group).toBe(c.group);
  });

  it('has unique names and 72 value names in all (DRV_001 has 8)', () => {
    const names = FEATURE_CATALOG.map((f) => f.name);
    expect(new Set(names).size).toBe(65);
    const values = FEATURE_CATALOG.flatMap((f) => f.valueNames);
    expect(values).toHaveLength(65 - 1 + 8);
    expect(new Set(values).size).toBe(72);
    expect(featureByIdOrName('DRV_001')!.valueNames).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `prompt_embedding_${i}`),
    );
    for (const f of FEATURE_CATALOG) if (f.id !== 'DRV_001') expect(f.valueNames).toEqual([f.name]);
  });

  it('keeps the public names of the spec', () => {
    const pairs: Record<string, string> = {
      REQ_001: 'prompt_length',
      REQ_014: 'session_depth',
      REQ_015: 'user_tier',
      MDL_009: 'model_provider',
      PERF_002: 'latency_p95_5min',
      PERF_012: 'retry_rate_5min',
      FDBK_006: 'avg_response_time_user',
      FDBK_008: 'follow_up_rate_session',
      CTX_008: 'recent_timeout_rate_5min',
      CTX_010: 'region_load',
      DRV_010: 'pareto_efficiency_score',
    };
    for (const [id, name] of Object.entries(pairs)) expect(featureByIdOrName(id)?.name).toBe(name);
  });

  it('puts every feature in the group and entity of its section', () => {
    const entityOf = new Map(GROUPS.map((g) => [g.group, g.entity]));
    for (const f of FEATURE_CATALOG) {
      expect(f.entity).toBe(entityOf.get(f.group));
      expect(f.version).toBe(1);
      expect(f.source.length).toBeGreaterThan(0);
      expect(f.computation.length).toBeGreaterThan(0);
      expect(f.freshnessSlaSeconds).toBeGreaterThan(0);
    }
    const ids = (g: FeatureGroup) => featuresOfGroup(g).map((f) => f.id);
    expect(ids('request')).toEqual(range('REQ', 15));
    expect(ids('model_static')).toEqual(range('MDL', 10));
    expect(ids('perf_1hr')).toEqual(['PERF_004', 'PERF_005', 'PERF_007']);
    expect(ids('perf_5min')).toHaveLength(9);
    expect(ids('feedback_session')).toEqual(['FDBK_001', 'FDBK_005', 'FDBK_006', 'FDBK_008']);
    expect(ids('feedback_1hr')).toEqual(['FDBK_002', 'FDBK_003', 'FDBK_004', 'FDBK_007']);
    expect(ids('timeout_5min')).toEqual(['CTX_008']);
    expect(ids('context')).toEqual(range('CTX', 10).filter((id) => id !== 'CTX_008'));
    expect(ids('derived')).toEqual(range('DRV', 10));
    const ctx8 = featureByIdOrName('CTX_008')!;
    expect([ctx8.category, ctx8.group, ctx8.entity]).toEqual(['context', 'timeout_5min', 'model']);
    expect(ctx8.source).toEqual(['performance_metrics']);
    expect(featuresOfGroup('request').every((f) => f.window === null)).toBe(true);
    expect(featureByIdOrName('PERF_001')!.window).toBe('tumbling 5m, lateness 60s');
  });

  it('has the 9 groups with their entities and TTLs', () => {
    expect(GROUPS.map((g) => [g.group, g.entity])).toEqual([
      ['request', 'request'],
      ['model_static', 'model'],
      ['perf_5min', 'model'],
      ['perf_1hr', 'model'],
      ['feedback_session', 'session'],
      ['feedback_1hr', 'user'],
      ['context', 'system'],
      ['timeout_5min', 'model'],
      ['derived', 'request'],
    ]);
    for (const g of GROUPS) expect(g.ttlSeconds).toBe(g.group === 'context' ? 30 : 24 * 3600);
    // Every group holds at least one feature, and every feature's group is listed.
    for (const g of GROUPS) expect(featuresOfGroup(g.group).length).toBeGreaterThan(0);
    expect(GROUPS.reduce((n, g) => n + featuresOfGroup(g.group).length, 0)).toBe(65);
  });

  it('has validation ranges that follow the formulas', () => {
    const rule = (id: string) => featureByIdOrName(id)!.validation;
    expect(rule('REQ_001')).toEqual({ min: 0, max: 1, nullable: true });
    expect(rule('REQ_009')).toEqual({ min: -1, max: 1, nullable: false });
    expect(rule('REQ_013').nullable).toBe(false);
    expect(rule('REQ_006').max).toBe((2 ** 32 - 1) / 2 ** 32);
    expect(rule('PERF_001')).toEqual({ min: 0, max: Number.POSITIVE_INFINITY, nullable: true });
    expect(rule('FDBK_001')).toEqual({ min: 1, max: 5, nullable: true });
    expect(rule('DRV_004')).toEqual({ min: -1, max: 1, nullable: true });
    expect(rule('prompt_embedding_1')).toEqual({ min: -1, max: 1, nullable: true });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(FEATURE_CATALOG)).toBe(true);
    expect(Object.isFrozen(FEATURE_CATALOG[0])).toBe(true);
    expect(Object.isFrozen(FEATURE_CATALOG[0]!.validation)).toBe(true);
  });
});

describe('featureByIdOrName', () => {
  it('finds ids, names and DRV_001 value names', () => {
    expect(featureByIdOrName('PERF_002')?.name).toBe('latency_p95_5min');
    expect(featureByIdOrName('latency_p95_5min')?.id).toBe('PERF_002');
    expect(featureByIdOrName('prompt_embedding')?.id).toBe('DRV_001');
    expect(featureByIdOrName('prompt_embedding_8')?.id).toBe('DRV_001');
    expect(featureByIdOrName('prompt_embedding_9')).toBeUndefined();
    expect(featureByIdOrName('perf_002')).toBeUndefined();
    expect(featureByIdOrName('')).toBeUndefined();
  });
});

describe('checkValue', () => {
  const unit = { min: 0, max: 1, nullable: true };
  it('accepts values in the inclusive range and null when nullable', () => {
    expect(checkValue(unit, 0)).toBeNull();
    expect(checkValue(unit, 1)).toBeNull();
    expect(checkValue(unit, null)).toBeNull();
  });
  it('names the reason', () => {
    expect(checkValue(unit, -0.001)).toBe('below_min');
    expect(checkValue(unit, 1.001)).toBe('above_max');
    expect(checkValue({ ...unit, nullable: false }, null)).toBe('null_not_allowed');
    expect(checkValue(unit, Number.NaN)).toBe('non_finite');
    expect(
      checkValue({ min: 0, max: Number.POSITIVE_INFINITY, nullable: true }, Number.POSITIVE_INFINITY),
    ).toBe('non_finite');
    expect(checkValue({ min: 0, max: Number.POSITIVE_INFINITY, nullable: true }, 1e300)).toBeNull();
  });
});
