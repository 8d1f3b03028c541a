/**
 * A realistic `api_call` stream (`featurestream generate --kind api`): labelled sessions of users
 * working through a SaaS API — the shipped OpenAPI surface (src/domains/api-workflow/specs/saas-api.json) —
 * in the seed's four scenario families (billing, pull-request management, CRM, e-commerce), each
 * session following one of the three shipped workflow patterns (browse → edit → save, browse →
 * confirm → save, a session that starts by creating), with tenants that each favour their own
 * mix, concrete ids in the paths, a prompt stating the user's intent, and noise: with
 * probability `noise` (default 0.1) a random call of the family is slipped in before a step.
 *
 * Each event carries its labels as extra fields (ignored by the features): `scenario`,
 * `pattern` and, on noise calls, `noise: true`. Sessions interleave; lines are in time order,
 * except `badFraction` malformed lines (a path without its leading slash, a missing method, not
 * JSON) that the decoder sends to dead letters.
 *
 * @example
 * for (const line of generateApiEvents({ events: 1000, seed: 1 })) console.log(line);
 */
import { ConfigError } from '../../../shared/errors.js';
import { writeNdjsonLines } from '../../../shared/ndjson-writer.js';
import { mulberry32 } from '../../../shared/random.js';

export interface ApiStreamOptions {
  readonly events: number;
  readonly seed: number;
  /** Share of calls that are random noise slipped into the flow. Default 0.1. */
  readonly noise?: number;
  /** Share of malformed lines. Default 0. */
  readonly badFraction?: number;
  /** Start time, ms. Default 2025-01-15T08:00:00Z. */
  readonly start?: number;
  /**
   * The scenario families sessions are drawn from. Default: the seed's four over the shipped
   * surface; {@link familiesFromSpec} (api-families.ts) derives them from any OpenAPI document.
   */
  readonly families?: readonly Family[];
}

/** One step of a flow: a call, possibly repeated or optional. */
export interface Step {
  readonly m: string;
  readonly p: string;
  /** Repetitions [min, max]. */
  readonly rep?: readonly [number, number];
  /** Probability the step happens at all (default 1). */
  readonly opt?: number;
}

/** The three shipped workflow patterns a generated session follows. */
export type PatternName = 'browse_edit_save' | 'browse_confirm_save' | 'cold_start_create';

/** A scenario family: its flows per pattern (a family may lack some), noise endpoints, prompts, tenants. */
export interface Family {
  readonly name: string;
  readonly flows: Readonly<Partial<Record<PatternName, readonly Step[]>>>;
  /** Every endpoint of the family, for noise. */
  readonly endpoints: readonly (readonly [string, string])[];
  readonly prompts: Readonly<Partial<Record<PatternName, readonly string[]>>>;
  readonly tenants: readonly string[];
}

/** A step. */
export const step = (m: string, p: string, extra: Omit<Step, 'm' | 'p'> = {}): Step => ({ m, p, ...extra });

