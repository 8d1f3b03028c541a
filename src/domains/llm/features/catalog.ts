/**
 * The feature catalog, family A (shared/spec/feature-catalog.md): the 65 feature ids of the LLM
 * request-optimisation design, as code — what each feature means (description, formula, inputs,
 * validation rule, value names). The groups themselves (entity, TTL, window, version) are the
 * topology's: `feature-set.ts` joins a topology with these entries into the registry's
 * {@link import('../../../registry/feature-set.js').FeatureDef}s.
 *
 * Ids and names are the public contract; the order of {@link CATALOG_ENTRIES} is the catalog's.
 *
 * @example
 * catalogEntry('PERF_002')?.name; // 'latency_p95_5min'
 * checkValue(catalogEntry('REQ_001')!.validation, 1.2); // 'above_max'
 */

/** The catalog's six categories. */
export type FeatureCategory = 'request' | 'model' | 'performance' | 'feedback' | 'context' | 'derived';
/** What a feature row is keyed by: a topology window's or processor's `entityType`. */
export type EntityType = string;
/** A feature group name: the unit written to the stores. The groups are defined by the topology. */
export type FeatureGroup = string;

/** The registry's validation rule of one value: inclusive bounds and whether null is allowed. */
export type { ValidationRule } from '../../../../topology/index.js';
import type { FeatureCatalogEntry, ValidationRule } from '../../../../topology/index.js';
export { checkValue } from '../../../../topology/index.js';

/**
 * What the catalog knows of one family-A feature, independent of any topology: its description,
 * formula, inputs, validation rule and value names. Entity, group settings (TTL, window, version)
 * and freshness come from the topology that computes it (see `feature-set.ts`).
 */
export interface CatalogEntry extends FeatureCatalogEntry {
  readonly category: FeatureCategory;
  /** The group feature-catalog.md puts it in (the shipped `llm-features` topology's group). */
  readonly group: FeatureGroup;
}

/** Largest value of a 32-bit hash divided by 2^32: the inclusive maximum of a `[0,1)` hash feature. */
const HASH_MAX = 1 - 2 ** -32;

const OWNER: Readonly<Record<FeatureCategory, string>> = {
  request: 'ml-platform',
  model: 'ml-platform',
  performance: 'ml-platform',
  feedback: 'ml-platform',
  context: 'ml-platform',
  derived: 'ml-platform',
};

const UNIT: ValidationRule = { min: 0, max: 1, nullable: true };
const UNIT_REQUIRED: ValidationRule = { min: 0, max: 1, nullable: false };
const TRIG: ValidationRule = { min: -1, max: 1, nullable: false };
const HASH: ValidationRule = { min: 0, max: HASH_MAX, nullable: true };
const NON_NEG: ValidationRule = { min: 0, max: Number.POSITIVE_INFINITY, nullable: true };
const RATING: ValidationRule = { min: 1, max: 5, nullable: true };

interface Row {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly computation: string;
  readonly validation: ValidationRule;
  readonly source?: readonly string[];
  readonly group?: FeatureGroup;
  readonly window?: string | null;
  readonly tags?: readonly string[];
}

interface Section {
  readonly category: FeatureCategory;
  readonly group: FeatureGroup;
  readonly source: readonly string[];
  readonly tags: readonly string[];
  readonly rows: readonly Row[];
}

