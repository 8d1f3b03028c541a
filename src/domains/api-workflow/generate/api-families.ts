/**
 * Scenario families derived from a real OpenAPI document, so `generate --kind api --spec FILE`
 * writes labelled sessions over any API surface, not only the shipped one.
 *
 * Each resource collection of the document (`/repos/{owner}/{repo}/pulls`, `/tasks`) gathers its
 * operations: list (GET collection), create (POST collection), get / update / delete on the item
 * (`…/{id}` with GET, PATCH or PUT, DELETE), confirm actions (POST or PUT to `…/{id}/<action>`
 * where the action is one of the workflow states' confirm segments, e.g. `/merge`), and saves
 * under the item (POST to a sub-collection such as `…/{pull_number}/reviews`). A resource gets
 * the flows its operations allow:
 *
 * - `browse_edit_save`: list (1–2×) → get → update (1–2×) → a save (a sub-collection POST, else
 *   the create), when it has a browse, an update and a save;
 * - `browse_confirm_save`: list (1–2×) → get → confirm → a save, when it has a browse, a confirm
 *   and a save;
 * - `cold_start_create`: create → a sub-collection POST (half the time) → get (70 %), when it
 *   has a create.
 *
 * Prompts are the operations' own summaries (what the user asks for); noise calls are the
 * resource's other operations. The families kept are the `max` resources with the most flows
 * (then the most operations, then by path), so a spec of a thousand operations (GitHub's) gives
 * a varied but bounded mix. A document with no resource that allows a flow is a
 * {@link ConfigError}.
 *
 * @example
 * const families = familiesFromSpec(loadOpenApi('github.json'), { max: 24 });
 * generateApiCalls({ events: 10_000, seed: 1, families });
 */
import { ConfigError } from '../../../shared/errors.js';
import type { ApiEndpoint, ApiSpec } from '../openapi.js';
import { ACTION_SEGMENTS } from '../states.js';
import { type Family, PATTERNS, type PatternName, type Step, step } from './api-stream.js';

const isParam = (seg: string) => seg.startsWith('{') && seg.endsWith('}');

interface Resource {
  readonly collection: string;
  list?: ApiEndpoint;
  create?: ApiEndpoint;
  get?: ApiEndpoint;
  update?: ApiEndpoint;
  confirm?: ApiEndpoint;
  readonly subSaves: ApiEndpoint[];
  readonly all: ApiEndpoint[];
}

export interface FamiliesFromSpecOptions {
  /** How many resources to keep (default 24). */
  readonly max?: number;
}

/** The scenario families an OpenAPI document allows (see the module comment). */
export function familiesFromSpec(spec: ApiSpec, opts: FamiliesFromSpecOptions = {}): Family[] {
  const resources = new Map<string, Resource>();
  const resource = (collection: string): Resource => {
    let r = resources.get(collection);
    if (r === undefined) {
      r = { collection, subSaves: [], all: [] };
      resources.set(collection, r);
    }
    return r;
  };
  for (const e of spec.endpoints) {
    const segs = e.path.split('/');
    const last = segs[segs.length - 1] ?? '';
    const m = e.method;
    if (last === '' || segs.length < 2) continue;
    if (isParam(last)) {
      // An item: …/collection/{id}.
      const r = resource(segs.slice(0, -1).join('/'));
      r.all.push(e);
      if (m === 'GET') r.get ??= e;
      else if (m === 'PATCH' || m === 'PUT')
        r.update = m === 'PATCH' || r.update === undefined ? e : r.update;
      continue;
    }
    const parent = segs[segs.length - 2] ?? '';
    if (isParam(parent) && segs.length >= 4) {
      // Under an item: …/collection/{id}/last — a confirm action or a sub-collection.
      const r = resource(segs.slice(0, -2).join('/'));
      r.all.push(e);
      if ((m === 'POST' || m === 'PUT') && ACTION_SEGMENTS.has(last.toLowerCase())) r.confirm ??= e;
      else if (m === 'POST') r.subSaves.push(e);
    }
    // A collection: …/collection.
    const r = resource(e.path);
    r.all.push(e);
    if (m === 'GET') r.list ??= e;
    else if (m === 'POST') r.create ??= e;
  }
  const families: { family: Family; flows: number; ops: number }[] = [];
  for (const r of resources.values()) {
    const family = familyOf(r, spec.title);
    if (family === null) continue;
    families.push({ family, flows: Object.keys(family.flows).length, ops: r.all.length });
  }
  if (families.length === 0)
    throw new ConfigError(
      `${spec.title}: no resource allows a workflow (a collection with a create, or a browse with an update or confirm and a save)`,
      { field: 'spec' },
    );
  families.sort(
    (a, b) =>
      b.flows - a.flows ||
      b.ops - a.ops ||
      (a.family.name < b.family.name ? -1 : a.family.name > b.family.name ? 1 : 0),
  );
  return families.slice(0, opts.max ?? 24).map((f) => f.family);
}

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function familyOf(r: Resource, title: string): Family | null {
  const browse: Step[] = [];
  if (r.list !== undefined) browse.push(step('GET', r.list.path, { rep: [1, 2] }));
  if (r.get !== undefined) browse.push(step('GET', r.get.path));
  const save = r.subSaves[0] ?? r.create;
  const flows: Partial<Record<PatternName, readonly Step[]>> = {};
  const prompts: Partial<Record<PatternName, readonly string[]>> = {};
  if (browse.length > 0 && r.update !== undefined && save !== undefined) {
    flows.browse_edit_save = [
      ...browse,
      step(r.update.method, r.update.path, { rep: [1, 2] }),
      step(save.method, save.path),
    ];
    prompts.browse_edit_save = [
      r.update.description,
      `${r.update.description} and ${lower(save.description)}`,
    ];
  }
  if (browse.length > 0 && r.confirm !== undefined && save !== undefined) {
    flows.browse_confirm_save = [
      ...browse,
      step(r.confirm.method, r.confirm.path),
      step(save.method, save.path),
    ];
    prompts.browse_confirm_save = [
      r.confirm.description,
      `${r.confirm.description} and ${lower(save.description)}`,
    ];
  }
  if (r.create !== undefined) {
    const after: Step[] = [];
    if (r.subSaves[0] !== undefined) after.push(step('POST', r.subSaves[0].path, { opt: 0.5 }));
    if (r.get !== undefined) after.push(step('GET', r.get.path, { opt: 0.7 }));
    flows.cold_start_create = [step('POST', r.create.path), ...after];
    prompts.cold_start_create = [r.create.description];
  }
  if (PATTERNS.every((p) => flows[p] === undefined)) return null;
  const slug = (title.toLowerCase().match(/[a-z0-9]+/g) ?? ['api']).slice(0, 2).join('-');
  return {
    name: `${slug}:${r.collection}`,
    flows,
    endpoints: r.all.map((e) => [e.method, e.path] as const),
    prompts,
    tenants: [1, 2, 3].map((i) => `${slug}-t${i}`),
  };
}