/** The seed's four scenario families over the shipped surface (src/domains/api-workflow/specs/saas-api.json). */
export const BUILTIN_FAMILIES: readonly Family[] = [
  {
    name: 'billing',
    flows: {
      browse_edit_save: [
        step('GET', '/v1/invoices', { rep: [1, 2] }),
        step('GET', '/v1/invoices/{invoice}'),
        step('PATCH', '/v1/invoices/{invoice}', { rep: [1, 2] }),
        step('POST', '/v1/invoices/{invoice}/lines'),
        step('POST', '/v1/invoices/{invoice}/finalize', { opt: 0.5 }),
      ],
      browse_confirm_save: [
        step('GET', '/v1/invoices', { rep: [1, 2] }),
        step('GET', '/v1/invoices/{invoice}'),
        step('POST', '/v1/invoices/{invoice}/pay'),
        step('POST', '/v1/credit_notes'),
      ],
      cold_start_create: [
        step('POST', '/v1/customers'),
        step('GET', '/v1/customers/{customer}', { opt: 0.7 }),
        step('POST', '/v1/invoices'),
        step('POST', '/v1/invoices/{invoice}/lines', { opt: 0.5 }),
      ],
    },
    endpoints: [
      ['GET', '/v1/customers'],
      ['GET', '/v1/customers/{customer}'],
      ['POST', '/v1/customers/{customer}'],
      ['GET', '/v1/payment_intents'],
      ['GET', '/v1/payment_intents/{intent}'],
      ['POST', '/v1/payment_intents/{intent}/confirm'],
      ['GET', '/v1/subscriptions'],
      ['PATCH', '/v1/subscriptions/{subscription}'],
      ['DELETE', '/v1/invoices/{invoice}'],
      ['POST', '/v1/invoices/{invoice}/send'],
    ],
    prompts: {
      browse_edit_save: ['change the due date on the invoice and add a line item', 'update the invoice memo'],
      browse_confirm_save: ['pay the open invoice and issue a credit note', 'settle the overdue invoice'],
      cold_start_create: ['set up a new customer and bill them', 'create a customer and a first invoice'],
    },
    tenants: ['acme', 'globex', 'initech'],
  },
  {
    name: 'pull-requests',
    flows: {
      browse_edit_save: [
        step('GET', '/repos/{owner}/{repo}/pulls', { rep: [1, 2] }),
        step('GET', '/repos/{owner}/{repo}/pulls/{pull_number}'),
        step('GET', '/repos/{owner}/{repo}/pulls/{pull_number}/files', { opt: 0.5 }),
        step('PATCH', '/repos/{owner}/{repo}/pulls/{pull_number}'),
        step('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments'),
      ],
      browse_confirm_save: [
        step('GET', '/repos/{owner}/{repo}/pulls', { rep: [1, 2] }),
        step('GET', '/repos/{owner}/{repo}/pulls/{pull_number}'),
        step('GET', '/repos/{owner}/{repo}/pulls/{pull_number}/files', { opt: 0.6 }),
        step('PUT', '/repos/{owner}/{repo}/pulls/{pull_number}/merge'),
        step('POST', '/repos/{owner}/{repo}/releases'),
      ],
      cold_start_create: [
        step('POST', '/repos/{owner}/{repo}/pulls'),
        step('POST', '/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers'),
        step('GET', '/repos/{owner}/{repo}/pulls/{pull_number}', { opt: 0.6 }),
      ],
    },
    endpoints: [
      ['GET', '/repos/{owner}/{repo}/pulls/{pull_number}/commits'],
      ['GET', '/repos/{owner}/{repo}/pulls/comments'],
      ['GET', '/repos/{owner}/{repo}/issues'],
      ['PATCH', '/repos/{owner}/{repo}/issues/{issue_number}'],
      ['POST', '/repos/{owner}/{repo}/pulls/{pull_number}/reviews'],
      ['DELETE', '/repos/{owner}/{repo}/git/refs/{ref}'],
    ],
    prompts: {
      browse_edit_save: ['retitle the pull request and leave a comment', 'fix the PR description'],
      browse_confirm_save: ['merge the approved pull request and cut a release', 'ship the reviewed PR'],
      cold_start_create: ['open a pull request and ask for reviews', 'propose my branch for review'],
    },
    tenants: ['octo-org', 'hooli', 'piedpiper'],
  },
  {
    name: 'crm',
    flows: {
      browse_edit_save: [
        step('GET', '/crm/v3/objects/contacts', { rep: [1, 2] }),
        step('GET', '/crm/v3/objects/contacts/{contactId}'),
        step('PATCH', '/crm/v3/objects/contacts/{contactId}', { rep: [1, 2] }),
        step('POST', '/crm/v3/objects/notes'),
      ],
      browse_confirm_save: [
        step('GET', '/crm/v3/objects/deals', { rep: [1, 2] }),
        step('GET', '/crm/v3/objects/deals/{dealId}'),
        step('POST', '/crm/v3/objects/deals/{dealId}/approve'),
        step('POST', '/crm/v3/objects/tasks'),
      ],
      cold_start_create: [
        step('POST', '/crm/v3/objects/contacts'),
        step('POST', '/crm/v3/objects/deals'),
        step('GET', '/crm/v3/objects/deals/{dealId}', { opt: 0.5 }),
      ],
    },
    endpoints: [
      ['GET', '/crm/v3/objects/companies'],
      ['GET', '/crm/v3/objects/companies/{companyId}'],
      ['PATCH', '/crm/v3/objects/deals/{dealId}'],
      ['DELETE', '/crm/v3/objects/contacts/{contactId}'],
      ['GET', '/crm/v3/objects/deals'],
    ],
    prompts: {
      browse_edit_save: ["update the contact's phone number and log a note", 'fix the lead details'],
      browse_confirm_save: ['approve the deal and create a follow-up task', 'sign off the quote'],
      cold_start_create: ['add a new lead and open a deal', 'register the prospect from the fair'],
    },
    tenants: ['umbrella', 'stark', 'wayne'],
  },
  {
    name: 'e-commerce',
    flows: {
      browse_edit_save: [
        step('GET', '/v1/products', { rep: [1, 3] }),
        step('GET', '/v1/products/{product_id}'),
        step('PATCH', '/v1/carts/{cart_id}/items/{item_id}'),
        step('POST', '/v1/orders'),
      ],
      browse_confirm_save: [
        step('GET', '/v1/orders', { rep: [1, 2] }),
        step('GET', '/v1/orders/{order_id}'),
        step('POST', '/v1/orders/{order_id}/capture'),
        step('POST', '/v1/shipments'),
      ],
      cold_start_create: [
        step('POST', '/v1/carts'),
        step('POST', '/v1/carts/{cart_id}/items', { rep: [1, 2] }),
        step('POST', '/v1/checkouts/{checkout_id}/submit', { opt: 0.6 }),
      ],
    },
    endpoints: [
      ['GET', '/v1/carts/{cart_id}'],
      ['DELETE', '/v1/carts/{cart_id}/items/{item_id}'],
      ['PUT', '/v1/products/{product_id}'],
      ['POST', '/v1/refunds'],
      ['POST', '/v1/checkouts'],
    ],
    prompts: {
      browse_edit_save: ['change the quantity in my cart and order', 'buy two more of these'],
      browse_confirm_save: ['capture payment for the order and ship it', 'fulfil the paid order'],
      cold_start_create: ['start a cart with these items and check out', 'quick reorder'],
    },
    tenants: ['shopco', 'megamart', 'tinystore'],
  },
];

