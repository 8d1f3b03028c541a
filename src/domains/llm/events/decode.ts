/**
 * Decoding and validation of input events (shared/spec/events.md): one NDJSON line or one
 * parsed JSON value in, a {@link DecodeResult} out — the event with its type and event time, or
 * exactly one {@link ReasonCode} with a detail that names the field.
 *
 * This runs on the coordinator thread for every record, so it does not run zod: each type's
 * fields are a small table ({@link FIELDS}) walked by one loop with no allocation on success.
 * The zod schemas in `schemas.ts` state the same contract; `decodeValueWithZod` there must
 * agree with {@link decodeValue} on the verdict and the reason code for every input (tested).
 *
 * When a record has several faults the first one found is reported, in this order: size, JSON
 * syntax, not an object, `type`, then the type's fields in table order (`id`, `timestamp`, then
 * as listed in the spec), then non-finite numbers in unknown extra fields.
 */
import { EVENT_TYPES, type DecodeResult, type EventType, type ReasonCode } from './types.js';
import { notJsonDetail } from '../../../shared/json-error.js';
import { parseDateOrTimestamp, parseTimestamp } from '../../../shared/timestamp.js';
import {
  HEALTH_STATUSES,
  HTTP_METHODS,
  OUTPUT_LENGTHS,
  SIZE_CLASSES,
  USER_TIERS,
  describe,
  findNonFinite,
  hasNonFinite,
  quote,
  apiPathProblem,
} from './values.js';

/** Default size limit of one record: 1 MiB of UTF-8. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

// Field kinds. Small integers so the validator's switch stays a jump table.
const STR = 0;
const BOOL = 1;
const NUM = 2;
const INT = 3;
const ENUM = 4;
const TS = 5;
const DATE = 6;
const STR_MAP = 7;
const NUM_MAP = 8;
const JSON_MAP = 9;

export interface Field {
  readonly name: string;
  readonly kind: number;
  readonly optional: boolean;
  readonly min: number;
  readonly max: number;
  readonly values: ReadonlySet<string> | null;
  /** A string field's own rule: why a value is refused (`out_of_range`), or null. */
  readonly check?: (v: string) => string | null;
}

type FieldArgs = {
  min?: number;
  max?: number;
  values?: readonly string[];
  check?: (v: string) => string | null;
};

function field(name: string, kind: number, optional: boolean, args: FieldArgs = {}): Field {
  const isInt = kind === INT;
  return {
    name,
    kind,
    optional,
    min: args.min ?? (isInt ? Number.MIN_SAFE_INTEGER : Number.NEGATIVE_INFINITY),
    max: args.max ?? (isInt ? Number.MAX_SAFE_INTEGER : Number.POSITIVE_INFINITY),
    values: args.values === undefined ? null : new Set(args.values),
    ...(args.check === undefined ? {} : { check: args.check }),
  };
}

const req = (name: string, kind: number, args?: FieldArgs) => field(name, kind, false, args);
const opt = (name: string, kind: number, args?: FieldArgs) => field(name, kind, true, args);
const NON_NEG = { min: 0 };
const FRACTION = { min: 0, max: 1 };

