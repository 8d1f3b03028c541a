/**
 * Endpoints from an OpenAPI 3 document: method, path template and a description (the
 * operation's summary, else its description, else its operationId), used to normalise concrete
 * paths (paths.ts) and as candidate descriptions for WF_001. Only what the document says is
 * used; a document that is not OpenAPI 3 is a {@link ConfigError} naming the field.
 *
 * @example
 * const api = loadOpenApi('spec.json');
 * api.endpoints[0]; // { method: 'GET', path: '/v1/invoices', description: 'List invoices' }
 */
import { assetPath } from '../../shared/asset-path.js';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ConfigError } from '../../shared/errors.js';

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'] as const;

/** One operation of the API. */
export interface ApiEndpoint {
  readonly method: string;
  readonly path: string;
  readonly description: string;
  /** The operation's first tag, when it has one (a scenario family in the shipped spec). */
  readonly tag: string | null;
}

/** An API surface. */
export interface ApiSpec {
  readonly title: string;
  readonly version: string;
  readonly endpoints: readonly ApiEndpoint[];
}

/** Reads an OpenAPI 3 document (an already parsed value); `source` names it in errors. */
export function parseOpenApi(doc: unknown, source = 'the OpenAPI document'): ApiSpec {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError(`${source}: expected a JSON object`, { field: 'openapi' });
  }
  const d = doc as Record<string, unknown>;
  if (typeof d.openapi !== 'string' || !d.openapi.startsWith('3.')) {
    throw new ConfigError(
      `${source}: \`openapi\` must be a 3.x version string, got ${JSON.stringify(d.openapi)}`,
      {
        field: 'openapi',
      },
    );
  }
  const paths = d.paths;
  if (typeof paths !== 'object' || paths === null || Array.isArray(paths)) {
    throw new ConfigError(`${source}: \`paths\` must be an object`, { field: 'paths' });
  }
  const info = (typeof d.info === 'object' && d.info !== null ? d.info : {}) as Record<string, unknown>;
  const endpoints: ApiEndpoint[] = [];
  for (const [path, item] of Object.entries(paths as Record<string, unknown>)) {
    if (!path.startsWith('/')) {
      throw new ConfigError(`${source}: paths.${path} must start with "/"`, { field: `paths.${path}` });
    }
    if (typeof item !== 'object' || item === null) continue;
    for (const m of METHODS) {
      const op = (item as Record<string, unknown>)[m];
      if (typeof op !== 'object' || op === null) continue;
      const o = op as Record<string, unknown>;
      const text = [o.summary, o.description, o.operationId].find(
        (x) => typeof x === 'string' && x.trim() !== '',
      );
      const tags = Array.isArray(o.tags) ? o.tags.filter((t): t is string => typeof t === 'string') : [];
      endpoints.push({
        method: m.toUpperCase(),
        path,
        description:
          typeof text === 'string' ? text.trim().split('\n')[0]!.slice(0, 300) : `${m.toUpperCase()} ${path}`,
        tag: tags[0] ?? null,
      });
    }
  }
  if (endpoints.length === 0)
    throw new ConfigError(`${source}: \`paths\` has no operations`, { field: 'paths' });
  return {
    title: typeof info.title === 'string' ? info.title : 'API',
    version: typeof info.version === 'string' ? info.version : '',
    endpoints,
  };
}

/** Reads an OpenAPI 3 JSON file (gzipped when its name ends in `.gz`). */
export function loadOpenApi(file: string): ApiSpec {
  let text: string;
  try {
    const bytes = readFileSync(file);
    text = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the OpenAPI document ${file}: ${(e as Error).message}`, {
      field: 'spec',
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not JSON: ${(e as Error).message}`, { field: 'spec' });
  }
  return parseOpenApi(doc, file);
}

/**
 * The shipped API surface (`specs/saas-api.json`): a trimmed OpenAPI 3 document written for this
 * project after four public SaaS APIs — billing (Stripe's `/v1/invoices`, `/v1/payment_intents`),
 * pull-request management (GitHub's `/repos/{owner}/{repo}/pulls`), CRM (HubSpot's
 * `/crm/v3/objects/…`) and e-commerce (carts, orders, checkouts) — one tag per family.
 */
export function builtinSpecPath(): string {
  return assetPath(import.meta.url, './specs/saas-api.json', 'src/domains/api-workflow/specs/saas-api.json');
}

let builtin: ApiSpec | null = null;

/** The shipped spec, parsed once. */
export function builtinSpec(): ApiSpec {
  builtin ??= loadOpenApi(builtinSpecPath());
  return builtin;
}

/** `builtin` or a file path → a spec. */
export function resolveSpec(spec: string): ApiSpec {
  return spec === 'builtin' ? builtinSpec() : loadOpenApi(spec);
}