export const PATTERNS: readonly PatternName[] = [
  'browse_edit_save',
  'browse_confirm_save',
  'cold_start_create',
];

/** One generated call with its labels. */
export interface GeneratedCall {
  readonly ts: number;
  readonly session: string;
  readonly tenant: string;
  readonly user: string;
  readonly method: string;
  readonly path: string;
  readonly template: string;
  readonly prompt: string;
  readonly scenario: string;
  readonly pattern: PatternName;
  readonly noise: boolean;
  readonly status: number;
}

const ALPHANUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function concrete(template: string, ids: Map<string, string>, rand: () => number): string {
  return template.replace(/\{([^}]+)\}/g, (_, param: string) => {
    // A pull request is also an issue, with the same number.
    const name = param === 'issue_number' ? 'pull_number' : param;
    let v = ids.get(name);
    if (v === undefined) {
      const r = () => Array.from({ length: 10 }, () => ALPHANUM[Math.floor(rand() * 62)]).join('');
      const n = () => String(1 + Math.floor(rand() * 9000));
      v =
        name === 'invoice'
          ? `in_1${r()}`
          : name === 'customer'
            ? `cus_${r()}`
            : name === 'intent'
              ? `pi_3${r()}`
              : name === 'subscription'
                ? `sub_1${r()}`
                : name === 'owner'
                  ? ['octocat', 'hubot', 'monalisa'][Math.floor(rand() * 3)]!
                  : name === 'repo'
                    ? ['hello-world', 'spoon-knife', 'linguist'][Math.floor(rand() * 3)]!
                    : name === 'ref'
                      ? `feature-${n()}`
                      : name.endsWith('Id')
                        ? String(100000 + Math.floor(rand() * 900000))
                        : n();
      ids.set(name, v);
    }
    return v;
  });
}

