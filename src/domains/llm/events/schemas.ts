/**
 * zod 4 schemas of the eight input event types (shared/spec/events.md): the readable statement
 * of the contract, the source of the body types below, and the reference the fast decoder in
 * `decode.ts` is tested against (`decodeValueWithZod` must give the same verdict and reason
 * code as `decodeValue` on every input; see decode.test.ts).
 *
 * The five collector types follow the LLM Auto-Optimizer's Rust structs field for field, as
 * serde writes them (`#[serde(tag = "type", rename_all = "snake_case")]`):
 * - objects are loose: unknown extra fields are kept, never an error;
 * - `Option<T>` fields may be absent or null; every other field is required, and a required
 *   field that is null counts as missing;
 * - `usize`/`u64` fields are non-negative safe integers (`100` and `100.0` are the same number
 *   once parsed);
 * - `Uuid` fields (`id`, `request_id`, `config_id`, `variant_id`) are checked as strings, not
 *   as UUIDs: producers that are not the collector may use other ids, and a superset of what
 *   serde accepts costs nothing downstream;
 * - `HashMap<String, f64>` is a map of finite numbers, `HashMap<String, String>` a map of
 *   strings, `HashMap<String, serde_json::Value>` a map of any JSON (checked for non-finite
 *   numbers only).
 *
 * Ranges not stated by the Rust types come from the feature catalog: `cpu_usage` is a fraction
 * in [0, 1] (CTX_001 uses it as is; the Rust doc comment says "percentage", but a 0–100 value
 * would silently saturate the feature, so it is a dead letter instead), `confidence` and
 * `capability_score` are in [0, 1], `rating` in [1, 5], `priority` in [0, 10], an `api_call`
 * `status` is an HTTP status code (100–599), its `method` an upper-case HTTP method and its
 * `path` an absolute URL path (`apiPathProblem`).
 */
import { z } from 'zod';
import { EVENT_TYPES, type DecodeResult, type EventType, type ReasonCode } from './types.js';
import { parseDateOrTimestamp, parseTimestamp } from '../../../shared/timestamp.js';
import {
  apiPathProblem,
  HEALTH_STATUSES,
  HTTP_METHODS,
  OUTPUT_LENGTHS,
  SIZE_CLASSES,
  USER_TIERS,
  describe,
  findNonFinite,
  hasNonFinite,
  quote,
} from './values.js';

const Timestamp = z.string().check((ctx) => {
  if (parseTimestamp(ctx.value) === null) {
    ctx.issues.push({
      code: 'custom',
      message: `not an RFC 3339 timestamp: ${quote(ctx.value)}`,
      input: ctx.value,
      params: { reason: 'bad_timestamp' },
    });
  }
});

const CalendarDate = z.string().check((ctx) => {
  if (parseDateOrTimestamp(ctx.value) === null) {
    ctx.issues.push({
      code: 'custom',
      message: `not a date (YYYY-MM-DD) or RFC 3339 timestamp: ${quote(ctx.value)}`,
      input: ctx.value,
      params: { reason: 'bad_timestamp' },
    });
  }
});

/** Any JSON value without a non-finite number in it (serde_json::Value). */
const JsonValue = z.unknown().check((ctx) => {
  if (hasNonFinite(ctx.value)) {
    const found = findNonFinite(ctx.value, '');
    ctx.issues.push({
      code: 'custom',
      message: `expected a finite number, got ${found?.value}`,
      input: ctx.value,
      params: { reason: 'non_finite' },
    });
  }
});

const Count = z.int().min(0);
const NonNegative = z.number().min(0);
const Fraction = z.number().min(0).max(1);
const StringMap = z.record(z.string(), z.string());
const NumberMap = z.record(z.string(), z.number());
const JsonMap = z.record(z.string(), JsonValue);

function eventSchema<T extends EventType, S extends z.core.$ZodLooseShape>(type: T, shape: S) {
  const known = new Set(['type', 'id', 'timestamp', ...Object.keys(shape)]);
  return z
    .looseObject({ type: z.literal(type), id: z.string(), timestamp: Timestamp, ...shape })
    .check((ctx) => {
      // Extra fields are kept, but a non-finite number is bad wherever it is.
      const o = ctx.value as Record<string, unknown>;
      for (const k in o) {
        if (!known.has(k) && hasNonFinite(o[k])) {
          const found = findNonFinite(o[k], k);
          ctx.issues.push({
            code: 'custom',
            message: `expected a finite number, got ${found?.value}`,
            input: o[k],
            path: found === null ? [k] : [found.path],
            params: { reason: 'non_finite' },
          });
          return;
        }
      }
    });
}

export const PerformanceMetricsSchema = eventSchema('performance_metrics', {
  request_id: z.string(),
  model: z.string(),
  config_id: z.string().nullish(),
  latency_ms: NonNegative,
  input_tokens: Count,
  output_tokens: Count,
  cost: NonNegative,
  quality_score: z.number().nullish(),
  error: z.string().nullish(),
  metrics: NumberMap,
});

export const UserFeedbackSchema = eventSchema('user_feedback', {
  user_id: z.string().nullish(),
  session_id: z.string(),
  request_id: z.string(),
  rating: z.number().min(1).max(5).nullish(),
  liked: z.boolean().nullish(),
  task_completed: z.boolean(),
  response_edited: z.boolean(),
  response_regenerated: z.boolean(),
  dwell_time_seconds: NonNegative.nullish(),
  response_saved: z.boolean(),
  response_shared: z.boolean(),
  comment: z.string().nullish(),
  metadata: StringMap,
});

export const ModelResponseSchema = eventSchema('model_response', {
  request_id: z.string(),
  session_id: z.string(),
  model: z.string(),
  prompt_hash: z.string(),
  response_hash: z.string(),
  response_length: Count,
  config: JsonMap,
  context: StringMap,
});

