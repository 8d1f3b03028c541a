/**
 * The function table: the filters, maps (extractors) and keyed processors that topology nodes
 * name in their `fn` (built-in ones first, then those a `--plugin` module adds through
 * `registerFunction`). Aggregations a plugin adds live in `aggregation-functions.ts`. Not to be
 * confused with the feature registry (`src/registry/`) or Confluent's schema registry (see
 * docs/glossary.md).
 */
import { ConfigError } from '../src/shared/errors.js';
import type { DecodedEvent } from './schemas.js';
import type { JsonValue, ProcessNode } from '../topology/nodes.js';
import { API_ATTRIBUTES, API_FIELDS, apiExtract } from '../src/domains/api-workflow/operators/api-extract.js';
import { ContextRowOperator } from '../src/domains/llm/operators/context-row.js';
import { DerivedJoinOperator } from '../src/domains/llm/operators/derived-join.js';
import {
  MODEL_FIELDS,
  modelExtract,
  DERIVED_FIELDS,
  derivedExtract,
  HEALTH_FIELDS,
  healthExtract,
  type MapFn,
  PERF_FIELDS,
  perfValues,
  SESSION_FIELDS,
  sessionExtract,
} from '../src/domains/llm/operators/extractors.js';
import { ModelTableOperator } from '../src/domains/llm/operators/model-table.js';
import type { Operator } from './operator.js';
import { RequestRowOperator } from '../src/domains/llm/operators/request-row.js';
import { WfNgramOperator } from '../src/domains/api-workflow/operators/wf-ngram.js';
import { WfPopularityOperator } from '../src/domains/api-workflow/operators/wf-popularity.js';
import {
  validateWorkflowParams,
  WfSessionOperator,
} from '../src/domains/api-workflow/operators/wf-session.js';
import { WfTransitionOperator } from '../src/domains/api-workflow/operators/wf-transition.js';

export type { MapContext, MapFn } from '../src/domains/llm/operators/extractors.js';

/**
 * A record after the map stage: event time, string attributes (candidate keys) and numeric
 * fields in the order the map node declares. NaN encodes a missing number (SQL NULL); `values`
 * may stop before the last field, and the fields it leaves out are NaN.
 */
export interface ExtractedRecord {
  readonly ts: number;
  readonly attrs: Readonly<Record<string, string>>;
  readonly values: readonly number[];
}

/** A named predicate over decoded events, instantiated with the node's params. */
export interface FilterDef {
  readonly description: string;
  create(params: JsonValue | undefined): (event: DecodedEvent) => boolean;
  /**
   * For a filter that is exactly a test of the event type: the types it keeps. The decode stage
   * then routes each event only to the chains that keep its type and does not call the filter.
   */
  types?(params: JsonValue | undefined): readonly string[];
}

/** A named extractor: the fields and attributes it produces, and its factory. */
export interface MapDef {
  readonly description: string;
  readonly fields: readonly string[];
  readonly attributes: readonly string[];
  /** True when the function reads prompt embeddings from its context (the stage embeds the batch's prompts first). */
  readonly needsEmbeddings?: boolean;
  create(params: JsonValue | undefined): MapFn;
}

/** A named keyed processor (process node): the fields and attributes it reads, and its factory. */
export interface ProcessorDef {
  readonly description: string;
  readonly requiresFields: readonly string[];
  readonly requiresAttributes: readonly string[];
  /** Throws (with a message naming the parameter) when `params` are not valid. */
  validate(params: JsonValue | undefined): void;
  create(node: ProcessNode, fields: readonly string[], attributes: readonly string[]): Operator;
}

const positiveInts = (params: JsonValue | undefined, names: readonly string[]): void => {
  const p = (params ?? {}) as Record<string, unknown>;
  for (const n of names) {
    const v = p[n];
    if (!(Number.isSafeInteger(v) && (v as number) > 0)) {
      throw new TypeError(`params.${n} must be a positive integer (ms), got ${JSON.stringify(v)}`);
    }
  }
};

