/**
 * Static model features, catalog A2 (group `model_static`, entity `model`): pure functions of
 * one `model_catalog` entry, the catalog-wide maximum prices, and the event time at which they
 * are computed (for MDL_005).
 */
import { parseDateOrTimestamp } from '../../../shared/timestamp.js';
import { stableHash01 } from './hash.js';
import { type Body, boolField, clamp, numField, ratio, strField } from './read.js';

/** Values of the `model_static` group, keyed by feature name. */
export type ModelStaticFeatureValues = {
  readonly model_context_length: number | null;
  readonly model_cost_per_1k_input: number | null;
  readonly model_cost_per_1k_output: number | null;
  readonly model_capability_score: number | null;
  readonly model_training_cutoff_age: number | null;
  readonly model_supports_functions: number | null;
  readonly model_supports_vision: number | null;
  readonly model_supports_json_mode: number | null;
  readonly model_provider: number | null;
  readonly model_size_class: number | null;
};

/** The largest USD prices per 1k tokens over the current model catalog (MDL_002, MDL_003). */
export interface ModelTableMax {
  readonly costIn: number;
  readonly costOut: number;
}

const MS_PER_DAY = 86_400_000;
const SIZE_CLASS_VALUE: Readonly<Record<string, number>> = { small: 0, medium: 0.5, large: 1 };

function flag(v: boolean | null): number | null {
  return v === null ? null : v ? 1 : 0;
}

/**
 * The catalog maxima of a set of `model_catalog` entries (entries without a price are skipped;
 * 0 when none has one).
 *
 * @example
 * modelTableMaxOf([{ cost_per_1k_input: 0.0025, cost_per_1k_output: 0.01 }]); // { costIn: 0.0025, costOut: 0.01 }
 */
export function modelTableMaxOf(entries: Iterable<Body>): ModelTableMax {
  let costIn = 0;
  let costOut = 0;
  for (const e of entries) {
    costIn = Math.max(costIn, numField(e, 'cost_per_1k_input') ?? 0);
    costOut = Math.max(costOut, numField(e, 'cost_per_1k_output') ?? 0);
  }
  return { costIn, costOut };
}

/**
 * MDL_001–MDL_010 of one model, keyed by feature name.
 *
 * - MDL_001: ln(context_length) / ln(200000), clamped to [0, 1] (a 1M-token model reads as 1, as
 *   the other log-scaled features of the catalog saturate at 1).
 * - MDL_002 / MDL_003: price / catalog maximum, clamped to [0, 1]; null when the maximum is 0.
 * - MDL_004: capability_score clamped to [0, 1].
 * - MDL_005: (ts − training_cutoff) in days / 365, at least 0 (a cutoff after `ts` reads as 0).
 * - MDL_006–MDL_008: 0/1. MDL_009: {@link stableHash01} of the provider lower-cased and trimmed.
 * - MDL_010: small 0, medium 0.5, large 1.
 * A missing or malformed field gives null for its feature.
 *
 * @example
 * modelStaticFeatures(entry, { costIn: 0.01, costOut: 0.03 }, ts).model_context_length;
 * // Math.log(128000) / Math.log(200000) for context_length 128000
 */
export function modelStaticFeatures(
  entry: Body,
  maxima: ModelTableMax,
  ts: number,
): ModelStaticFeatureValues {
  const contextLength = numField(entry, 'context_length');
  const cutoffText = strField(entry, 'training_cutoff');
  const cutoff = cutoffText === null ? null : parseDateOrTimestamp(cutoffText);
  const provider = strField(entry, 'provider');
  const size = strField(entry, 'size_class');
  const capability = numField(entry, 'capability_score');
  return {
    model_context_length:
      contextLength === null || contextLength <= 0
        ? null
        : clamp(Math.log(contextLength) / Math.log(200_000), 0, 1),
    model_cost_per_1k_input: clamp(ratio(numField(entry, 'cost_per_1k_input'), maxima.costIn), 0, 1),
    model_cost_per_1k_output: clamp(ratio(numField(entry, 'cost_per_1k_output'), maxima.costOut), 0, 1),
    model_capability_score: clamp(capability, 0, 1),
    model_training_cutoff_age: cutoff === null ? null : Math.max(0, (ts - cutoff) / MS_PER_DAY / 365),
    model_supports_functions: flag(boolField(entry, 'supports_functions')),
    model_supports_vision: flag(boolField(entry, 'supports_vision')),
    model_supports_json_mode: flag(boolField(entry, 'supports_json_mode')),
    model_provider: provider === null ? null : stableHash01(provider.trim().toLowerCase()),
    model_size_class: size === null ? null : (SIZE_CLASS_VALUE[size.toLowerCase()] ?? null),
  };
}