/** The fields of each type, in the order they are checked (the order of `schemas.ts`). */
export const FIELDS: { readonly [T in EventType]: readonly Field[] } = {
  performance_metrics: [
    req('request_id', STR),
    req('model', STR),
    opt('config_id', STR),
    req('latency_ms', NUM, NON_NEG),
    req('input_tokens', INT, NON_NEG),
    req('output_tokens', INT, NON_NEG),
    req('cost', NUM, NON_NEG),
    opt('quality_score', NUM),
    opt('error', STR),
    req('metrics', NUM_MAP),
  ],
  user_feedback: [
    opt('user_id', STR),
    req('session_id', STR),
    req('request_id', STR),
    opt('rating', NUM, { min: 1, max: 5 }),
    opt('liked', BOOL),
    req('task_completed', BOOL),
    req('response_edited', BOOL),
    req('response_regenerated', BOOL),
    opt('dwell_time_seconds', NUM, NON_NEG),
    req('response_saved', BOOL),
    req('response_shared', BOOL),
    opt('comment', STR),
    req('metadata', STR_MAP),
  ],
  model_response: [
    req('request_id', STR),
    req('session_id', STR),
    req('model', STR),
    req('prompt_hash', STR),
    req('response_hash', STR),
    req('response_length', INT, NON_NEG),
    req('config', JSON_MAP),
    req('context', STR_MAP),
  ],
  system_health: [
    req('component', STR),
    req('status', ENUM, { values: HEALTH_STATUSES }),
    opt('cpu_usage', NUM, FRACTION),
    opt('memory_usage', INT, NON_NEG),
    opt('active_requests', INT, NON_NEG),
    opt('queue_depth', INT, NON_NEG),
    opt('error_rate', NUM, NON_NEG),
    req('metrics', NUM_MAP),
  ],
  experiment_result: [
    req('experiment_id', STR),
    req('variant_id', STR),
    req('metric_name', STR),
    req('metric_value', NUM),
    req('sample_size', INT, NON_NEG),
    opt('confidence', NUM, FRACTION),
    req('is_winner', BOOL),
    req('data', JSON_MAP),
  ],
  llm_request: [
    req('request_id', STR),
    req('session_id', STR),
    opt('user_id', STR),
    opt('model', STR),
    opt('prompt', STR),
    opt('prompt_tokens', INT, NON_NEG),
    opt('max_tokens', INT, NON_NEG),
    opt('output_length', ENUM, { values: OUTPUT_LENGTHS }),
    opt('task_type', STR),
    opt('language', STR),
    opt('priority', NUM, { min: 0, max: 10 }),
    opt('user_tier', ENUM, { values: USER_TIERS }),
    opt('follow_up', BOOL),
  ],
  model_catalog: [
    req('model', STR),
    req('provider', STR),
    req('context_length', INT, { min: 1 }),
    req('cost_per_1k_input', NUM, NON_NEG),
    req('cost_per_1k_output', NUM, NON_NEG),
    req('capability_score', NUM, FRACTION),
    req('training_cutoff', DATE),
    req('supports_functions', BOOL),
    req('supports_vision', BOOL),
    req('supports_json_mode', BOOL),
    req('size_class', ENUM, { values: SIZE_CLASSES }),
  ],
  api_call: [
    req('session_id', STR),
    opt('user_id', STR),
    req('method', ENUM, { values: HTTP_METHODS }),
    req('path', STR, { check: apiPathProblem }),
    opt('resource', STR),
    opt('status', INT, { min: 100, max: 599 }),
    opt('prompt', STR),
    opt('tenant', STR),
  ],
};

interface TypeSpec {
  readonly type: EventType;
  /** `id`, `timestamp`, then the type's own fields. */
  readonly fields: readonly Field[];
  readonly known: ReadonlySet<string>;
}

const SPECS = new Map<string, TypeSpec>(
  EVENT_TYPES.map((type) => {
    const fields = [req('id', STR), req('timestamp', TS), ...FIELDS[type]];
    return [type, { type, fields, known: new Set(['type', ...fields.map((f) => f.name)]) }];
  }),
);

const EXPECTED: readonly string[] = [
  'string',
  'boolean',
  'number',
  'integer',
  'string',
  'RFC 3339 timestamp string',
  'date string',
  'object (map of strings)',
  'object (map of numbers)',
  'object',
];

