/**
 * The `api-workflow` topology (family B, next-call ranking) from `api_call` events:
 *
 * ```
 *                                      ┌→ by_session → wf_session (process: history, pattern)
 * events → decoded → api_calls → api ──┼→ by_all ─┬→ wf_ngram (process: n-grams, all tenants)
 *                  (filter)   (map)    │          ├→ wf_transition (process: states, methods)
 *                                      │          └→ wf_popularity (process: 1 h popularity)
 *                                      └→ by_tenant → wf_ngram_tenant (process: n-grams per tenant)
 * ```
 *
 * Paths are normalised through the shipped OpenAPI surface (`spec: 'builtin'`). Counts are
 * decayed with a 24 h half-life; popularity weighs calls by exp(−age / 1 h); session state is
 * dropped 30 min after a session's last call (+ 5 min lateness). The serving route
 * (`POST /workflow/rank-features`) reads these groups from the online store.
 *
 * @example
 * renderTopology(apiWorkflowTopology(), 'mermaid');
 */
import { MAPS } from '../../../operators/index.js';
import { API_WORKFLOW_PARAMS } from './params.js';
import { SESSION_VALUE_NAMES } from './session.js';
import { TRANSITION_VALUE_NAMES } from './stats.js';
import { topology } from '../../../topology/index.js';
import type { JsonValue, Topology } from '../../../topology/index.js';

export { API_WORKFLOW_PARAMS };

/** Builds (and validates) the `api-workflow` topology. */
export function apiWorkflowTopology(spec = 'builtin'): Topology {
  const def = MAPS.get('api-extract');
  if (def === undefined) throw new Error('function table has no `api-extract` map');
  const { halfLife, popularityHalfLife, gap, lateness, outOfOrderness } = API_WORKFLOW_PARAMS;
  const counts = { halfLife, gap, lateness } as unknown as JsonValue;
  return topology('api-workflow')
    .describe('API-workflow features for next-call ranking (family B) from api_call events')
    .source('events')
    .decode('decoded', 'events', 'llm-events')
    .filter('api_calls', 'decoded', 'event-type', { type: 'api_call' })
    .map('api', 'api_calls', 'api-extract', {
      fields: def.fields,
      attributes: def.attributes,
      params: { spec },
    })
    .keyBy('by_session', 'api', 'session_id')
    .process('wf_session', 'by_session', {
      key: 'session_id',
      fn: 'wf-session',
      params: { gap, lateness },
      outOfOrderness,
      group: 'wf_session',
      entityType: 'session',
      version: 1,
      features: [{ id: 'WFS_HISTORY', name: 'session_history', values: SESSION_VALUE_NAMES }],
    })
    .keyBy('by_all', 'api', 'all')
    .process('wf_ngram', 'by_all', {
      key: 'all',
      fn: 'wf-ngram',
      params: counts,
      outOfOrderness,
      group: 'wf_ngram',
      entityType: 'ngram',
      version: 1,
      features: [{ id: 'WFN_COUNT', name: 'ngram_count', values: ['count'] }],
    })
    .process('wf_transition', 'by_all', {
      key: 'all',
      fn: 'wf-transition',
      params: counts,
      outOfOrderness,
      group: 'wf_transition',
      entityType: 'transition',
      version: 1,
      features: [{ id: 'WFX_COUNTS', name: 'transition_counts', values: TRANSITION_VALUE_NAMES }],
    })
    .process('wf_popularity', 'by_all', {
      key: 'all',
      fn: 'wf-popularity',
      params: { halfLife: popularityHalfLife, gap, lateness },
      outOfOrderness,
      group: 'wf_popularity',
      entityType: 'endpoint',
      version: 1,
      features: [{ id: 'WFP_COUNT', name: 'popularity_count', values: ['count'] }],
    })
    .keyBy('by_tenant', 'api', 'tenant')
    .process('wf_ngram_tenant', 'by_tenant', {
      key: 'tenant',
      fn: 'wf-ngram',
      params: counts,
      outOfOrderness,
      group: 'wf_ngram_tenant',
      entityType: 'ngram',
      version: 1,
      features: [{ id: 'WFT_COUNT', name: 'tenant_ngram_count', values: ['count'] }],
    })
    .sink('features', ['wf_session', 'wf_ngram', 'wf_transition', 'wf_popularity', 'wf_ngram_tenant'])
    .build();
}
