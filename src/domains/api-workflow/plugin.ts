/**
 * The API-workflow domain as a plugin: the `api-extract` extractor and the `wf-*` keyed
 * processors of the `api-workflow` topology (next-call ranking: sessions, n-grams, transitions,
 * popularity), that topology's file, and the serving API's `POST /workflow/rank-features`
 * (a serve extension). Its events are the `api_call` type of the `llm-events`
 * schema, which the llm domain registers. It registers itself through the same plugin API as a
 * user's `--plugin` module (`featurestream/plugin`).
 */
import { assetPath } from '../../shared/asset-path.js';
import {
  definePlugin,
  type MapContext,
  type PluginEvent,
  type PluginRecord,
} from '../../../operators/index.js';
import type { ServeExtension } from '../../serve/extensions.js';
import { API_ATTRIBUTES, API_FIELDS, apiExtract } from './operators/api-extract.js';
import { WfNgramOperator } from './operators/wf-ngram.js';
import { WfPopularityOperator } from './operators/wf-popularity.js';
import { validateWorkflowParams, WfSessionOperator } from './operators/wf-session.js';
import { WfTransitionOperator } from './operators/wf-transition.js';

/** The shipped `api-workflow` topology file. */
export const API_WORKFLOW_FILE: string = assetPath(
  import.meta.url,
  './api-workflow.yaml',
  'src/domains/api-workflow/api-workflow.yaml',
);

/**
 * `POST /workflow/rank-features` as a serve extension (`ServeOptions.extensionOptions['api-workflow']`:
 * `{ embeddingsDir?: string | null }`). Its routes (serve-routes.ts, with fastify's and
 * prom-client's share) are loaded only when a server mounts it, so commands and workers that
 * register this plugin without serving do not pay for them.
 */
export const apiWorkflowServeExtension: ServeExtension = {
  name: 'api-workflow',
  async register(scope, ctx) {
    const { registerApiWorkflowServe } = await import('./serve-routes.js');
    registerApiWorkflowServe(scope, ctx);
  },
};

/** The API-workflow domain's plugin object. */
export const apiWorkflowPlugin = definePlugin({
  name: 'api-workflow',
  maps: {
    'api-extract': {
      description:
        'api_call → endpoint id (METHOD + path template: OpenAPI templates of params.spec, else the id heuristic), workflow state, resource id, method; keys session_id, tenant, endpoint_key, all',
      fields: API_FIELDS,
      attributes: API_ATTRIBUTES,
      output: 'columns',
      create: (params) =>
        apiExtract(params) as unknown as (e: PluginEvent, ctx: MapContext) => PluginRecord | null,
    },
  },
  operators: {
    'wf-session': {
      description: 'wf_session rows: per-session history (last 16 calls), detected pattern and confidence',
      requiresFields: ['endpoint', 'state', 'resource'],
      requiresAttributes: [],
      validate: (p) => validateWorkflowParams(p, ['gap', 'lateness']),
      operator: (node, fields, attrs) => new WfSessionOperator(node, fields, attrs),
    },
    'wf-ngram': {
      description: 'decayed endpoint bigram/trigram counts, their contexts and the vocabulary, per scope key',
      requiresFields: ['endpoint'],
      requiresAttributes: ['session_id'],
      validate: (p) => validateWorkflowParams(p, ['halfLife', 'gap', 'lateness']),
      operator: (node, fields, attrs) => new WfNgramOperator(node, fields, attrs),
    },
    'wf-transition': {
      description:
        'decayed state-transition and method counts after each state, per detected pattern and overall',
      requiresFields: ['endpoint', 'state', 'method'],
      requiresAttributes: ['session_id'],
      validate: (p) => validateWorkflowParams(p, ['halfLife', 'gap', 'lateness']),
      operator: (node, fields, attrs) => new WfTransitionOperator(node, fields, attrs),
    },
    'wf-popularity': {
      description: 'exponentially weighted calls per endpoint and of all endpoints (popularity)',
      requiresFields: ['endpoint'],
      requiresAttributes: [],
      validate: (p) => validateWorkflowParams(p, ['halfLife', 'gap', 'lateness']),
      operator: (node, fields, attrs) => new WfPopularityOperator(node, fields, attrs),
    },
  },
  topologies: { 'api-workflow': API_WORKFLOW_FILE },
  extensions: { serve: apiWorkflowServeExtension },
});

export default apiWorkflowPlugin;