/** Predicates by name (built-in, then those of loaded plugins). */
export const FILTERS: ReadonlyMap<string, FilterDef> = new Map<string, FilterDef>([
  [
    'event-type',
    {
      description: 'keeps events whose `type` equals params.type',
      create(params) {
        const wanted = (params as { type?: unknown } | undefined)?.type;
        if (typeof wanted !== 'string') throw new TypeError('event-type filter needs params.type (a string)');
        return (e) => e.type === wanted;
      },
      types: (params) => [(params as { type: string }).type],
    },
  ],
  [
    'event-types',
    {
      description: 'keeps events whose `type` is one of params.types',
      create(params) {
        const wanted = (params as { types?: unknown } | undefined)?.types;
        if (!Array.isArray(wanted) || wanted.length === 0 || !wanted.every((t) => typeof t === 'string')) {
          throw new TypeError('event-types filter needs params.types (a non-empty array of strings)');
        }
        const set = new Set<string>(wanted as string[]);
        return (e) => set.has(e.type);
      },
      types: (params) => (params as { types: string[] }).types,
    },
  ],
]);

/** Extractors by name (see operators/extractors.ts; then those of loaded plugins). */
export const MAPS: ReadonlyMap<string, MapDef> = new Map<string, MapDef>([
  [
    'perf-extract',
    {
      description:
        'performance_metrics → latency_ms, cost, input/output tokens, ok (error is null), err (error set), retries (metrics.retries, else 0), timeout (error mentions a timeout)',
      fields: PERF_FIELDS,
      attributes: ['model'],
      create() {
        return (e) => ({ ts: e.ts, attrs: { model: e.body.model as string }, values: perfValues(e.body) });
      },
    },
  ],
  [
    'session-extract',
    {
      description:
        'llm_request and user_feedback → is_request, feedback fields (rating, liked, task_completed, regenerated, dwell, copied), follow_up and the per-event request features (REQ_001–013, REQ_015); NaN where a field is not of the event type',
      fields: SESSION_FIELDS,
      attributes: ['session_id', 'request_id', 'user_id'],
      create: () => sessionExtract,
    },
  ],
  [
    'catalog-extract',
    {
      description:
        'model_catalog → MDL_001–010 at the announcement, raw prices (cost_in, cost_out) and cutoff_ms',
      fields: MODEL_FIELDS,
      attributes: ['catalog', 'model'],
      create: () => modelExtract,
    },
  ],
  [
    'health-extract',
    {
      description:
        'system_health → CTX_001–006, CTX_009, CTX_010 of the report and healthy (status = healthy)',
      fields: HEALTH_FIELDS,
      attributes: ['component'],
      create: () => healthExtract,
    },
  ],
  [
    'derived-extract',
    {
      description:
        'llm_request, model_catalog, system_health, performance_metrics → one wide layout for the derived join (kind, perf fields, catalog fields, context fields, request features, 8-dim prompt embedding)',
      fields: DERIVED_FIELDS,
      attributes: ['all', 'model', 'user_id', 'request_id'],
      needsEmbeddings: true,
      create: () => derivedExtract,
    },
  ],
  [
    'api-extract',
    {
      description:
        'api_call → endpoint id (METHOD + path template: OpenAPI templates of params.spec, else the id heuristic), workflow state, resource id, method; keys session_id, tenant, endpoint_key, all',
      fields: API_FIELDS,
      attributes: API_ATTRIBUTES,
      create: apiExtract,
    },
  ],
]);