const SECTIONS: readonly Section[] = [
  {
    category: 'request',
    group: 'request',
    source: ['llm_request'],
    tags: ['family-a', 'request', 'per-event'],
    rows: [
      {
        id: 'REQ_001',
        name: 'prompt_length',
        description: 'Prompt length in tokens, log-scaled',
        computation:
          'ln(prompt_tokens + 1) / 10, max 1. prompt_tokens from the event, else estimated from the text',
        validation: UNIT,
      },
      {
        id: 'REQ_002',
        name: 'prompt_char_count',
        description: 'Prompt length in characters',
        computation: 'chars / 10000, max 1',
        validation: UNIT,
      },
      {
        id: 'REQ_003',
        name: 'prompt_complexity',
        description: 'Reading difficulty of the prompt',
        computation: 'Flesch-Kincaid grade of the prompt text mapped to [0,1] (grade/20, clamped)',
        validation: UNIT,
      },
      {
        id: 'REQ_004',
        name: 'expected_output_length',
        description: 'Expected length of the answer',
        computation:
          'short 0, medium 0.5, long 1 (explicit category, else from max_tokens: ≤256 short, ≤1024 medium)',
        validation: UNIT,
      },
      {
        id: 'REQ_005',
        name: 'task_type_classification',
        description: 'Kind of task asked for',
        computation: 'classify 0, generate 0.33, extract 0.67, summarize 1, unknown 0.5',
        validation: UNIT,
      },
      {
        id: 'REQ_006',
        name: 'prompt_language',
        description: 'Language of the prompt, hashed',
        computation: 'stable hash of the language code into [0,1) (given, else detected)',
        validation: HASH,
      },
      {
        id: 'REQ_007',
        name: 'prompt_domain',
        description: 'How domain-specific the prompt vocabulary is',
        computation:
          'domain specificity in [0,1] from domain vocabularies (medical, legal, finance, code, …)',
        validation: UNIT,
      },
      {
        id: 'REQ_008',
        name: 'request_priority',
        description: 'Priority given by the caller',
        computation: 'priority / 10, [0,1]',
        validation: UNIT,
      },
      {
        id: 'REQ_009',
        name: 'hour_of_day_cos',
        description: 'Hour of day (UTC, event time), cyclic cosine',
        computation: 'cos(2π·hour/24), event time, UTC',
        validation: TRIG,
      },
      {
        id: 'REQ_010',
        name: 'hour_of_day_sin',
        description: 'Hour of day (UTC, event time), cyclic sine',
        computation: 'sin(2π·hour/24)',
        validation: TRIG,
      },
      {
        id: 'REQ_011',
        name: 'day_of_week_cos',
        description: 'Day of week (UTC, event time), cyclic cosine',
        computation: 'cos(2π·day/7)',
        validation: TRIG,
      },
      {
        id: 'REQ_012',
        name: 'day_of_week_sin',
        description: 'Day of week (UTC, event time), cyclic sine',
        computation: 'sin(2π·day/7)',
        validation: TRIG,
      },
      {
        id: 'REQ_013',
        name: 'is_weekend',
        description: 'Whether the request falls on a weekend (UTC)',
        computation: '1 on Saturday/Sunday, else 0',
        validation: UNIT_REQUIRED,
      },
      {
        id: 'REQ_014',
        name: 'session_depth',
        description: 'How many requests the session has seen so far',
        computation: 'requests so far in the session (keyed state), ln(1+n)/ln(101), max 1',
        validation: UNIT_REQUIRED,
        tags: ['family-a', 'request', 'keyed-state'],
      },
      {
        id: 'REQ_015',
        name: 'user_tier',
        description: "The user's plan",
        computation: 'free 0, pro 0.5, enterprise 1',
        validation: UNIT,
      },
    ],
  },
  {
    category: 'model',
    group: 'model_static',
    source: ['model_catalog'],
    tags: ['family-a', 'model', 'static'],
    rows: [
      {
        id: 'MDL_001',
        name: 'model_context_length',
        description: 'Context window of the model, log-scaled',
        computation: 'ln(context_length) / ln(200000)',
        validation: UNIT_REQUIRED,
      },
      {
        id: 'MDL_002',
        name: 'model_cost_per_1k_input',
        description: 'Input price relative to the most expensive model',
        computation: 'USD per 1k input tokens, divided by the catalog maximum',
        validation: UNIT,
      },
      {
        id: 'MDL_003',
        name: 'model_cost_per_1k_output',
        description: 'Output price relative to the most expensive model',
        computation: 'USD per 1k output tokens, divided by the catalog maximum',
        validation: UNIT,
      },
      {
        id: 'MDL_004',
        name: 'model_capability_score',
        description: 'Benchmark aggregate supplied with the model',
        computation: 'capability rating in [0,1] (benchmark aggregate supplied with the model)',
        validation: UNIT_REQUIRED,
      },
      {
        id: 'MDL_005',
        name: 'model_training_cutoff_age',
        description: 'Age of the training data in years',
        computation: 'days since training cutoff / 365, at event time',
        validation: { min: 0, max: Number.POSITIVE_INFINITY, nullable: false },
      },
      {
        id: 'MDL_006',
        name: 'model_supports_functions',
        description: 'Function calling support',
        computation: '0/1',
        validation: UNIT_REQUIRED,
      },
      {
        id: 'MDL_007',
        name: 'model_supports_vision',
        description: 'Image input support',
        computation: '0/1',
        validation: UNIT_REQUIRED,
      },
      {
        id: 'MDL_008',
        name: 'model_supports_json_mode',
        description: 'JSON mode support',
        computation: '0/1',
        validation: UNIT_REQUIRED,
      },
      {
        id: 'MDL_009',
        name: 'model_provider',
        description: 'Provider of the model, hashed',
        computation: 'stable hash of the provider name into [0,1)',
        validation: { min: 0, max: HASH_MAX, nullable: false },
      },
      {
        id: 'MDL_010',
        name: 'model_size_class',
        description: 'Size class of the model',
        computation: 'small 0, medium 0.5, large 1',
        validation: UNIT_REQUIRED,
      },
    ],
  },
  {
    category: 'performance',
    group: 'perf_5min',
    source: ['performance_metrics'],
    tags: ['family-a', 'performance', 'windowed'],
    rows: [
      {
        id: 'PERF_001',
        name: 'latency_p50_5min',
        description: 'Median latency over 5 minutes (ms)',
        computation: 'p50 of latency_ms',
        validation: NON_NEG,
      },
      {
        id: 'PERF_002',
        name: 'latency_p95_5min',
        description: '95th percentile latency over 5 minutes (ms)',
        computation: 'p95 of latency_ms',
        validation: NON_NEG,
      },
      {
        id: 'PERF_003',
        name: 'latency_p99_5min',
        description: '99th percentile latency over 5 minutes (ms)',
        computation: 'p99 of latency_ms',
        validation: NON_NEG,
      },
      {
        id: 'PERF_004',
        name: 'latency_p50_1hr',
        description: 'Median latency over 1 hour (ms)',
        computation: 'p50 of latency_ms',
        validation: NON_NEG,
        group: 'perf_1hr',
      },
      {
        id: 'PERF_005',
        name: 'latency_p95_1hr',
        description: '95th percentile latency over 1 hour (ms)',
        computation: 'p95 of latency_ms',
        validation: NON_NEG,
        group: 'perf_1hr',
      },
      {
        id: 'PERF_006',
        name: 'success_rate_5min',
        description: 'Share of requests without an error over 5 minutes',
        computation: 'events with no error / events',
        validation: UNIT,
      },
      {
        id: 'PERF_007',
        name: 'success_rate_1hr',
        description: 'Share of requests without an error over 1 hour',
        computation: 'same, 1 h',
        validation: UNIT,
        group: 'perf_1hr',
      },
      {
        id: 'PERF_008',
        name: 'error_rate_5min',
        description: 'Share of requests with an error over 5 minutes',
        computation: 'events with an error / events',
        validation: UNIT,
      },
      {
        id: 'PERF_009',
        name: 'avg_cost_per_request_5min',
        description: 'Mean cost per request over 5 minutes (USD)',
        computation: 'sum(cost) / events',
        validation: NON_NEG,
      },
      {
        id: 'PERF_010',
        name: 'throughput_qps_5min',
        description: 'Requests per second over 5 minutes',
        computation: 'events / 300',
        validation: NON_NEG,
      },
      {
        id: 'PERF_011',
        name: 'token_efficiency_5min',
        description: 'Output tokens per input token over 5 minutes',
        computation: 'sum(output_tokens) / sum(input_tokens)',
        validation: NON_NEG,
      },
      {
        id: 'PERF_012',
        name: 'retry_rate_5min',
        description: 'Retries per request over 5 minutes',
        computation: 'sum(metrics.retries) / events',
        validation: NON_NEG,
      },
    ],
  },
  {
    category: 'feedback',
    group: 'feedback_1hr',
    source: ['user_feedback'],
    tags: ['family-a', 'feedback', 'windowed'],
    rows: [
      {
        id: 'FDBK_001',
        name: 'avg_user_rating_session',
        description: 'Mean rating in the session',
        computation: 'mean rating (1–5)',
        validation: RATING,
        group: 'feedback_session',
      },
      {
        id: 'FDBK_002',
        name: 'avg_user_rating_1hr',
        description: "Mean rating of the user's last hour",
        computation: 'mean rating',
        validation: RATING,
      },
      {
        id: 'FDBK_003',
        name: 'thumbs_up_ratio_1hr',
        description: 'Share of likes among feedback with a like/dislike',
        computation: 'liked=true / feedback with liked set',
        validation: UNIT,
      },
      {
        id: 'FDBK_004',
        name: 'regeneration_rate_1hr',
        description: 'Share of responses regenerated',
        computation: 'response_regenerated / feedback',
        validation: UNIT,
      },
      {
        id: 'FDBK_005',
        name: 'task_completion_rate_session',
        description: 'Share of feedback reporting the task completed, in the session',
        computation: 'task_completed / feedback',
        validation: UNIT,
        group: 'feedback_session',
      },
      {
        id: 'FDBK_006',
        name: 'avg_response_time_user',
        description: 'Mean dwell time on a response in the session (s)',
        computation: 'mean dwell_time_seconds',
        validation: NON_NEG,
        group: 'feedback_session',
      },
      {
        id: 'FDBK_007',
        name: 'copy_paste_rate_1hr',
        description: 'Share of responses copied',
        computation: 'responses copied (response_copied, else response_saved) / feedback',
        validation: UNIT,
      },
      {
        id: 'FDBK_008',
        name: 'follow_up_rate_session',
        description: 'Share of follow-up requests in the session',
        computation: 'llm_request events with follow_up=true / llm_request events in the session',
        validation: UNIT,
        group: 'feedback_session',
        source: ['llm_request'],
      },
    ],
  },
  {
    category: 'context',
    group: 'context',
    source: ['system_health'],
    tags: ['family-a', 'context', 'latest'],
    rows: [
      {
        id: 'CTX_001',
        name: 'system_load_cpu',
        description: 'CPU usage of the component',
        computation: 'cpu_usage in [0,1]',
        validation: UNIT,
      },
      {
        id: 'CTX_002',
        name: 'system_load_memory',
        description: 'Memory usage relative to the limit',
        computation: 'memory_usage / metrics.memory_limit',
        validation: UNIT,
      },
      {
        id: 'CTX_003',
        name: 'queue_depth_requests',
        description: 'Queued requests, log-scaled',
        computation: 'ln(1+queue_depth) / ln(1001), max 1',
        validation: UNIT,
      },
      {
        id: 'CTX_004',
        name: 'concurrent_requests',
        description: 'Active requests relative to the concurrency limit',
        computation: 'active_requests / metrics.max_concurrency, max 1',
        validation: UNIT,
      },
      {
        id: 'CTX_005',
        name: 'available_budget_ratio',
        description: 'Share of the budget left',
        computation: 'metrics.budget_remaining / metrics.budget_total',
        validation: UNIT,
      },
      {
        id: 'CTX_006',
        name: 'time_until_budget_reset',
        description: 'Time until the budget resets, in days, max 1',
        computation: 'hours until metrics.budget_reset_at / 24, max 1',
        validation: UNIT,
      },
      {
        id: 'CTX_007',
        name: 'model_availability',
        description: "Share of healthy status reports for the model's component",
        computation: "share of healthy status reports for the model's component in the last 5 min",
        validation: UNIT,
        window: 'trailing 5m of status reports per component',
      },
      {
        id: 'CTX_008',
        name: 'recent_timeout_rate_5min',
        description: 'Share of requests to the model that timed out over 5 minutes',
        computation: 'performance events whose error is a timeout / events, 5 min tumbling, per model',
        validation: UNIT,
        group: 'timeout_5min',
        source: ['performance_metrics'],
        tags: ['family-a', 'context', 'windowed'],
      },
      {
        id: 'CTX_009',
        name: 'api_quota_remaining',
        description: 'API quota left',
        computation: 'metrics.api_quota_remaining in [0,1]',
        validation: UNIT,
      },
      {
        id: 'CTX_010',
        name: 'region_load',
        description: 'Load of the region',
        computation: 'metrics.region_load in [0,1]',
        validation: UNIT,
      },
    ],
  },
  {
    category: 'derived',
    group: 'derived',
    source: ['llm_request', 'model_catalog', 'performance_metrics', 'system_health'],
    tags: ['family-a', 'derived', 'join'],
    rows: [
      {
        id: 'DRV_001',
        name: 'prompt_embedding',
        description: 'Sentence embedding of the prompt reduced to 8 dimensions',
        computation:
          'sentence embedding of the prompt reduced to 8 dims (PCA/random projection, fitted and versioned) — 8 values',
        // The projection scales each PCA coordinate by 3σ of the corpus and clamps to [−1, 1].
        validation: { min: -1, max: 1, nullable: true },
        source: ['llm_request'],
        tags: ['family-a', 'derived', 'embedding'],
      },
      {
        id: 'DRV_002',
        name: 'cost_latency_score',
        description: 'Mean of normalised cost and normalised latency of the model',
        computation: '(cost_norm + latency_norm) / 2, norms over the model catalog',
        validation: UNIT,
        source: ['llm_request', 'model_catalog', 'performance_metrics'],
      },
      {
        id: 'DRV_003',
        name: 'quality_cost_ratio',
        description: 'Success rate per dollar of the model',
        computation: 'success_rate_5min / avg_cost_per_request_5min',
        validation: NON_NEG,
        source: ['llm_request', 'performance_metrics'],
      },
      {
        id: 'DRV_004',
        name: 'prompt_similarity_to_avg',
        description: 'Cosine similarity of the prompt to the running centroid of prompts',
        computation: 'cosine(prompt embedding, running centroid of prompt embeddings)',
        validation: { min: -1, max: 1, nullable: true },
        source: ['llm_request'],
        tags: ['family-a', 'derived', 'embedding', 'keyed-state'],
      },
      {
        id: 'DRV_005',
        name: 'model_fit_score',
        description: 'How well the model fits the request',
        computation: 'weighted dot product of request features and model features (weights in config)',
        validation: UNIT,
        source: ['llm_request', 'model_catalog'],
      },
      {
        id: 'DRV_006',
        name: 'user_behavior_cluster',
        description: "Online k-means cluster of the user's feature vector",
        computation: "online k-means cluster of the user's feature vector, cluster / k",
        validation: UNIT,
        source: ['llm_request', 'user_feedback'],
        tags: ['family-a', 'derived', 'keyed-state'],
      },
      {
        id: 'DRV_007',
        name: 'time_pressure_indicator',
        description: 'Priority of the request weighted by the budget already spent',
        computation: 'request_priority × (1 − available_budget_ratio)',
        validation: UNIT,
        source: ['llm_request', 'system_health'],
      },
      {
        id: 'DRV_008',
        name: 'load_adjusted_latency',
        description: 'p95 latency of the model inflated by the queue depth (ms)',
        computation: 'latency_p95_5min × (1 + queue_depth_requests)',
        validation: NON_NEG,
        source: ['llm_request', 'performance_metrics', 'system_health'],
      },
      {
        id: 'DRV_009',
        name: 'model_fatigue_score',
        description: 'Exponentially decayed count of recent uses of the model',
        computation: 'exponentially decayed count of recent uses of the model (half-life in config), [0,1]',
        validation: UNIT,
        source: ['llm_request'],
        tags: ['family-a', 'derived', 'keyed-state'],
      },
      {
        id: 'DRV_010',
        name: 'pareto_efficiency_score',
        description: 'Distance of the model to the Pareto frontier of (cost, latency, quality)',
        computation:
          'distance of the model to the Pareto frontier over (cost, latency, quality) of all models',
        validation: UNIT,
        source: ['model_catalog', 'performance_metrics'],
      },
    ],
  },
];

