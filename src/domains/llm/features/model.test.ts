import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeLine } from '../events/decode.js';
import { checkValue, featuresOfGroup } from './catalog.js';
import { stableHash01 } from './hash.js';
import { modelTableMaxOf, modelStaticFeatures } from './model.js';

const entry = readFileSync(new URL('../events/fixtures/extended.ndjson', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l) => decodeLine(l))
  .flatMap((r) => (r.ok && r.event.type === 'model_catalog' ? [r.event.body] : []))[0]!;

const DAY = 86_400_000;
const AT = Date.UTC(2025, 0, 15);

describe('modelStaticFeatures', () => {
  it('computes MDL_001–MDL_010 of the fixture entry', () => {
    const max = { costIn: 0.01, costOut: 0.04 };
    const v = modelStaticFeatures(entry, max, AT);
    expect(v.model_context_length).toBeCloseTo(Math.log(128_000) / Math.log(200_000), 15);
    expect(v.model_cost_per_1k_input).toBeCloseTo(0.0025 / 0.01, 15);
    expect(v.model_cost_per_1k_output).toBeCloseTo(0.01 / 0.04, 15);
    expect(v.model_capability_score).toBe(0.88);
    // 2023-10-01 → 2025-01-15: 92 days to 2024-01-01, 366 in 2024, 14 in January 2025 = 472 days
    expect(v.model_training_cutoff_age).toBeCloseTo((92 + 366 + 14) / 365, 12);
    expect([v.model_supports_functions, v.model_supports_vision, v.model_supports_json_mode]).toEqual([
      1, 1, 1,
    ]);
    expect(v.model_provider).toBe(stableHash01('openai'));
    expect(v.model_size_class).toBe(1);
    for (const f of featuresOfGroup('model_static')) {
      expect(checkValue(f.validation, (v as Record<string, number | null>)[f.name]!), f.id).toBeNull();
    }
  });

  it('derives the catalog maxima, and is null for a zero maximum', () => {
    const other = { ...entry, cost_per_1k_input: 0.005, cost_per_1k_output: 0.0075 };
    const max = modelTableMaxOf([entry, other]);
    expect(max).toEqual({ costIn: 0.005, costOut: 0.01 });
    const v = modelStaticFeatures(entry, max, AT);
    expect(v.model_cost_per_1k_input).toBeCloseTo(0.0025 / 0.005, 15);
    expect(v.model_cost_per_1k_output).toBe(1);
    const free = { ...entry, cost_per_1k_input: 0, cost_per_1k_output: 0 };
    const z = modelStaticFeatures(free, modelTableMaxOf([free]), AT);
    expect([z.model_cost_per_1k_input, z.model_cost_per_1k_output]).toEqual([null, null]);
  });

  it('clamps and maps the categories', () => {
    const v = modelStaticFeatures(
      {
        ...entry,
        context_length: 2_000_000,
        size_class: 'small',
        supports_vision: false,
        provider: ' OpenAI ',
        training_cutoff: '2025-02-01',
      },
      { costIn: 0.001, costOut: 0.01 },
      AT,
    );
    expect(v.model_context_length).toBe(1);
    expect(v.model_cost_per_1k_input).toBe(1); // above the given maximum: clamped
    expect(v.model_size_class).toBe(0);
    expect(v.model_supports_vision).toBe(0);
    expect(v.model_provider).toBe(stableHash01('openai'));
    expect(v.model_training_cutoff_age).toBe(0); // cutoff after the event time
    expect(
      modelStaticFeatures({ ...entry, size_class: 'medium' }, { costIn: 1, costOut: 1 }, AT).model_size_class,
    ).toBe(0.5);
    expect(
      modelStaticFeatures(
        { ...entry, training_cutoff: '2024-01-15T00:00:00Z' },
        { costIn: 1, costOut: 1 },
        AT,
      ).model_training_cutoff_age,
    ).toBeCloseTo(366 / 365, 12);
    expect(
      modelStaticFeatures({ ...entry, context_length: 1 }, { costIn: 1, costOut: 1 }, AT + DAY)
        .model_context_length,
    ).toBe(0);
  });

  it('is null for missing or malformed fields', () => {
    const v = modelStaticFeatures({ model: 'x' }, { costIn: 1, costOut: 1 }, AT);
    for (const value of Object.values(v)) expect(value).toBeNull();
    expect(
      modelStaticFeatures({ ...entry, training_cutoff: 'last year' }, { costIn: 1, costOut: 1 }, AT)
        .model_training_cutoff_age,
    ).toBeNull();
  });
});