export const SystemHealthSchema = eventSchema('system_health', {
  component: z.string(),
  status: z.enum(HEALTH_STATUSES),
  cpu_usage: Fraction.nullish(),
  memory_usage: Count.nullish(),
  active_requests: Count.nullish(),
  queue_depth: Count.nullish(),
  error_rate: NonNegative.nullish(),
  metrics: NumberMap,
});

export const ExperimentResultSchema = eventSchema('experiment_result', {
  experiment_id: z.string(),
  variant_id: z.string(),
  metric_name: z.string(),
  metric_value: z.number(),
  sample_size: Count,
  confidence: Fraction.nullish(),
  is_winner: z.boolean(),
  data: JsonMap,
});

export const LlmRequestSchema = eventSchema('llm_request', {
  request_id: z.string(),
  session_id: z.string(),
  user_id: z.string().nullish(),
  model: z.string().nullish(),
  prompt: z.string().nullish(),
  prompt_tokens: Count.nullish(),
  max_tokens: Count.nullish(),
  output_length: z.enum(OUTPUT_LENGTHS).nullish(),
  task_type: z.string().nullish(),
  language: z.string().nullish(),
  priority: z.number().min(0).max(10).nullish(),
  user_tier: z.enum(USER_TIERS).nullish(),
  follow_up: z.boolean().nullish(),
});

export const ModelCatalogSchema = eventSchema('model_catalog', {
  model: z.string(),
  provider: z.string(),
  context_length: z.int().min(1),
  cost_per_1k_input: NonNegative,
  cost_per_1k_output: NonNegative,
  capability_score: Fraction,
  training_cutoff: CalendarDate,
  supports_functions: z.boolean(),
  supports_vision: z.boolean(),
  supports_json_mode: z.boolean(),
  size_class: z.enum(SIZE_CLASSES),
});

export const ApiCallSchema = eventSchema('api_call', {
  session_id: z.string(),
  user_id: z.string().nullish(),
  method: z.enum(HTTP_METHODS),
  path: z.string().check((ctx) => {
    const bad = apiPathProblem(ctx.value);
    if (bad !== null) {
      ctx.issues.push({ code: 'custom', message: bad, input: ctx.value, params: { reason: 'out_of_range' } });
    }
  }),
  resource: z.string().nullish(),
  status: z.int().min(100).max(599).nullish(),
  prompt: z.string().nullish(),
  tenant: z.string().nullish(),
});

/** The schema of each event type. */
export const EVENT_SCHEMAS = {
  performance_metrics: PerformanceMetricsSchema,
  user_feedback: UserFeedbackSchema,
  model_response: ModelResponseSchema,
  system_health: SystemHealthSchema,
  experiment_result: ExperimentResultSchema,
  llm_request: LlmRequestSchema,
  model_catalog: ModelCatalogSchema,
  api_call: ApiCallSchema,
} as const satisfies Record<EventType, z.ZodType>;

/** Event bodies as validated (extra fields allowed). Cast a `DecodedEvent.body` by its `type`. */
export type PerformanceMetricsEvent = z.infer<typeof PerformanceMetricsSchema>;
export type UserFeedbackEvent = z.infer<typeof UserFeedbackSchema>;
export type ModelResponseEvent = z.infer<typeof ModelResponseSchema>;
export type SystemHealthEvent = z.infer<typeof SystemHealthSchema>;
export type ExperimentResultEvent = z.infer<typeof ExperimentResultSchema>;
export type LlmRequestEvent = z.infer<typeof LlmRequestSchema>;
export type ModelCatalogEvent = z.infer<typeof ModelCatalogSchema>;
export type ApiCallEvent = z.infer<typeof ApiCallSchema>;

/** Maps one zod issue to the reason code the fast decoder gives for the same fault. */
export function reasonForIssue(issue: z.core.$ZodIssue): ReasonCode {
  const input = issue.input;
  if (issue.code === 'custom') return (issue.params?.reason as ReasonCode | undefined) ?? 'wrong_type';
  // A required top-level field that is absent or null is missing; null inside a map is a wrong type.
  if (input === undefined || (input === null && issue.path.length === 1)) return 'missing_field';
  // A non-finite number is reported as such whatever the field expected.
  if (typeof input === 'number' && input - input !== 0) return 'non_finite';
  switch (issue.code) {
    case 'too_small':
    case 'too_big':
      return 'out_of_range';
    case 'invalid_value':
      return typeof input === 'string' ? 'out_of_range' : 'wrong_type';
    default:
      return 'wrong_type';
  }
}

const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * Validates a parsed JSON value with the zod schemas. Same contract as `decodeValue` in
 * `decode.ts` (same verdict, same reason code, an own detail wording) at several times the cost:
 * for tests, tools and rare paths, not for the stream.
 *
 * @example
 * decodeValueWithZod({ type: 'system_health', status: 'asleep' }).ok; // false
 */
export function decodeValueWithZod(value: unknown): DecodeResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'wrong_type', detail: `event: expected JSON object, got ${describe(value)}` };
  }
  const o = value as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    const detail =
      type === undefined
        ? 'type: missing'
        : typeof type === 'string'
          ? `type: unknown event type ${quote(type)}`
          : `type: expected string, got ${describe(type)}`;
    return { ok: false, reason: 'unknown_type', detail };
  }
  const result = EVENT_SCHEMAS[type as EventType].safeParse(value, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, reason: reasonForIssue(issue), detail: `${issue.path.join('.')}: ${issue.message}` };
  }
  return {
    ok: true,
    event: { type: type as EventType, ts: parseTimestamp(o.timestamp as string)!, body: o },
  };
}