function fail(reason: ReasonCode, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

/** A value of the wrong type; a non-finite number is reported as such whatever was expected. */
function typeFail(path: string, expected: string, v: unknown): DecodeResult {
  if (typeof v === 'number' && v - v !== 0)
    return fail('non_finite', `${path}: expected a finite number, got ${v}`);
  return fail('wrong_type', `${path}: expected ${expected}, got ${describe(v)}`);
}

function rangeFail(f: Field, v: number): DecodeResult {
  const rule =
    f.max === Number.POSITIVE_INFINITY || f.max === Number.MAX_SAFE_INTEGER
      ? `≥ ${f.min}`
      : `in [${f.min}, ${f.max}]`;
  return fail('out_of_range', `${f.name}: must be ${rule}, got ${v}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a map field's values; null when they are all right. */
function checkMap(f: Field, m: Record<string, unknown>): DecodeResult | null {
  const kind = f.kind;
  if (kind === JSON_MAP) {
    if (!hasNonFinite(m)) return null;
    const found = findNonFinite(m, f.name)!;
    return fail('non_finite', `${found.path}: expected a finite number, got ${found.value}`);
  }
  for (const k in m) {
    const v = m[k];
    if (kind === NUM_MAP) {
      if (typeof v !== 'number' || v - v !== 0) return typeFail(`${f.name}.${k}`, 'number', v);
    } else if (typeof v !== 'string') {
      return typeFail(`${f.name}.${k}`, 'string', v);
    }
  }
  return null;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && v - v === 0;
}

/**
 * The hot path for `performance_metrics`: the same checks as its {@link FIELDS} row with direct
 * property access (monomorphic loads instead of keyed ones), for a record with no extra fields.
 * Returns the event time, or NaN when anything is off; the caller then runs the table-driven
 * validator, which finds and words the fault (or accepts the extra fields).
 */
function fastPerformanceMetrics(o: Record<string, unknown>): number {
  const timestamp = o.timestamp;
  if (typeof o.id !== 'string' || typeof timestamp !== 'string') return Number.NaN;
  const ts = parseTimestamp(timestamp);
  if (ts === null || typeof o.request_id !== 'string' || typeof o.model !== 'string') return Number.NaN;
  let present = 10; // the required fields, `type` included
  const configId = o.config_id;
  if (configId !== undefined) {
    present++;
    if (configId !== null && typeof configId !== 'string') return Number.NaN;
  }
  const latency = o.latency_ms;
  if (!isFiniteNumber(latency) || latency < 0) return Number.NaN;
  const input = o.input_tokens;
  if (!Number.isSafeInteger(input) || (input as number) < 0) return Number.NaN;
  const output = o.output_tokens;
  if (!Number.isSafeInteger(output) || (output as number) < 0) return Number.NaN;
  const cost = o.cost;
  if (!isFiniteNumber(cost) || cost < 0) return Number.NaN;
  const quality = o.quality_score;
  if (quality !== undefined) {
    present++;
    if (quality !== null && !isFiniteNumber(quality)) return Number.NaN;
  }
  const error = o.error;
  if (error !== undefined) {
    present++;
    if (error !== null && typeof error !== 'string') return Number.NaN;
  }
  const metrics = o.metrics;
  if (!isPlainObject(metrics)) return Number.NaN;
  for (const k in metrics) if (!isFiniteNumber(metrics[k])) return Number.NaN;
  let keys = 0;
  for (const _ in o) keys++;
  return keys === present ? ts : Number.NaN;
}

/**
 * Validates a parsed JSON value as an input event.
 *
 * @example
 * const r = decodeValue({ type: 'performance_metrics', latency_ms: 'fast' });
 * // { ok: false, reason: 'missing_field', detail: 'id: required field is missing' }
 */
export function decodeValue(value: unknown): DecodeResult {
  if (!isPlainObject(value)) return fail('wrong_type', `event: expected JSON object, got ${describe(value)}`);
  const o = value;
  const type = o.type;
  const spec = typeof type === 'string' ? SPECS.get(type) : undefined;
  if (spec === undefined) {
    const detail =
      type === undefined
        ? 'type: missing'
        : typeof type === 'string'
          ? `type: unknown event type ${quote(type)}`
          : `type: expected string, got ${describe(type)}`;
    return fail('unknown_type', detail);
  }

  if (spec.type === 'performance_metrics') {
    const t = fastPerformanceMetrics(o);
    if (!Number.isNaN(t)) return { ok: true, event: { type: spec.type, ts: t, body: o } };
  }
  return validate(spec, o);
}

/** The table-driven validator: every type, every fault, extra fields. */
function validate(spec: TypeSpec, o: Record<string, unknown>): DecodeResult {
  const fields = spec.fields;
  let present = 1; // `type`
  let ts = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const v = o[f.name];
    if (v === undefined || v === null) {
      if (v === null) present++;
      if (f.optional) continue;
      return fail(
        'missing_field',
        v === null ? `${f.name}: required, got null` : `${f.name}: required field is missing`,
      );
    }
    present++;
    switch (f.kind) {
      case STR: {
        if (typeof v !== 'string') return typeFail(f.name, 'string', v);
        const bad = f.check?.(v) ?? null;
        if (bad !== null) return fail('out_of_range', `${f.name}: ${bad}`);
        break;
      }
      case BOOL:
        if (typeof v !== 'boolean') return typeFail(f.name, 'boolean', v);
        break;
      case NUM:
        if (typeof v !== 'number' || v - v !== 0) return typeFail(f.name, 'number', v);
        if (v < f.min || v > f.max) return rangeFail(f, v);
        break;
      case INT:
        if (typeof v !== 'number' || !Number.isInteger(v)) return typeFail(f.name, 'integer', v);
        if (v < f.min || v > f.max) return rangeFail(f, v);
        break;
      case ENUM:
        if (typeof v !== 'string') return typeFail(f.name, 'string', v);
        if (!f.values!.has(v)) {
          return fail(
            'out_of_range',
            `${f.name}: expected one of ${[...f.values!].join('|')}, got ${quote(v)}`,
          );
        }
        break;
      case TS: {
        if (typeof v !== 'string') return typeFail(f.name, EXPECTED[TS]!, v);
        const t = parseTimestamp(v);
        if (t === null) return fail('bad_timestamp', `${f.name}: not an RFC 3339 timestamp: ${quote(v)}`);
        ts = t;
        break;
      }
      case DATE:
        if (typeof v !== 'string') return typeFail(f.name, EXPECTED[DATE]!, v);
        if (parseDateOrTimestamp(v) === null) {
          return fail(
            'bad_timestamp',
            `${f.name}: not a date (YYYY-MM-DD) or RFC 3339 timestamp: ${quote(v)}`,
          );
        }
        break;
      default: {
        if (!isPlainObject(v)) return typeFail(f.name, EXPECTED[f.kind]!, v);
        const bad = checkMap(f, v);
        if (bad !== null) return bad;
      }
    }
  }

  // Unknown extra fields are kept; they only need looking at when there are some.
  let keys = 0;
  for (const _ in o) keys++;
  if (keys > present) {
    for (const k in o) {
      if (!spec.known.has(k) && hasNonFinite(o[k])) {
        const found = findNonFinite(o[k], k)!;
        return fail('non_finite', `${found.path}: expected a finite number, got ${found.value}`);
      }
    }
  }
  return { ok: true, event: { type: spec.type, ts, body: o } };
}

/**
 * Decodes one NDJSON line (without its newline; a trailing `\r` and a leading byte-order mark
 * are tolerated). A line over `maxBytes` of UTF-8 is refused before it is parsed.
 *
 * @example
 * const r = decodeLine('{"type":"system_health","id":"a","timestamp":"2025-01-15T10:30:00Z",' +
 *   '"component":"api","status":"healthy","metrics":{}}');
 * if (r.ok) r.event.ts; // 1736937000000
 */
export function decodeLine(line: string, maxBytes: number = DEFAULT_MAX_LINE_BYTES): DecodeResult {
  const n = line.length;
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: count bytes only when it can matter.
  if (n > maxBytes || (n * 3 > maxBytes && Buffer.byteLength(line, 'utf8') > maxBytes)) {
    return fail('oversize', `line is ${Buffer.byteLength(line, 'utf8')} bytes, limit ${maxBytes}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(n > 0 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line);
  } catch (e) {
    return fail('not_json', notJsonDetail(line, e));
  }
  return decodeValue(value);
}
