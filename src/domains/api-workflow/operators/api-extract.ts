/**
 * The `api-extract` map of the `api-workflow` topology: an `api_call` → its endpoint (the
 * `METHOD template` id, the path normalised through the OpenAPI templates of `params.spec` —
 * `builtin` for the shipped surface, a file path, or absent for the id heuristic alone), workflow
 * state, resource and method, keyed by session, tenant (`''` when none), endpoint and `all`.
 */
import type { DecodedEvent } from '../../../../operators/index.js';
import { ConfigError } from '../../../shared/errors.js';
import { idHex } from '../ids.js';
import { resolveEndpoint } from '../model.js';
import { resolveSpec } from '../openapi.js';
import { PathNormalizer } from '../paths.js';
import { PRIOR_METHODS } from '../states.js';
import type { JsonValue } from '../../../../topology/index.js';
import type { MapFn } from '../../../../operators/index.js';

/** Numeric fields: endpoint id, state index, resource id, method index (PRIOR_METHODS). */
export const API_FIELDS = ['endpoint', 'state', 'resource', 'method'] as const;
export const API_ATTRIBUTES = ['session_id', 'tenant', 'endpoint_key', 'all'] as const;

/** Checks `params` (`{ spec?: 'builtin' | FILE }`); errors name the field. */
export function validateApiExtractParams(params: JsonValue | undefined): void {
  const spec = (params as { spec?: unknown } | undefined)?.spec;
  if (spec !== undefined && (typeof spec !== 'string' || spec === '')) {
    throw new ConfigError(
      `params.spec must be "builtin" or an OpenAPI 3 file path, got ${JSON.stringify(spec)}`,
      {
        field: 'params.spec',
      },
    );
  }
}

/** The map function for `params`. */
export function apiExtract(params: JsonValue | undefined): MapFn {
  validateApiExtractParams(params);
  const spec = (params as { spec?: string } | undefined)?.spec;
  const normalizer = new PathNormalizer(
    spec === undefined ? [] : resolveSpec(spec).endpoints.map((e) => e.path),
  );
  const fn = (e: DecodedEvent) => {
    if (e.type !== 'api_call') return null;
    const b = e.body;
    const resource = typeof b.resource === 'string' && b.resource !== '' ? b.resource : null;
    const r = resolveEndpoint(normalizer, b.method as string, b.path as string, resource);
    return {
      ts: e.ts,
      attrs: {
        session_id: b.session_id as string,
        tenant: typeof b.tenant === 'string' ? b.tenant : '',
        endpoint_key: idHex(r.e),
        all: '*',
      },
      values: [r.e, r.s, r.r, PRIOR_METHODS.indexOf(r.method as (typeof PRIOR_METHODS)[number])],
    };
  };
  return fn as unknown as MapFn;
}
