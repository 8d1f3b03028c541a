/**
 * The llm domain as a plugin: the `llm-events` schema (its hand-tuned decoder), the 65-feature
 * catalog, the prompt-embedding provider, the extractors and keyed processors of the
 * `llm-features` and `llm-perf` topologies, and those topologies' files. It registers itself
 * through the same plugin API as a user's `--plugin` module (`featurestream/plugin`).
 *
 * @example
 * import { registerPlugin } from 'featurestream/plugin';
 * registerPlugin(llmPlugin);
 * loadTopology('llm-features');
 */
import type { JsonValue } from '../../../topology/index.js';
import { assetPath } from '../../shared/asset-path.js';
import {
  definePlugin,
  type MapContext,
  type MapFn,
  type PluginEvent,
  type PluginRecord,
  type ProviderInstance,
} from '../../../operators/index.js';
import { decodeLine } from './events/decode.js';
import type { DecodedEvent } from './events/types.js';
import { CATALOG_ENTRIES } from './features/catalog.js';
import { DEFAULT_EMBEDDER, type EmbedderName } from './features/embeddings/models.js';
import { ContextRowOperator } from './operators/context-row.js';
import { DerivedJoinOperator } from './operators/derived-join.js';
import {
  DERIVED_FIELDS,
  derivedExtract,
  HEALTH_FIELDS,
  healthExtract,
  MODEL_FIELDS,
  modelExtract,
  PERF_FIELDS,
  perfValues,
  SESSION_FIELDS,
  sessionExtract,
} from './operators/extractors.js';
import { ModelTableOperator } from './operators/model-table.js';
import { RequestRowOperator } from './operators/request-row.js';

/** This domain's folder in the source tree (for its files when the build has no copy). */
const HERE = 'src/domains/llm';

/** The provider of projected prompt embeddings (`derived-extract` needs it). */
export const PROMPT_EMBEDDING = 'prompt-embedding';

/** The run options of the prompt-embedding provider (`providerOptions['prompt-embedding']`). */
export interface PromptEmbeddingOptions {
  /** Persistent cache directory (absent or null: memory only). */
  readonly cache?: string | null;
  /** The embedder (default `static`). */
  readonly model?: EmbedderName;
}

/** The provider options of a run, for `RunOptions.providerOptions`. */
export function promptEmbeddingOptions(o: PromptEmbeddingOptions): Record<string, Record<string, unknown>> {
  return { [PROMPT_EMBEDDING]: { ...o } };
}

/** An extractor of this domain (typed for its own events) as a `columns` plugin map. */
const columns = (fn: (e: DecodedEvent, ctx: MapContext) => ReturnType<MapFn>) =>
  fn as unknown as (e: PluginEvent, ctx: MapContext) => PluginRecord | null;

const positiveInts = (params: JsonValue | undefined, names: readonly string[]): void => {
  const p = (params ?? {}) as Record<string, unknown>;
  for (const n of names) {
    const v = p[n];
    if (!(Number.isSafeInteger(v) && (v as number) > 0)) {
      throw new TypeError(`params.${n} must be a positive integer (ms), got ${JSON.stringify(v)}`);
    }
  }
};

/**
 * The embedder and its projection, loaded on a provider's first batch: the embedder's cache is a
 * LevelDB, and a thread that registers the domain without embedding (the command line's main
 * thread, a run of a topology without prompts) does not load it.
 */
let embeddingModules:
  | Promise<
      [
        typeof import('./features/embeddings/embedder.js'),
        typeof import('./features/embeddings/projection.js'),
      ]
    >
  | undefined;

/** Projected prompt embeddings of a batch's distinct prompts, from the shared, cached embedder. */
function openPromptEmbeddings(options: Readonly<Record<string, unknown>>): ProviderInstance {
  const cacheDir = (options.cache as string | null | undefined) ?? null;
  const model = (options.model as EmbedderName | undefined) ?? DEFAULT_EMBEDDER;
  return {
    async resolve(texts) {
      embeddingModules ??= Promise.all([
        import('./features/embeddings/embedder.js'),
        import('./features/embeddings/projection.js'),
      ]);
      const [{ sharedEmbedder }, { project }] = await embeddingModules;
      const embedder = await sharedEmbedder(cacheDir, { model });
      const before = embedder.stats();
      const vectors = await embedder.embed(texts);
      const after = embedder.stats();
      const cacheHits = after.memoryHits + after.diskHits - before.memoryHits - before.diskHits;
      return { values: vectors.map((v) => project(v, model)), cacheHits };
    },
  };
}