function valueNamesOf(id: string, name: string): readonly string[] {
  if (id !== 'DRV_001') return [name];
  return Array.from({ length: 8 }, (_, i) => `${name}_${i + 1}`);
}

/** Exactly the 65 family-A features, in catalog order. Frozen. */
export const CATALOG_ENTRIES: readonly CatalogEntry[] = Object.freeze(
  SECTIONS.flatMap((s) =>
    s.rows.map(
      (r): CatalogEntry =>
        Object.freeze({
          id: r.id,
          name: r.name,
          category: s.category,
          group: r.group ?? s.group,
          description: r.description,
          computation: r.computation,
          source: Object.freeze([...(r.source ?? s.source)]),
          window: r.window ?? null,
          validation: Object.freeze({ ...r.validation }),
          valueNames: Object.freeze(valueNamesOf(r.id, r.name)),
          owner: OWNER[s.category],
          tags: Object.freeze([...(r.tags ?? s.tags)]),
        }),
    ),
  ),
);

const BY_ID: ReadonlyMap<string, CatalogEntry> = new Map(CATALOG_ENTRIES.map((f) => [f.id, f]));

/** The catalog entry of a feature id (`PERF_002`), or undefined. */
export function catalogEntry(id: string): CatalogEntry | undefined {
  return BY_ID.get(id);
}

/**
 * The catalog's features of a group (its home group in feature-catalog.md), in catalog order.
 *
 * @example
 * featuresOfGroup('perf_1hr').map((f) => f.id); // ['PERF_004', 'PERF_005', 'PERF_007']
 */
export function featuresOfGroup(group: FeatureGroup): readonly CatalogEntry[] {
  return CATALOG_ENTRIES.filter((f) => f.group === group);
}