/** Keyed processors by name (built-in, then those of loaded plugins). */
export const PROCESSORS: ReadonlyMap<string, ProcessorDef> = new Map<string, ProcessorDef>([
  [
    'request-row',
    {
      description: 'request rows (REQ_001–015) with REQ_014 session depth as keyed state per session_id',
      requiresFields: ['is_request'],
      requiresAttributes: ['request_id'],
      validate: (p) => positiveInts(p, ['gap', 'maxDuration', 'lateness']),
      create: (node, fields, attrs) => new RequestRowOperator(node, fields, attrs),
    },
  ],
  [
    'model-catalog',
    {
      description:
        'the model catalog as a table; model_static rows (MDL_001–010) normalised by the catalog maxima',
      requiresFields: ['cost_in', 'cost_out', 'cutoff_ms'],
      requiresAttributes: ['model'],
      validate: () => {},
      create: (node, fields, attrs) => new ModelTableOperator(node, fields, attrs),
    },
  ],
  [
    'context-row',
    {
      description:
        'context rows (CTX_001–007, 009, 010) with CTX_007 availability over the last 5 min per component',
      requiresFields: ['healthy'],
      requiresAttributes: [],
      validate: (p) => positiveInts(p, ['availabilityWindow']),
      create: (node, fields, attrs) => new ContextRowOperator(node, fields, attrs),
    },
  ],
  [
    'derived-join',
    {
      description:
        'derived rows (DRV_001–010): each llm_request joined with the latest model_static entry, the latest fired perf_5min window of its model and the latest context',
      requiresFields: ['kind'],
      requiresAttributes: ['model', 'user_id', 'request_id'],
      validate: (p) => positiveInts(p, ['fatigueHalfLife', 'clusters']),
      create: (node, fields, attrs) => new DerivedJoinOperator(node, fields, attrs),
    },
  ],
  [
    'wf-session',
    {
      description: 'wf_session rows: per-session history (last 16 calls), detected pattern and confidence',
      requiresFields: ['endpoint', 'state', 'resource'],
      requiresAttributes: [],
      validate: (p) => validateWorkflowParams(p, ['gap', 'lateness']),
      create: (node, fields, attrs) => new WfSessionOperator(node, fields, attrs),
    },
  ],
  [
    'wf-ngram',
    {
      description: 'decayed endpoint bigram/trigram counts, their contexts and the vocabulary, per scope key',
      requiresFields: ['endpoint'],
      requiresAttributes: ['session_id'],
      validate: (p) => validateWorkflowParams(p, ['halfLife', 'gap', 'lateness']),
      create: (node, fields, attrs) => new WfNgramOperator(node, fields, attrs),
    },
  ],
  [
    'wf-transition',
    {
      description:
        'decayed state-transition and method counts after each state, per detected pattern and overall',
      requiresFields: ['endpoint', 'state', 'method'],
      requiresAttributes: ['session_id'],
      validate: (p) => validateWorkflowParams(p, ['halfLife', 'gap', 'lateness']),
      create: (node, fields, attrs) => new WfTransitionOperator(node, fields, attrs),
    },
  ],
  [
    'wf-popularity',
    {
      description: 'exponentially weighted calls per endpoint and of all endpoints (popularity)',
      requiresFields: ['endpoint'],
      requiresAttributes: [],
      validate: (p) => validateWorkflowParams(p, ['halfLife', 'gap', 'lateness']),
      create: (node, fields, attrs) => new WfPopularityOperator(node, fields, attrs),
    },
  ],
]);

/** Decoding schemas by name. */
export const SCHEMAS: ReadonlySet<string> = new Set(['llm-events']);

/** Which function table a plugin function goes into. */
export type FunctionKind = 'filter' | 'map' | 'processor';

/**
 * Adds a function to its function table (see `plugins.ts`); a name already taken is a ConfigError naming
 * `source` (the plugin) and the name.
 */
export function registerFunction(
  kind: FunctionKind,
  name: string,
  def: FilterDef | MapDef | ProcessorDef,
  source: string,
): void {
  const map = (kind === 'filter' ? FILTERS : kind === 'map' ? MAPS : PROCESSORS) as Map<string, unknown>;
  if (map.has(name)) {
    throw new ConfigError(
      `${source}: ${kind} \`${name}\` is already registered (a built-in or another plugin)`,
      {
        field: '--plugin',
      },
    );
  }
  map.set(name, def);
}