/** The llm domain's plugin object. */
export const llmPlugin = definePlugin({
  name: 'llm',
  schemas: {
    'llm-events': {
      description: 'the events of LLM applications (shared/spec/events.md): eight types, hand-tuned decoder',
      eventTime: 'timestamp',
      eventType: 'type',
      decode: decodeLine,
    },
  },
  catalog: CATALOG_ENTRIES,
  providers: {
    [PROMPT_EMBEDDING]: {
      description: 'the 8-dim projected embedding of an llm_request prompt (batched, cached)',
      key: (e) => (e.type === 'llm_request' && typeof e.body.prompt === 'string' ? e.body.prompt : null),
      open: openPromptEmbeddings,
    },
  },
  maps: {
    'perf-extract': {
      description:
        'performance_metrics → latency_ms, cost, input/output tokens, ok (error is null), err (error set), retries (metrics.retries, else 0), timeout (error mentions a timeout)',
      fields: PERF_FIELDS,
      attributes: ['model'],
      output: 'columns',
      create: () =>
        columns((e) => ({ ts: e.ts, attrs: { model: e.body.model as string }, values: perfValues(e.body) })),
    },
    'session-extract': {
      description:
        'llm_request and user_feedback → is_request, feedback fields (rating, liked, task_completed, regenerated, dwell, copied), follow_up and the per-event request features (REQ_001–013, REQ_015); NaN where a field is not of the event type',
      fields: SESSION_FIELDS,
      attributes: ['session_id', 'request_id', 'user_id'],
      output: 'columns',
      create: () => columns(sessionExtract),
    },
    'catalog-extract': {
      description:
        'model_catalog → MDL_001–010 at the announcement, raw prices (cost_in, cost_out) and cutoff_ms',
      fields: MODEL_FIELDS,
      attributes: ['catalog', 'model'],
      output: 'columns',
      create: () => columns(modelExtract),
    },
    'health-extract': {
      description:
        'system_health → CTX_001–006, CTX_009, CTX_010 of the report and healthy (status = healthy)',
      fields: HEALTH_FIELDS,
      attributes: ['component'],
      output: 'columns',
      create: () => columns(healthExtract),
    },
    'derived-extract': {
      description:
        'llm_request, model_catalog, system_health, performance_metrics → one wide layout for the derived join (kind, perf fields, catalog fields, context fields, request features, 8-dim prompt embedding)',
      fields: DERIVED_FIELDS,
      attributes: ['all', 'model', 'user_id', 'request_id'],
      needs: [PROMPT_EMBEDDING],
      output: 'columns',
      create: () => columns(derivedExtract),
    },
  },
  operators: {
    'request-row': {
      description: 'request rows (REQ_001–015) with REQ_014 session depth as keyed state per session_id',
      requiresFields: ['is_request'],
      requiresAttributes: ['request_id'],
      validate: (p) => positiveInts(p, ['gap', 'maxDuration', 'lateness']),
      operator: (node, fields, attrs) => new RequestRowOperator(node, fields, attrs),
    },
    'model-catalog': {
      description:
        'the model catalog as a table; model_static rows (MDL_001–010) normalised by the catalog maxima',
      requiresFields: ['cost_in', 'cost_out', 'cutoff_ms'],
      requiresAttributes: ['model'],
      validate: () => {},
      operator: (node, fields, attrs) => new ModelTableOperator(node, fields, attrs),
    },
    'context-row': {
      description:
        'context rows (CTX_001–007, 009, 010) with CTX_007 availability over the last 5 min per component',
      requiresFields: ['healthy'],
      requiresAttributes: [],
      validate: (p) => positiveInts(p, ['availabilityWindow']),
      operator: (node, fields, attrs) => new ContextRowOperator(node, fields, attrs),
    },
    'derived-join': {
      description:
        'derived rows (DRV_001–010): each llm_request joined with the latest model_static entry, the latest fired perf_5min window of its model and the latest context',
      requiresFields: ['kind'],
      requiresAttributes: ['model', 'user_id', 'request_id'],
      validate: (p) => positiveInts(p, ['fatigueHalfLife', 'clusters']),
      operator: (node, fields, attrs) => new DerivedJoinOperator(node, fields, attrs),
    },
  },
  topologies: {
    'llm-features': assetPath(
      import.meta.url,
      './topologies/llm-features.yaml',
      `${HERE}/topologies/llm-features.yaml`,
    ),
    'llm-perf': assetPath(import.meta.url, './topologies/llm-perf.yaml', `${HERE}/topologies/llm-perf.yaml`),
  },
});

export default llmPlugin;