/** Labelled sessions as structured calls, in time order (`events` calls in all). */
export function generateApiCalls(opts: ApiStreamOptions): GeneratedCall[] {
  const rand = mulberry32(opts.seed * 0x9e3779b1 + 0x61706921);
  const noise = opts.noise ?? 0.1;
  const start = opts.start ?? Date.UTC(2025, 0, 15, 8);
  const calls: GeneratedCall[] = [];
  let t0 = start;
  let sessionNo = 0;
  // Tenants favour their own mix of patterns.
  const tenantMix = new Map<string, number[]>();
  const families = opts.families ?? BUILTIN_FAMILIES;
  if (families.length === 0)
    throw new ConfigError('no scenario families to generate sessions from', { field: 'spec' });
  for (const f of families)
    for (const t of f.tenants)
      tenantMix.set(
        t,
        PATTERNS.map(() => 0.2 + rand()),
      );
  while (calls.length < opts.events) {
    const family = families[Math.floor(rand() * families.length)]!;
    const tenant = family.tenants[Math.floor(rand() * family.tenants.length)]!;
    const mix = tenantMix.get(tenant)!;
    let x = rand() * mix.reduce((a, b) => a + b, 0);
    let pi = 0;
    while (x > mix[pi]! && pi < PATTERNS.length - 1) x -= mix[pi++]!;
    // A family without the drawn pattern's flow (a derived one) takes its next pattern that has one.
    let pattern = PATTERNS[pi]!;
    for (let k = 1; family.flows[pattern] === undefined && k < PATTERNS.length; k++)
      pattern = PATTERNS[(pi + k) % PATTERNS.length]!;
    const flow = family.flows[pattern];
    if (flow === undefined)
      throw new ConfigError(`scenario family ${family.name} has no flow`, { field: 'spec' });
    const session = `s-${opts.seed}-${++sessionNo}`;
    const user = `${tenant}-u${1 + Math.floor(rand() * 20)}`;
    const prompts = family.prompts[pattern] ?? [family.name];
    const prompt = prompts[Math.floor(rand() * prompts.length)]!;
    const ids = new Map<string, string>();
    let t = t0;
    const push = (m: string, template: string, isNoise: boolean) => {
      t += 3_000 + Math.floor(rand() * 60_000);
      calls.push({
        ts: t,
        session,
        tenant,
        user,
        method: m,
        path: concrete(template, ids, rand),
        template,
        prompt,
        scenario: family.name,
        pattern,
        noise: isNoise,
        status: rand() < 0.03 ? 404 : m === 'POST' ? 201 : 200,
      });
    };
    for (const st of flow) {
      if (st.opt !== undefined && rand() >= st.opt) continue;
      const [lo, hi] = st.rep ?? [1, 1];
      const n = lo + Math.floor(rand() * (hi - lo + 1));
      for (let i = 0; i < n; i++) {
        if (rand() < noise) {
          const all = [
            ...family.endpoints,
            ...Object.values(family.flows).flatMap((f) => (f ?? []).map((x) => [x.m, x.p] as const)),
          ];
          const [m, p] = all[Math.floor(rand() * all.length)]!;
          push(m, p, true);
        }
        push(st.m, st.p, false);
      }
    }
    // About 25 sessions overlap at any time.
    t0 += Math.floor(rand() * 12_000);
  }
  calls.length = opts.events;
  return calls.sort((a, b) => a.ts - b.ts || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0));
}

/** The stream as NDJSON lines. */
export function* generateApiEvents(opts: ApiStreamOptions): Generator<string, void, undefined> {
  const calls = generateApiCalls(opts);
  const bad = mulberry32(opts.seed + 7);
  const badFraction = opts.badFraction ?? 0;
  let i = 0;
  for (const c of calls) {
    i++;
    const event: Record<string, unknown> = {
      type: 'api_call',
      id: `call-${opts.seed}-${i}`,
      timestamp: new Date(c.ts).toISOString(),
      session_id: c.session,
      user_id: c.user,
      tenant: c.tenant,
      method: c.method,
      path: c.path,
      status: c.status,
      prompt: c.prompt,
      scenario: c.scenario,
      pattern: c.pattern,
      ...(c.noise ? { noise: true } : {}),
    };
    if (badFraction > 0 && bad() < badFraction) {
      const kind = Math.floor(bad() * 3);
      if (kind === 0) yield JSON.stringify({ ...event, path: c.path.slice(1) });
      else if (kind === 1) {
        const { method: _m, ...rest } = event;
        yield JSON.stringify(rest);
      } else yield JSON.stringify(event).slice(0, 40);
      continue;
    }
    yield JSON.stringify(event);
  }
}

/** Writes the stream to `path` (gzip when it ends in .gz). */
export async function writeApiEvents(path: string, opts: ApiStreamOptions): Promise<{ lines: number }> {
  let lines = 0;
  const it = generateApiEvents(opts);
  await writeNdjsonLines(
    path,
    (function* () {
      for (const l of it) {
        lines++;
        yield l;
      }
    })(),
  );
  return { lines };
}
