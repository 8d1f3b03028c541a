import { describe, expect, it } from 'vitest';
import { checkValue, featuresOfGroup } from './catalog.js';
import { contextFeatures, instantMs } from './context.js';

const TS = Date.UTC(2025, 0, 15, 10, 0);
const HOUR = 3_600_000;

const health = {
  component: 'gpt-4',
  status: 'healthy',
  cpu_usage: 0.45,
  memory_usage: 6_000,
  active_requests: 30,
  queue_depth: 9,
  error_rate: 0.01,
  metrics: {
    memory_limit: 8_000,
    max_concurrency: 120,
    budget_remaining: 250,
    budget_total: 1_000,
    budget_reset_at: TS + 6 * HOUR,
    api_quota_remaining: 0.8,
    region_load: 0.3,
  },
};

describe('contextFeatures', () => {
  it('computes CTX_001–CTX_007, CTX_009, CTX_010', () => {
    const v = contextFeatures(health, TS, 0.75);
    expect(v.system_load_cpu).toBe(0.45);
    expect(v.system_load_memory).toBeCloseTo(6_000 / 8_000, 15);
    expect(v.queue_depth_requests).toBeCloseTo(Math.log(1 + 9) / Math.log(1001), 15);
    expect(v.concurrent_requests).toBeCloseTo(30 / 120, 15);
    expect(v.available_budget_ratio).toBeCloseTo(250 / 1_000, 15);
    expect(v.time_until_budget_reset).toBeCloseTo(6 / 24, 15);
    expect(v.model_availability).toBe(0.75);
    expect(v.api_quota_remaining).toBe(0.8);
    expect(v.region_load).toBe(0.3);
    const names = featuresOfGroup('context').map((f) => f.name);
    expect(Object.keys(v).sort()).toEqual([...names].sort());
    for (const f of featuresOfGroup('context')) {
      expect(checkValue(f.validation, (v as Record<string, number | null>)[f.name]!), f.id).toBeNull();
    }
  });

  it('reads budget_reset_at as epoch ms or RFC 3339, and clamps it', () => {
    const at = (reset: unknown) =>
      contextFeatures({ ...health, metrics: { budget_reset_at: reset } }, TS, null).time_until_budget_reset;
    expect(at('2025-01-15T13:00:00Z')).toBeCloseTo(3 / 24, 15);
    expect(at('2025-01-15T13:00:00+01:00')).toBeCloseTo(2 / 24, 15);
    expect(at(TS + 30 * HOUR)).toBe(1);
    expect(at(TS - HOUR)).toBe(0);
    expect(at('next monday')).toBeNull();
    expect(instantMs('2025-01-16T00:00:00Z')).toBe(Date.UTC(2025, 0, 16));
    expect(instantMs(true)).toBeNull();
  });

  it('clamps ratios and the queue depth', () => {
    const v = contextFeatures(
      {
        ...health,
        memory_usage: 9_000,
        active_requests: 500,
        queue_depth: 5_000,
        metrics: { ...health.metrics, budget_remaining: -5, api_quota_remaining: 1.2 },
      },
      TS,
      1.5,
    );
    expect(v.system_load_memory).toBe(1);
    expect(v.concurrent_requests).toBe(1);
    expect(v.queue_depth_requests).toBe(1);
    expect(v.available_budget_ratio).toBe(0);
    expect(v.api_quota_remaining).toBe(1);
    expect(v.model_availability).toBe(1);
    expect(contextFeatures({ ...health, queue_depth: 0 }, TS, null).queue_depth_requests).toBe(0);
  });

  it('is null when inputs are missing or a divisor is 0', () => {
    const v = contextFeatures({ component: 'x', status: 'healthy', metrics: {} }, TS, null);
    for (const value of Object.values(v)) expect(value).toBeNull();
    const z = contextFeatures(
      { ...health, metrics: { ...health.metrics, memory_limit: 0, max_concurrency: 0, budget_total: 0 } },
      TS,
      Number.NaN,
    );
    expect([
      z.system_load_memory,
      z.concurrent_requests,
      z.available_budget_ratio,
      z.model_availability,
    ]).toEqual([null, null, null, null]);
  });
});
