/**
 * A deterministic, seeded sample stream of all eight input event types (shared/spec/events.md)
 * that behaves like the traffic of a real LLM application: for demos, feature tests and
 * benchmarks of the whole catalog. Everything comes from one seed (no `Math.random`, no clock).
 *
 * The traffic model — a discrete-event simulation over simulated time:
 * - **Clock and rate.** Simulated time starts at `start` (default Monday 2026-03-02T00:00:00Z).
 *   Sessions arrive as a Poisson process whose rate follows the UTC hour of day
 *   (`1 + 0.62·cos(2π(h−16)/24) + 0.18·cos(4π(h−12)/24)`: lowest around 04:00, highest around
 *   16:00, when Europe's afternoon meets America's morning) and the day of the week (× 0.55 on
 *   Saturday and Sunday). With the health reports this gives 1–2.5 events per simulated second
 *   (1.6 on average from midnight), so 60 000 events span ~10 hours; `system_health` makes up
 *   40–55 % of the records.
 * - **Models.** A catalog of `models` profiles (8 real-world shapes, then faster/slower
 *   variants): provider, context length, prices, capability, latency (time to first token,
 *   log-normal, with a 2 % Pareto tail, plus ms per output token), base error rate and
 *   capacity. `model_catalog` for every model opens the stream; every ~3 h a model gets a price
 *   cut or a capability/context update (a new `model_catalog` record), and costs follow the
 *   current price: `cost = (input_tokens·cost_per_1k_input + output_tokens·cost_per_1k_output) / 1000`.
 * - **Users and sessions.** 800 users with a Zipf-like activity (heavy users have many
 *   sessions), a tier (free 60 %, pro 30 %, enterprise 10 %), a language (en, es, de, fr, ja), a
 *   client and a feedback habit. A session has 1 + ~Exp(4) requests to one sticky model (tier
 *   decides the mix: free users lean on small models, enterprise on large ones; users switch
 *   after errors). Requests are separated by the response latency plus a log-normal think time
 *   (median 45 s, seconds to minutes); 5 % of gaps are pauses of 31–120 min that keep the
 *   session id but split the 30-minute session window. Later requests are `follow_up` (70 %) and
 *   carry the conversation history into `input_tokens`. 5 % of sessions are API workflows
 *   (`api_call` chains such as list → get → patch → confirm) instead.
 * - **Prompts.** Drawn per language from a Zipf–Mandelbrot pool (weight 1/(rank + 11)) of
 *   ranked prompts (12 000 English, 1 500–2 500 per other language), each rank a fixed text
 *   built from templates over five domains (code, legal, medical, finance, general) and six task
 *   types; the 150 most popular ranks are short questions and requests, documents to summarize
 *   or extract from lie further down. Half of the follow-ups are stock phrasings ("Can you make
 *   it shorter?"). So prompts repeat exactly, as in real traffic: ~40 % of the prompt texts are
 *   distinct in 20 000 records, ~20 % in 100 000. `prompt_tokens` is absent on 15 % of
 *   requests, `language` on 20 %, `model` on 15 %.
 * - **Each request** gives `llm_request` (at send time), `model_response` and
 *   `performance_metrics` (at completion) with the same `request_id`. Load comes from the
 *   diurnal curve, the model's popularity, a slow random walk and incidents (every ~4 h a model
 *   degrades or fails for 10–45 min); under load latency grows, errors (timeouts above all) get
 *   likelier and `metrics.retries` rises. Latencies above 30 s become timeouts; prompts that
 *   overflow a model's context fail with `context_length_exceeded`. 15 % of users are in one of
 *   two A/B experiments (`config_id` = variant), summarised every 30 min in `experiment_result`.
 * - **Feedback** for a user-dependent share (~30 %) of requests: rating, liked, task_completed,
 *   dwell time and `metadata.response_copied` follow the answer's quality and errors. It is
 *   given after reading (dwell + a few seconds) and delivered up to 6 min later by buffering
 *   clients: it arrives seconds to ~8 min after its request, out of order, always after it.
 * - **Health.** Every component (each model, plus `gateway`) reports `system_health` every
 *   10 ± 0.5 s: status, cpu_usage ∈ [0, 1], integer memory_usage, queue_depth, active_requests,
 *   error_rate and metrics (memory_limit, max_concurrency, a daily budget with its reset time,
 *   an hourly API quota, region_load; the stream is taken as a 1 % sample of the traffic those
 *   see). During outages half the reports are bare (nulls, `{}`).
 * - **Delivery.** Records are written in delivery order: event time + a delay (85 % under
 *   1.5 s, 12 % up to 30 s, 3 % up to 110 s), so event times are disordered by at most 2 min
 *   (feedback: at most its 6-min client buffering, inside the feedback windows' 10-min bound).
 *   Responses, metrics and feedback are never delivered before their request. Collector types
 *   carry 9 (55 %), 6 (10 %) or 3 fractional digits; the new types 3; a few health reports use
 *   `+00:00`.
 * - **Late and bad records.** A `lateFraction` of records (any type but `llm_request` and
 *   `model_catalog`) is held back 25–75 min, past every window's allowed lateness for the
 *   tumbling and session windows. Before a `badFraction` of records a malformed copy is written,
 *   cycling through not JSON, unknown type, missing field, wrong type, out of range (rating 9,
 *   cpu_usage 87.5, …), bad timestamp and non-finite number. Late and bad records are chosen by
 *   their own PRNGs: changing those fractions leaves the records themselves unchanged.
 *
 * Records are never numbered by `events`: a longer stream with the same options starts with
 * the shorter one.
 *
 * @example
 * for (const line of generateLlmEvents({ events: 1000, seed: 42 })) process.stdout.write(`${line}\n`);
 * const stats = await writeLlmEvents('events.ndjson.gz', { events: 100_000, seed: 7 });
 */
import { ConfigError } from '../../../shared/errors.js';
import { formatTimestamp } from '../../../shared/timestamp.js';
import type { EventType, ReasonCode } from '../events/types.js';
import { writeNdjsonLines } from '../../../shared/ndjson-writer.js';
import { mulberry32 } from '../../../shared/random.js';

/** Options of {@link generateLlmEvents} and {@link writeLlmEvents}; only `events` and `seed` are required. */
export interface LlmStreamOptions {
  /** Total records written (bad ones included). */
  readonly events: number;
  readonly seed: number;
  /** Event time of the first event, ms since the epoch (default 2026-03-02T00:00:00Z, a Monday). */
  readonly start?: number;
  /** Number of models in the catalog (default 6; 1–64). */
  readonly models?: number;
  /** Share of records preceded by a malformed copy (default 0.002). */
  readonly badFraction?: number;
  /** Share of records delivered 25–75 min behind, past allowed lateness (default 0.002). */
  readonly lateFraction?: number;
}

/** What {@link writeLlmEvents} wrote. */
export interface LlmStreamStats {
  /** Well-formed records (late ones included) by event type. */
  readonly byType: Record<string, number>;
  readonly bad: number;
  readonly late: number;
  /** Distinct prompt texts among the `llm_request` records that carry one. */
  readonly uniquePrompts: number;
  /** Least and greatest event time (ms) of the well-formed records; NaN when there are none. */
  readonly first: number;
  readonly last: number;
  /** Records written, bad ones included. */
  readonly lines: number;
  /** `llm_request` records that carry a prompt (the denominator of `uniquePrompts`). */
  readonly prompts: number;
  readonly badByReason: Readonly<Partial<Record<ReasonCode, number>>>;
}

/** What a generated line is: a well-formed event, a late one, or a bad line of one reason. */
export type LlmLineKind = 'event' | 'late' | ReasonCode;

/** One generated line with its ground truth (see {@link generateLlmLines}). */
export interface LlmLine {
  readonly line: string;
  readonly kind: LlmLineKind;
  /** Event type of a well-formed line; for a bad line the type it was copied from. */
  readonly type: EventType;
  /** Event time in ms (what `decodeLine` gives as `ts`), null for bad lines. */
  readonly ts: number | null;
}

// ---------------------------------------------------------------------------------------------
// JSON writing in the collector's shape (serde: struct field order, integral f64 written `x.0`).

/** A float field: serde_json writes an integral f64 with `.0`. */
class F64 {
  constructor(readonly v: number) {}
}
/** Raw JSON text (only for malformed records, e.g. `1e999`). */
class Raw {
  constructor(readonly text: string) {}
}
type J =
  | null
  | boolean
  | number
  | string
  | F64
  | Raw
  | readonly J[]
  | { readonly [k: string]: J | undefined };
type Rec = Record<string, J | undefined>;

function f64(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e15 ? `${x}.0` : String(x);
}

/** Keys are written unescaped: every key here is a plain ASCII identifier. */
function writeJson(v: J | undefined): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof F64) return f64(v.v);
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(writeJson).join(',')}]`;
  const o = v as Rec;
  let s = '';
  for (const k in o) {
    const x = o[k];
    if (x === undefined) continue;
    s += (s === '' ? '{"' : ',"') + k + '":' + writeJson(x);
  }
  return s === '' ? '{}' : s + '}';
}

const round = (x: number, digits: number) => {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
};
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

// ---------------------------------------------------------------------------------------------
// Random helpers.

type Rand = () => number;

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A version-4 UUID from 128 random bits (as in perf-stream.ts). */
function uuid(rand: Rand): string {
  const a = (rand() * 4_294_967_296) >>> 0;
  const b = (rand() * 4_294_967_296) >>> 0;
  const c = (rand() * 4_294_967_296) >>> 0;
  const d = (rand() * 4_294_967_296) >>> 0;
  const x = (v: number, shift: number) => HEX[(v >>> shift) & 255]!;
  return (
    `${x(a, 24)}${x(a, 16)}${x(a, 8)}${x(a, 0)}-${x(b, 24)}${x(b, 16)}-` +
    `${HEX[0x40 | ((b >>> 8) & 15)]}${x(b, 0)}-${HEX[0x80 | ((c >>> 24) & 63)]}${x(c, 16)}-` +
    `${x(c, 8)}${x(c, 0)}${x(d, 24)}${x(d, 16)}${x(d, 8)}${x(d, 0)}`
  );
}

function gaussian(rand: Rand): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const expo = (rand: Rand, mean: number) => -Math.log(1 - rand()) * mean;
const pick = <T>(xs: readonly T[], rand: Rand): T => xs[Math.floor(rand() * xs.length)]!;

/** Index drawn from cumulative weights. */
function drawCum(cum: ArrayLike<number>, u: number): number {
  const x = u * cum[cum.length - 1]!;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulative(weights: readonly number[]): Float64Array {
  const c = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) c[i] = acc += weights[i]!;
  return c;
}

/** Cumulative Zipf–Mandelbrot weights 1 / (rank + 1 + q)^s. */
function zipfCum(n: number, s: number, q = 0): Float64Array {
  const c = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) c[i] = acc += 1 / (i + 1 + q) ** s;
  return c;
}

/** A 32-bit mix of integers, to seed per-item PRNGs. */
function mix(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** 64-bit FNV-1a-style hash of a string as 16 hex digits (two 32-bit lanes). */
function hash16(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x9e3779b9;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  a ^= a >>> 16;
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------
// Models.

interface ModelBase {
  readonly name: string;
  readonly provider: string;
  readonly region: string;
  readonly contextLength: number;
  readonly priceIn: number;
  readonly priceOut: number;
  readonly capability: number;
  readonly cutoff: string;
  readonly functions: boolean;
  readonly vision: boolean;
  readonly jsonMode: boolean;
  readonly size: 'small' | 'medium' | 'large';
  /** Median time to first token (ms), log-normal sigma, ms per output token. */
  readonly ttft: number;
  readonly sigma: number;
  readonly msPerToken: number;
  readonly errorRate: number;
}

type ModelRow = [
  name: string,
  provider: string,
  region: string,
  contextLength: number,
  priceIn: number,
  priceOut: number,
  capability: number,
  cutoff: string,
  functions: boolean,
  vision: boolean,
  jsonMode: boolean,
  size: ModelBase['size'],
  ttft: number,
  sigma: number,
  msPerToken: number,
  errorRate: number,
];

// biome-ignore format: a table reads best as one row per model
const MODEL_ROWS: readonly ModelRow[] = [
  // name, provider, region, context, $/1k in, $/1k out, capability, cutoff, fn, vision, json, size, ttft ms, sigma, ms/token, error rate
  ['gpt-4o', 'openai', 'us-east', 128_000, 0.0025, 0.01, 0.88, '2023-10-01', true, true, true, 'large', 420, 0.45, 11, 0.012],
  ['gpt-4o-mini', 'openai', 'us-east', 128_000, 0.00015, 0.0006, 0.74, '2023-10-01', true, true, true, 'small', 280, 0.4, 6, 0.01],
  ['claude-3-5-sonnet', 'anthropic', 'us-west', 200_000, 0.003, 0.015, 0.9, '2024-04-01', true, true, false, 'large', 650, 0.5, 14, 0.015],
  ['claude-3-haiku', 'anthropic', 'us-west', 200_000, 0.00025, 0.00125, 0.7, '2023-08-01', true, true, false, 'small', 240, 0.35, 5, 0.01],
  ['gemini-1.5-pro', 'google', 'europe-west', 1_000_000, 0.00125, 0.005, 0.86, '2023-11-01', true, true, true, 'large', 700, 0.55, 10, 0.02],
  ['llama-3.1-70b', 'meta', 'us-central', 128_000, 0.00088, 0.00088, 0.78, '2023-12-01', true, false, true, 'medium', 380, 0.6, 9, 0.025],
  ['mistral-large', 'mistral', 'europe-west', 128_000, 0.002, 0.006, 0.82, '2024-07-01', true, false, true, 'large', 520, 0.5, 12, 0.018],
  ['gpt-4', 'openai', 'us-east', 8192, 0.03, 0.06, 0.86, '2021-09-01', true, false, false, 'large', 800, 0.5, 30, 0.02],
];

const BASE_MODELS: readonly ModelBase[] = MODEL_ROWS.map(
  ([
    name,
    provider,
    region,
    contextLength,
    priceIn,
    priceOut,
    capability,
    cutoff,
    functions,
    vision,
    jsonMode,
    size,
    ttft,
    sigma,
    msPerToken,
    errorRate,
  ]) => ({
    name,
    provider,
    region,
    contextLength,
    priceIn,
    priceOut,
    capability,
    cutoff,
    functions,
    vision,
    jsonMode,
    size,
    ttft,
    sigma,
    msPerToken,
    errorRate,
  }),
);

interface Model extends ModelBase {
  /** Mutable catalog values (updated by catalog events). */
  cPriceIn: number;
  cPriceOut: number;
  cCapability: number;
  cContext: number;
  /** Expected share of requests, for budgets and quotas. */
  share: number;
  readonly maxConcurrency: number;
  readonly memoryLimit: number;
  budgetTotal: number;
  quotaPerHour: number;
  /** Slow random walk added to the load. */
  noise: number;
  errEwma: number;
  incidentUntil: number;
  incidentSevere: boolean;
  day: number;
  spentToday: number;
  hour: number;
  requestsThisHour: number;
}

const TIERS = ['free', 'pro', 'enterprise'] as const;
type Tier = (typeof TIERS)[number];
const TIER_SHARE: Record<Tier, number> = { free: 0.6, pro: 0.3, enterprise: 0.1 };

/** Model preference of each tier over the catalog order (popularity × fit). */
function tierWeights(models: readonly Model[], tier: Tier): number[] {
  return models.map((m, i) => {
    const pop = 1 / (i + 1) ** 0.8;
    const cheap = m.size === 'small' || m.priceOut < 0.002;
    if (tier === 'free') return pop * (cheap ? 2.5 : 0.4);
    if (tier === 'enterprise') return pop * (m.size === 'large' ? 2 : 0.7);
    return pop;
  });
}

// ---------------------------------------------------------------------------------------------
// Prompt texts: templates over domains, tasks and languages, ranked and drawn Zipf-like.

const LANGS = ['en', 'es', 'de', 'fr', 'ja'] as const;
type Lang = (typeof LANGS)[number];
const LANG_WEIGHTS = [0.64, 0.11, 0.09, 0.09, 0.07];
const LANG_POOL = [12_000, 2_500, 2_000, 2_000, 1_500];
const LOCALES: Record<Lang, readonly string[]> = {
  en: ['en-US', 'en-GB', 'en-IN', 'en-AU'],
  es: ['es-ES', 'es-MX', 'es-AR'],
  de: ['de-DE', 'de-AT', 'de-CH'],
  fr: ['fr-FR', 'fr-CA', 'fr-BE'],
  ja: ['ja-JP'],
};

const DOMAINS = ['code', 'legal', 'medical', 'finance', 'general'] as const;
type Domain = (typeof DOMAINS)[number];
const DOMAIN_CUM = cumulative([0.3, 0.12, 0.1, 0.13, 0.35]);

const TASKS = ['summarize', 'classify', 'extract', 'generate', 'qa', 'translate'] as const;
type Task = (typeof TASKS)[number];
const TASK_CUM = cumulative([0.2, 0.1, 0.12, 0.3, 0.22, 0.06]);

interface EnDomain {
  readonly topics: readonly string[];
  readonly docKinds: readonly string[];
  readonly entities: readonly string[];
  readonly labels: readonly string[];
  readonly howtos: readonly string[];
  /** Passage sentences; {amount}, {date}, {pct}, {n} are filled per prompt. */
  readonly sentences: readonly string[];
}

const EN: Record<Domain, EnDomain> = {
  code: {
    topics: [
      'async/await in JavaScript',
      'Python decorators',
      'database indexing',
      'the difference between TCP and UDP',
      'React useEffect cleanup',
      'Rust lifetimes',
      'SQL window functions',
      'Docker multi-stage builds',
    ],
    docKinds: ['pull request description', 'stack trace', 'code review thread', 'incident postmortem'],
    entities: ['function names', 'error codes', 'file paths', 'package versions'],
    labels: ['bug, feature request or question', 'frontend, backend or infra'],
    howtos: [
      'revert a git commit that was already pushed',
      'read a large CSV file in chunks with pandas',
      'debounce an input handler in TypeScript',
      'fix "ModuleNotFoundError: No module named \'requests\'"',
      'set up a GitHub Actions cache for npm',
      'profile a slow PostgreSQL query',
    ],
    sentences: [
      'The build failed after upgrading the dependency to version {n}.2.0.',
      'Requests to /api/orders time out after {n}0 seconds under load.',
      'The fix moves the retry loop out of the request handler.',
      'Memory usage grows by {pct}% per hour until the pod is OOM-killed.',
      'Error: Cannot read properties of undefined (reading "map") at render (App.tsx:{n}4).',
      'The migration adds an index on orders(customer_id, created_at).',
      'Tests pass locally but fail in CI on {date}.',
      'We replaced the polling job with a webhook in release {n}.{n}.',
    ],
  },
  legal: {
    topics: [
      'a non-compete clause',
      'GDPR data subject rights',
      'force majeure',
      'the difference between a license and an assignment',
      'limitation of liability clauses',
      'an NDA for contractors',
    ],
    docKinds: ['contract', 'lease agreement', 'terms of service', 'court opinion'],
    entities: ['parties', 'dates and deadlines', 'payment obligations', 'governing law clauses'],
    labels: ['employment, commercial or privacy', 'high, medium or low risk'],
    howtos: [
      'terminate a commercial lease early',
      'register a trademark in the EU',
      'respond to a cease and desist letter',
      'draft a data processing agreement',
    ],
    sentences: [
      'This Agreement is entered into on {date} by and between the parties named below.',
      'The Licensee shall pay a fee of {amount} within {n}0 days of invoice.',
      'Either party may terminate this Agreement with {n}0 days written notice.',
      'The Supplier shall not be liable for indirect or consequential damages.',
      'This Agreement is governed by the laws of the State of Delaware.',
      'Confidential Information excludes information that is publicly available.',
      'The tenant is responsible for repairs not exceeding {amount} per incident.',
      'Any dispute shall be resolved by binding arbitration in London.',
    ],
  },
  medical: {
    topics: [
      'type 2 diabetes management',
      'the side effects of statins',
      'migraine triggers',
      'iron deficiency anemia',
      'post-operative knee rehabilitation',
      'hypertension in older adults',
    ],
    docKinds: ['discharge summary', 'clinical note', 'lab report', 'patient leaflet'],
    entities: ['medications and dosages', 'diagnoses', 'lab values', 'follow-up dates'],
    labels: ['urgent or routine', 'cardiology, neurology or endocrinology'],
    howtos: [
      'explain HbA1c results to a patient',
      'taper a corticosteroid safely',
      'write a referral letter to a cardiologist',
    ],
    sentences: [
      'Patient is a {n}5-year-old presenting with chest pain for two days.',
      'HbA1c was {n}.{n}% on {date}, up from the previous visit.',
      'Started metformin 500 mg twice daily with meals.',
      'Blood pressure 14{n}/9{n} mmHg, heart rate 8{n} bpm.',
      'No known drug allergies. Family history of coronary artery disease.',
      'Follow-up in {n} weeks with repeat lipid panel.',
      'MRI shows no acute intracranial abnormality.',
      'Discharged in stable condition on {date}.',
    ],
  },
  finance: {
    topics: [
      'dollar-cost averaging',
      'the difference between EBITDA and net income',
      'capital gains tax on index funds',
      'interest rate risk in bond portfolios',
      'working capital',
      'a 409A valuation',
    ],
    docKinds: ['earnings call transcript', 'invoice', 'bank statement', 'quarterly report'],
    entities: ['amounts and currencies', 'invoice numbers', 'company names', 'fiscal periods'],
    labels: ['expense category', 'fraudulent or legitimate'],
    howtos: [
      'compute the IRR of a series of cash flows',
      'reconcile a bank statement in Excel',
      'build a three-statement financial model',
      'hedge EUR/USD exposure',
    ],
    sentences: [
      'Revenue grew {pct}% year over year to {amount} in Q{n}.',
      'Operating margin contracted by {n}0 basis points due to higher input costs.',
      'Invoice INV-{n}{n}{n}{n} for {amount} is due on {date}.',
      'The board approved a share buyback of up to {amount}.',
      'Free cash flow was {amount}, compared with guidance of {amount}.',
      'Management expects full-year EPS between $2.{n}0 and $2.{n}5.',
      'The account was debited {amount} on {date} by card ending 4{n}{n}1.',
      'Net debt to EBITDA stood at {n}.{n}x at quarter end.',
    ],
  },
  general: {
    topics: [
      'the history of the printing press',
      'how vaccines work',
      'time management for remote teams',
      'the causes of inflation',
      'healthy meal prep',
      'black holes',
      'learning a second language',
      'the rules of cricket',
      'climate change',
      'public speaking',
    ],
    docKinds: ['news article', 'blog post', 'email thread', 'meeting transcript'],
    entities: ['people', 'places', 'dates', 'action items'],
    labels: ['positive, negative or neutral', 'spam or not spam'],
    howtos: [
      'write a polite follow-up email',
      'plan a 3-day trip to Lisbon',
      'ask for a raise',
      'get better sleep',
      'prepare for a job interview',
    ],
    sentences: [
      'The meeting on {date} agreed to move the launch by {n} weeks.',
      'Attendance rose {pct}% compared with last year.',
      'Please send the slides before Friday.',
      'The city council approved a budget of {amount} for new bike lanes.',
      'Several participants asked for a recording of the session.',
      'The team will present the results at the next all-hands.',
      'Tickets go on sale on {date}.',
      'Volunteers are needed for the weekend clean-up.',
    ],
  },
};

const CODE_SNIPPETS: readonly string[] = [
  'function total(items) {\n  items.reduce((sum, it) => sum + it.price, 0);\n}',
  'def load(path):\n    with open(path) as f:\n        return json.load(f)["data"]\n',
  "SELECT user_id, COUNT(*) FROM events WHERE ts > now() - interval '1 day' GROUP BY 1;",
  'const re = /^\\d{4}-\\d{2}-\\d{2}$/;\nconsole.log(re.test("2024-1-05"));',
  'for i in range(len(xs)):\n    if xs[i] = target:\n        return i',
  'fn longest(a: &str, b: &str) -> &str {\n    if a.len() > b.len() { a } else { b }\n}',
];

const EN_MODIFIERS = [
  '',
  '',
  ' for a beginner',
  ' in under 100 words',
  ' with an example',
  ' in a formal tone',
  ' step by step',
  ' as a table',
];

/** Non-English templates: task and text with {topic}. */
const OTHER_TEMPLATES: Record<Exclude<Lang, 'en'>, ReadonlyArray<readonly [Task, string]>> = {
  es: [
    ['qa', '¿Qué es {topic}?'],
    ['qa', 'Explica {topic} de forma sencilla.'],
    ['summarize', 'Resume en tres puntos lo más importante sobre {topic}.'],
    ['generate', 'Escribe un correo profesional sobre {topic}.'],
    ['generate', 'Redacta una publicación para LinkedIn sobre {topic}.'],
    ['classify', 'Clasifica esta consulta como urgente o no urgente: «Tengo una duda sobre {topic}».'],
    ['extract', 'Extrae las palabras clave de este texto: «Necesito información sobre {topic}».'],
    ['translate', 'Traduce al inglés: «Quiero aprender más sobre {topic}».'],
  ],
  de: [
    ['qa', 'Was ist {topic}?'],
    ['qa', 'Erkläre {topic} in einfachen Worten.'],
    ['summarize', 'Fasse die wichtigsten Punkte zu {topic} zusammen.'],
    ['generate', 'Schreibe eine E-Mail an meinen Chef über {topic}.'],
    ['classify', 'Ist diese Anfrage dringend? „Frage zu {topic}“'],
    ['extract', 'Extrahiere alle Fachbegriffe aus: „{topic}“'],
    ['translate', 'Übersetze ins Englische: „Ich habe eine Frage zu {topic}.“'],
  ],
  fr: [
    ['qa', "Qu'est-ce que {topic} ?"],
    ['qa', 'Explique-moi {topic} simplement.'],
    ['summarize', "Résume l'essentiel sur {topic} en trois points."],
    ['generate', 'Rédige un e-mail professionnel à propos de {topic}.'],
    ['classify', "Classe cette demande (urgente ou non) : « J'ai une question sur {topic} »"],
    ['extract', 'Extrais les mots-clés de : « {topic} »'],
    ['translate', 'Traduis en anglais : « Je voudrais en savoir plus sur {topic}. »'],
  ],
  ja: [
    ['qa', '{topic}とは何ですか？'],
    ['qa', '{topic}について簡単に説明してください。'],
    ['summarize', '{topic}の要点を三つにまとめてください。'],
    ['generate', '{topic}についてのメールの下書きを書いてください。'],
    ['classify', '次の問い合わせは緊急ですか？「{topic}について質問があります」'],
    ['translate', '英語に翻訳してください：「{topic}についてもっと知りたいです。」'],
  ],
};

const OTHER_TOPICS: Record<Exclude<Lang, 'en'>, Record<Domain, readonly string[]>> = {
  es: {
    code: [
      'las funciones asíncronas en JavaScript',
      'los índices en una base de datos',
      'Docker',
      'Git rebase',
    ],
    legal: [
      'una cláusula de no competencia',
      'el RGPD',
      'un contrato de alquiler',
      'la propiedad intelectual',
    ],
    medical: ['la diabetes tipo 2', 'la hipertensión', 'las migrañas', 'la vacuna de la gripe'],
    finance: ['la inflación', 'los fondos indexados', 'la declaración de la renta', 'una hipoteca variable'],
    general: ['el cambio climático', 'la historia de Roma', 'aprender inglés', 'la productividad'],
  },
  de: {
    code: ['asynchrone Programmierung', 'Datenbankindizes', 'Kubernetes', 'Unit-Tests in Python'],
    legal: ['ein Wettbewerbsverbot', 'die DSGVO', 'einen Mietvertrag', 'das Widerrufsrecht'],
    medical: ['Typ-2-Diabetes', 'Bluthochdruck', 'Rückenschmerzen', 'Eisenmangel'],
    finance: ['ETF-Sparpläne', 'die Inflation', 'die Steuererklärung', 'Bilanzkennzahlen'],
    general: ['den Klimawandel', 'die Energiewende', 'Zeitmanagement', 'die Geschichte Berlins'],
  },
  fr: {
    code: ['les promesses en JavaScript', 'les index SQL', 'les conteneurs Docker', 'les tests unitaires'],
    legal: ['une clause de non-concurrence', 'le RGPD', 'un bail commercial', 'le droit du travail'],
    medical: ['le diabète de type 2', "l'hypertension", 'les migraines', 'le sommeil'],
    finance: ["l'inflation", "l'assurance-vie", 'les impôts sur le revenu', 'le bilan comptable'],
    general: [
      'le changement climatique',
      "l'histoire de Paris",
      'la gestion du temps',
      'la cuisine végétarienne',
    ],
  },
  ja: {
    code: ['非同期処理', 'データベースのインデックス', 'Docker', 'Pythonのデコレーター'],
    legal: ['競業避止義務', '個人情報保護法', '賃貸借契約', '著作権'],
    medical: ['2型糖尿病', '高血圧', '片頭痛', '睡眠不足'],
    finance: ['インフレ', 'つみたてNISA', '確定申告', '住宅ローン'],
    general: ['気候変動', '日本の歴史', '時間管理', '英語の勉強法'],
  },
};

const FOLLOW_UPS: Record<Lang, readonly string[]> = {
  en: [
    'Can you make it shorter?',
    'Explain the second point in more detail.',
    'Thanks! Can you give an example?',
    'Make it more formal.',
    'That is not quite right, try again.',
    'Now put it in a table.',
    'Can you add sources?',
    'What about edge cases?',
    'Rewrite it for a non-technical audience.',
    'ok',
    'Continue.',
    'Translate that to Spanish.',
  ],
  es: [
    '¿Puedes resumirlo más?',
    'Dame un ejemplo.',
    'Gracias, continúa.',
    'Hazlo más formal.',
    'No es correcto.',
  ],
  de: [
    'Kannst du das kürzen?',
    'Gib mir ein Beispiel.',
    'Danke, weiter.',
    'Bitte formeller.',
    'Das stimmt nicht.',
  ],
  fr: [
    'Tu peux raccourcir ?',
    'Donne-moi un exemple.',
    'Merci, continue.',
    'Plus formel, stp.',
    "Ce n'est pas juste.",
  ],
  ja: [
    'もっと短くしてください。',
    '例を挙げてください。',
    'ありがとう、続けてください。',
    'もっと丁寧にしてください。',
  ],
};

const OTHER_SUFFIXES: Record<Exclude<Lang, 'en'>, readonly string[]> = {
  es: ['', '', ' Por favor.', ' Con un ejemplo.', ' En pocas palabras.', ' Gracias.'],
  de: ['', '', ' Bitte.', ' Mit einem Beispiel.', ' Kurz und knapp.', ' Danke!'],
  fr: ['', '', ' Merci.', ' Avec un exemple.', ' En quelques mots.', ' Stp.'],
  ja: ['', '', 'お願いします。', '例も挙げてください。', '簡潔にお願いします。'],
};

/** Ranks of a language pool that only hold short prompts, and their tasks. */
const HEAD_RANKS = 150;
const HEAD_TASKS: readonly Task[] = ['qa', 'qa', 'qa', 'generate', 'translate'];

interface Prompt {
  readonly text: string;
  readonly hash: string;
  readonly lang: Lang;
  readonly domain: Domain | null;
  readonly task: Task;
  readonly tokens: number;
}

function fillNumbers(s: string, r: Rand): string {
  return s
    .replace(/\{n\}/g, () => String(1 + Math.floor(r() * 9)))
    .replace(/\{pct\}/g, () => String(2 + Math.floor(r() * 38)))
    .replace(/\{amount\}/g, () => `$${(Math.floor(r() * 9000) + 100).toLocaleString('en-US')},000`)
    .replace(
      /\{date\}/g,
      () =>
        `20${24 + Math.floor(r() * 3)}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`,
    );
}

function passage(d: EnDomain, r: Rand, min: number, max: number): string {
  const n = min + Math.floor(r() * (max - min + 1));
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(fillNumbers(pick(d.sentences, r), r));
  return out.join(' ');
}

/** Rough token count of a text: ~4 characters a token, ~1 a token for CJK. */
function estimateTokens(text: string, lang: Lang): number {
  return Math.max(1, Math.round(lang === 'ja' ? text.length * 0.9 : text.length / 4));
}

function englishPrompt(domain: Domain, task: Task, r: Rand): string {
  const d = EN[domain];
  const topic = pick(d.topics, r);
  const mod = pick(EN_MODIFIERS, r);
  switch (task) {
    case 'summarize':
      return pick(
        [
          () =>
            `Summarize the following ${pick(d.docKinds, r)} in ${3 + Math.floor(r() * 3)} bullet points:\n\n${passage(d, r, 4, 14)}`,
          () => `TL;DR this ${pick(d.docKinds, r)} please:\n${passage(d, r, 3, 10)}`,
          () => `Give me a one-paragraph summary of ${topic}.`,
        ],
        r,
      )();
    case 'classify':
      return pick(
        [
          () =>
            `Classify this ${pick(d.docKinds, r)} as ${pick(d.labels, r)}. Answer with one word.\n\n${passage(d, r, 1, 3)}`,
          () => `Is the following about ${topic}? Reply yes or no.\n${passage(d, r, 1, 2)}`,
        ],
        r,
      )();
    case 'extract':
      return pick(
        [
          () => `Extract all ${pick(d.entities, r)} from the text below as JSON.\n\n${passage(d, r, 3, 12)}`,
          () => `List the ${pick(d.entities, r)} mentioned here:\n${passage(d, r, 2, 8)}`,
        ],
        r,
      )();
    case 'generate':
      if (domain === 'code' && r() < 0.5) {
        return pick(
          [
            () => `Why does this not work?\n\`\`\`\n${pick(CODE_SNIPPETS, r)}\n\`\`\``,
            () => `Write unit tests for this:\n\`\`\`\n${pick(CODE_SNIPPETS, r)}\n\`\`\``,
            () => `Refactor this code${mod}:\n\`\`\`\n${pick(CODE_SNIPPETS, r)}\n\`\`\``,
          ],
          r,
        )();
      }
      return pick(
        [
          () => `Write a short article about ${topic}${mod}.`,
          () => `Draft an email to a client explaining ${topic}${mod}.`,
          () => `Write a ${pick(d.docKinds, r)} template about ${topic}.`,
        ],
        r,
      )();
    case 'qa':
      return pick(
        [() => `What is ${topic}?`, () => `Explain ${topic}${mod}.`, () => `How do I ${pick(d.howtos, r)}?`],
        r,
      )();
    case 'translate':
      return `Translate to ${pick(['Spanish', 'German', 'French', 'Japanese'], r)}: "${fillNumbers(pick(d.sentences, r), r)}"`;
  }
}

/** The prompt text of one rank of a language's pool: a pure function of (seed, language, rank). */
function makePrompt(seed: number, langIndex: number, rank: number): Prompt {
  const r = mulberry32(mix(seed, 0x70726f6d, langIndex, rank));
  const lang = LANGS[langIndex]!;
  const domain = DOMAINS[drawCum(DOMAIN_CUM, r())]!;
  let task: Task;
  let text: string;
  if (lang === 'en') {
    // The most popular prompts are short questions and requests; documents are rarely repeated.
    task = rank < HEAD_RANKS ? pick(HEAD_TASKS, r) : TASKS[drawCum(TASK_CUM, r())]!;
    text = englishPrompt(domain, task, r);
  } else {
    const [t, template] = pick(OTHER_TEMPLATES[lang], r);
    task = t;
    text = template.replace('{topic}', pick(OTHER_TOPICS[lang][domain], r)) + pick(OTHER_SUFFIXES[lang], r);
  }
  return { text, hash: hash16(text), lang, domain, task, tokens: estimateTokens(text, lang) };
}

// ---------------------------------------------------------------------------------------------
// Users, sessions, experiments.

interface User {
  readonly id: string;
  readonly tier: Tier;
  readonly lang: Lang;
  readonly locale: string;
  readonly client: string;
  readonly feedbackRate: number;
  readonly ratingBias: number;
  /** Experiment index and variant (0 control, 1 treatment), or -1. */
  readonly experiment: number;
  readonly variant: number;
  /** Tokens of the app's system prompt this user's client sends. */
  readonly systemTokens: number;
  readonly clientVersion: string;
}

interface Session {
  readonly id: string;
  readonly user: User;
  model: Model;
  remaining: number;
  n: number;
  history: number;
  task: Task;
  domain: Domain | null;
  temperature: number;
  afterPause: boolean;
}

interface Experiment {
  readonly id: string;
  readonly variants: readonly [string, string];
  /** Effects of the treatment on quality and latency. */
  readonly qualityDelta: number;
  readonly latencyFactor: number;
  readonly stats: readonly VariantStats[];
}

const CLIENTS = ['web', 'web', 'web', 'ios', 'android', 'api'];
const USERS = 800;
const SAMPLE = 100; // the stream is a 1 % sample of the traffic that budgets and quotas see
const SESSION_RATE = 0.12; // sessions per simulated second at a rate multiplier of 1
const MEAN_REQUESTS = 5;
const TIMEOUT_MS = 30_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const RESOURCES = ['invoices', 'customers', 'orders', 'products', 'reports', 'subscriptions'];
const API_PROMPTS: Record<string, readonly string[]> = {
  invoices: ["show me last month's invoice", 'mark invoice as paid', 'send the overdue invoices again'],
  customers: ['find the customer Acme Corp', 'update the billing address', 'add a new customer'],
  orders: ['where is order 1042?', 'cancel my last order', 'list open orders'],
  products: ['change the price of the basic plan', 'add a product called Widget Pro', 'list products'],
  reports: ['export the Q3 revenue report', 'show churn by month'],
  subscriptions: ['upgrade to the pro plan', 'pause my subscription', 'when does my plan renew?'],
};

const ERR_TIMEOUT = ['timeout after 30000ms', 'upstream request timeout', 'gateway timeout (504)'];
const ERR_OTHER = ['internal_server_error: 500', 'service_unavailable: 503', 'bad_gateway: 502'];
const COMMENTS = [
  'Great answer, "exactly" what I needed',
  'Too long.',
  'The code does not compile.',
  'Wrong dates in the summary',
  'Perfect, thanks!',
  'Not helpful at all',
  'It made up a source.',
  'Muy útil 👍',
  'Bitte kürzer.',
  'Réponse incomplète',
];

/** Traffic multiplier of the hour of day and the day of the week (mean 1 on weekdays). */
function rateMultiplier(t: number): number {
  const day = Math.floor(t / DAY);
  const weekday = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
  const h = (t - day * DAY) / HOUR;
  const daily =
    1 + 0.62 * Math.cos((2 * Math.PI * (h - 16)) / 24) + 0.18 * Math.cos((4 * Math.PI * (h - 12)) / 24);
  return (weekday === 0 || weekday === 6 ? 0.55 : 1) * daily;
}

// ---------------------------------------------------------------------------------------------
// The simulation: a heap of actions (at simulated time) and outputs (at delivery time).

interface Out {
  readonly rec: Rec;
  readonly type: EventType;
  readonly ts: number;
  readonly late: boolean;
  /** Hash of the prompt text of an `llm_request` that carries one, for the stats. */
  readonly promptHash: string | null;
}

interface Item {
  readonly at: number;
  readonly seq: number;
  readonly out: Out | null;
  readonly run: ((t: number) => void) | null;
}

class Heap {
  private readonly a: Item[] = [];
  get size(): number {
    return this.a.length;
  }
  private static less(x: Item, y: Item): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
  push(it: Item): void {
    const a = this.a;
    let i = a.length;
    a.push(it);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!Heap.less(it, a[p]!)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = it;
  }
  pop(): Item | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && Heap.less(a[r]!, a[l]!) ? r : l;
      if (!Heap.less(a[c]!, last)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

const COLLECTOR_TYPES: ReadonlySet<EventType> = new Set([
  'performance_metrics',
  'user_feedback',
  'model_response',
  'system_health',
  'experiment_result',
]);
const NEVER_LATE: ReadonlySet<EventType> = new Set(['llm_request', 'model_catalog']);

const BAD_KINDS: readonly ReasonCode[] = [
  'not_json',
  'unknown_type',
  'missing_field',
  'wrong_type',
  'out_of_range',
  'bad_timestamp',
  'non_finite',
];

/** Per type: a required field to drop, a wrong-typed value, an out-of-range value, a number field. */
const FAULTS: Record<EventType, { missing: string; wrong: [string, J]; range: [string, J]; num: string }> = {
  performance_metrics: {
    missing: 'latency_ms',
    wrong: ['latency_ms', 'fast'],
    range: ['latency_ms', new F64(-5)],
    num: 'latency_ms',
  },
  user_feedback: {
    missing: 'task_completed',
    wrong: ['liked', 'yes'],
    range: ['rating', 9],
    num: 'dwell_time_seconds',
  },
  model_response: {
    missing: 'prompt_hash',
    wrong: ['response_length', '1024'],
    range: ['response_length', -1],
    num: 'response_length',
  },
  system_health: {
    missing: 'component',
    wrong: ['memory_usage', '2GB'],
    range: ['cpu_usage', new F64(87.5)],
    num: 'cpu_usage',
  },
  experiment_result: {
    missing: 'metric_value',
    wrong: ['sample_size', 'n/a'],
    range: ['confidence', new F64(1.5)],
    num: 'metric_value',
  },
  llm_request: {
    missing: 'session_id',
    wrong: ['priority', 'high'],
    range: ['priority', 12],
    num: 'prompt_tokens',
  },
  model_catalog: {
    missing: 'provider',
    wrong: ['context_length', '128k'],
    range: ['capability_score', new F64(1.2)],
    num: 'cost_per_1k_input',
  },
  api_call: { missing: 'method', wrong: ['status', 'OK'], range: ['status', 1000], num: 'status' },
};

function checkOptions(o: LlmStreamOptions): void {
  const bad = (field: string, rule: string, v: unknown): never => {
    throw new ConfigError(`llm stream \`${field}\` ${rule}, got ${String(v)}`, { field });
  };
  if (!Number.isSafeInteger(o.events) || o.events < 0) bad('events', 'must be an integer ≥ 0', o.events);
  if (!Number.isSafeInteger(o.seed)) bad('seed', 'must be an integer', o.seed);
  if (o.start !== undefined && !(Number.isFinite(o.start) && o.start >= 0 && o.start < 2e14)) {
    bad('start', 'must be ms since the epoch between 1970 and 8000', o.start);
  }
  if (o.models !== undefined && (!Number.isSafeInteger(o.models) || o.models < 1 || o.models > 64)) {
    bad('models', 'must be an integer in [1, 64]', o.models);
  }
  for (const k of ['lateFraction', 'badFraction'] as const) {
    const v = o[k];
    if (v !== undefined && !(v >= 0 && v <= 1)) bad(k, 'must be in [0, 1]', v);
  }
}

/** Per-variant tallies of an experiment. */
interface VariantStats {
  n: number;
  ok: number;
  latency: number;
  fb: number;
  liked: number;
}

/** Abramowitz–Stegun 7.1.26: the standard normal CDF through erf. */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const k = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * k - 1.453152027) * k + 1.421413741) * k - 0.284496736) * k + 0.254829592) *
      k *
      Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

const EXPERIMENT_METRICS: ReadonlyArray<
  readonly [
    name: string,
    value: (s: VariantStats) => number,
    higherIsBetter: boolean,
    size: (s: VariantStats) => number,
  ]
> = [
  ['success_rate', (s) => (s.n > 0 ? s.ok / s.n : 0), true, (s) => s.n],
  ['avg_latency_ms', (s) => (s.ok > 0 ? s.latency / s.ok : 0), false, (s) => s.ok],
  ['thumbs_up_rate', (s) => (s.fb > 0 ? s.liked / s.fb : 0), true, (s) => s.fb],
];

/**
 * The traffic simulation. Processes (session arrivals, requests, health ticks, catalog
 * updates, incidents, experiment reports) are actions on one heap keyed by simulated time; the
 * records they make sit on the same heap keyed by delivery time, so popping the heap yields
 * records in delivery order. {@link Simulation.next} runs actions until a record comes out.
 */
class Simulation {
  private readonly rand: Rand;
  private readonly lateRand: Rand;
  private readonly heap = new Heap();
  private seq = 0;
  private readonly models: Model[] = [];
  private readonly tierCum = {} as Record<Tier, Float64Array>;
  private readonly maxShare: number;
  private readonly gatewayBudget: number;
  private readonly gatewayQuota: number;
  private gatewayNoise = 0;
  private gatewayErr = 0.015;
  private readonly users: User[] = [];
  private readonly userCum = zipfCum(USERS, 1.0, 20);
  private readonly userOrder: number[];
  private readonly poolCum = LANG_POOL.map((n) => zipfCum(n, 1.0, 10));
  private readonly promptCache = new Map<number, Prompt>();
  private readonly followUpCache = new Map<string, Prompt>();
  private readonly experiments: Experiment[];

  constructor(
    private readonly seed: number,
    start: number,
    nModels: number,
    private readonly lateFraction: number,
  ) {
    const rand = mulberry32(mix(seed, 1));
    this.rand = rand;
    this.lateRand = mulberry32(mix(seed, 3));
    const models = this.models;

    for (let i = 0; i < nModels; i++) {
      const base = BASE_MODELS[i % BASE_MODELS.length]!;
      const generation = Math.floor(i / BASE_MODELS.length);
      const scale = generation === 0 ? 1 : 0.7 + rand() * 0.6;
      models.push({
        ...base,
        name: generation === 0 ? base.name : `${base.name}-v${generation + 1}`,
        ttft: base.ttft * scale,
        msPerToken: base.msPerToken * scale,
        cPriceIn: base.priceIn,
        cPriceOut: base.priceOut,
        cCapability: base.capability,
        cContext: base.contextLength,
        share: 0,
        maxConcurrency: base.size === 'small' ? 256 : base.size === 'medium' ? 128 : 64,
        memoryLimit: (base.size === 'small' ? 16 : base.size === 'medium' ? 32 : 64) * 2 ** 30,
        budgetTotal: 0,
        quotaPerHour: 0,
        noise: 0,
        errEwma: base.errorRate,
        incidentUntil: Number.NEGATIVE_INFINITY,
        incidentSevere: false,
        day: Math.floor(start / DAY),
        spentToday: 0,
        hour: Math.floor(start / HOUR),
        requestsThisHour: 0,
      });
    }
    for (const tier of TIERS) {
      const w = tierWeights(models, tier);
      this.tierCum[tier] = cumulative(w);
      const total = w.reduce((a, b) => a + b, 0);
      w.forEach((x, i) => {
        models[i]!.share += (TIER_SHARE[tier] * x) / total;
      });
    }
    this.maxShare = Math.max(...models.map((m) => m.share));
    // Daily budgets ~1.1–1.6 × the expected spend, hourly quotas 1.25 × the expected peak.
    const requestsPerDay = SESSION_RATE * 0.95 * MEAN_REQUESTS * 86_400;
    for (const m of models) {
      const costPerRequest = (900 * m.priceIn + 350 * m.priceOut) / 1000;
      const daily = requestsPerDay * m.share * costPerRequest * SAMPLE;
      m.budgetTotal = Math.max(10, Math.round(daily * (1.1 + 0.5 * rand()) * 0.1) * 10);
      m.quotaPerHour = Math.max(100, Math.round((requestsPerDay / 24) * 1.8 * m.share * SAMPLE * 1.25));
    }
    this.gatewayBudget = models.reduce((a, m) => a + m.budgetTotal, 0);
    this.gatewayQuota = models.reduce((a, m) => a + m.quotaPerHour, 0);

    const langCum = cumulative(LANG_WEIGHTS);
    for (let i = 0; i < USERS; i++) {
      const ur = mulberry32(mix(seed, 0x75736572, i));
      const tierRoll = ur();
      const tier: Tier = tierRoll < 0.6 ? 'free' : tierRoll < 0.9 ? 'pro' : 'enterprise';
      const lang = LANGS[drawCum(langCum, ur())]!;
      const inExperiment = ur() < 0.15;
      this.users.push({
        id: `user-${String(i + 1).padStart(4, '0')}`,
        tier,
        lang,
        locale: pick(LOCALES[lang], ur),
        client: pick(CLIENTS, ur),
        feedbackRate: ur() < 0.3 ? 0.02 : 0.15 + ur() * 0.6,
        ratingBias: gaussian(ur) * 0.4,
        experiment: inExperiment ? (ur() < 0.5 ? 0 : 1) : -1,
        variant: ur() < 0.5 ? 0 : 1,
        systemTokens: 60 + Math.floor(ur() * 200),
        clientVersion: `2.${12 + Math.floor(ur() * 4)}.${Math.floor(ur() * 10)}`,
      });
    }
    // Activity ranks shuffled over users, so user-0001 is not always the heaviest.
    const order = this.users.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.userOrder = order;

    const stats = () => [0, 1].map(() => ({ n: 0, ok: 0, latency: 0, fb: 0, liked: 0 }));
    this.experiments = [
      {
        id: 'exp-prompt-template-v2',
        variants: [uuid(rand), uuid(rand)],
        qualityDelta: 0.03,
        latencyFactor: 1.06,
        stats: stats(),
      },
      {
        id: 'exp-streaming-router',
        variants: [uuid(rand), uuid(rand)],
        qualityDelta: -0.01,
        latencyFactor: 0.85,
        stats: stats(),
      },
    ];

    for (const m of models) this.emit('model_catalog', start, this.catalogBody(m), start);
    this.schedule(start + 1.5 * HOUR + rand() * HOUR, (t) => this.catalogUpdate(t));
    this.schedule(start + expo(rand, 4 * HOUR), (t) => this.incident(t));
    [...models, null].forEach((m, i) => {
      this.schedule(start + 1000 + i * 1100 + rand() * 500, (t) => this.health(m, t));
    });
    this.schedule(start + 30 * MINUTE, (t) => this.reportExperiments(t));
    this.schedule(start + expo(rand, 1000 / (SESSION_RATE * rateMultiplier(start))), (t) => this.arrival(t));
  }

  /** Runs the simulation up to the next record to deliver. */
  next(): Out {
    for (;;) {
      const it = this.heap.pop()!; // never empty: every process reschedules itself
      if (it.out !== null) return it.out;
      it.run!(it.at);
    }
  }

  // -- plumbing

  /** Queues a record for delivery at `deliverAt` (later if picked to be late); returns when. */
  private emit(
    type: EventType,
    t: number,
    body: Rec,
    deliverAt: number,
    promptHash: string | null = null,
  ): number {
    const ts = Math.floor(t);
    const rec: Rec = { type, id: uuid(this.rand), timestamp: this.stamp(ts, type), ...body };
    let at = deliverAt;
    let late = false;
    if (this.lateFraction > 0 && !NEVER_LATE.has(type) && this.lateRand() < this.lateFraction) {
      late = true;
      at += 25 * MINUTE + this.lateRand() * 50 * MINUTE;
    }
    this.heap.push({ at, seq: this.seq++, out: { rec, type, ts, late, promptHash }, run: null });
    return at;
  }

  private schedule(at: number, run: (t: number) => void): void {
    this.heap.push({ at, seq: this.seq++, out: null, run });
  }

  /** RFC 3339 as the producers write it: chrono's 9/6/3 digits for collector types, ms for the rest. */
  private stamp(ts: number, type: EventType): string {
    const iso = formatTimestamp(ts);
    if (!COLLECTOR_TYPES.has(type)) return iso;
    const rand = this.rand;
    const r = rand();
    if (r < 0.55) return `${iso.slice(0, 23)}${String(Math.floor(rand() * 1e6)).padStart(6, '0')}Z`;
    if (r < 0.65) return `${iso.slice(0, 23)}${String(Math.floor(rand() * 1e3)).padStart(3, '0')}Z`;
    if (type === 'system_health' && r < 0.7) return `${iso.slice(0, 23)}+00:00`;
    return iso;
  }

  /** Delivery delay: 85 % under 1.5 s, 12 % up to 30 s, 3 % up to 110 s. */
  private delay(): number {
    const rand = this.rand;
    const r = rand();
    if (r < 0.85) return rand() * 1500;
    if (r < 0.97) return 1500 + rand() * 28_500;
    return 30_000 + rand() * 80_000;
  }

  // -- load

  private baseLoad(t: number): number {
    return clamp(rateMultiplier(t) / 1.85, 0, 1.2);
  }

  private utilOf(m: Model, t: number): number {
    const pressure = 0.72 * this.baseLoad(t) * (0.7 + (0.6 * m.share) / this.maxShare);
    return clamp(0.08 + pressure + m.noise + (t < m.incidentUntil ? 0.2 : 0), 0.01, 1);
  }

  /** Budgets roll over at UTC midnight, quotas every hour. */
  private account(m: Model, t: number, cost: number): void {
    const day = Math.floor(t / DAY);
    if (day !== m.day) {
      m.day = day;
      m.spentToday = 0;
    }
    const hour = Math.floor(t / HOUR);
    if (hour !== m.hour) {
      m.hour = hour;
      m.requestsThisHour = 0;
    }
    m.spentToday += cost;
    m.requestsThisHour++;
  }

  // -- model catalog and incidents

  private catalogBody(m: Model): Rec {
    return {
      model: m.name,
      provider: m.provider,
      context_length: m.cContext,
      cost_per_1k_input: new F64(m.cPriceIn),
      cost_per_1k_output: new F64(m.cPriceOut),
      capability_score: new F64(round(m.cCapability, 3)),
      training_cutoff: m.cutoff,
      supports_functions: m.functions,
      supports_vision: m.vision,
      supports_json_mode: m.jsonMode,
      size_class: m.size,
    };
  }

  private catalogUpdate(t: number): void {
    const rand = this.rand;
    const m = pick(this.models, rand);
    const r = rand();
    if (r < 0.5) {
      const cut = 0.5 + rand() * 0.4;
      m.cPriceIn = round(m.cPriceIn * cut, 7);
      m.cPriceOut = round(m.cPriceOut * cut, 7);
    } else if (r < 0.85) {
      m.cCapability = Math.min(0.99, m.cCapability + 0.01 + rand() * 0.03);
    } else {
      m.cContext = Math.min(2_000_000, m.cContext * 2);
    }
    this.emit('model_catalog', t, this.catalogBody(m), t + this.delay());
    this.schedule(t + 2 * HOUR + rand() * 2 * HOUR, (t2) => this.catalogUpdate(t2));
  }

  private incident(t: number): void {
    const rand = this.rand;
    const m = this.models[drawCum(this.tierCum.pro, rand())]!;
    m.incidentUntil = t + 10 * MINUTE + rand() * 35 * MINUTE;
    m.incidentSevere = rand() < 0.35;
    this.schedule(t + expo(rand, 4 * HOUR), (t2) => this.incident(t2));
  }

  // -- system health

  private health(m: Model | null, t: number): void {
    const rand = this.rand;
    const day = Math.floor(t / DAY);
    const hour = Math.floor(t / HOUR);
    let util: number;
    let errorRate: number;
    let spent = 0;
    let requestsThisHour = 0;
    let status: 'healthy' | 'degraded' | 'unhealthy';
    let bare = false;
    if (m !== null) {
      m.noise = clamp(0.97 * m.noise + 0.02 * gaussian(rand), -0.15, 0.15);
      util = this.utilOf(m, t);
      errorRate = m.errEwma;
      if (m.day === day) spent = m.spentToday;
      if (m.hour === hour) requestsThisHour = m.requestsThisHour;
      const incidentNow = t < m.incidentUntil;
      status =
        incidentNow && m.incidentSevere
          ? 'unhealthy'
          : incidentNow || util > 0.93 || errorRate > 0.12 || rand() < 0.004
            ? 'degraded'
            : 'healthy';
      bare = incidentNow && m.incidentSevere && rand() < 0.5;
    } else {
      this.gatewayNoise = clamp(0.97 * this.gatewayNoise + 0.015 * gaussian(rand), -0.1, 0.1);
      util = clamp(0.1 + 0.7 * this.baseLoad(t) + this.gatewayNoise, 0.01, 1);
      errorRate = this.gatewayErr;
      for (const x of this.models) {
        if (x.day === day) spent += x.spentToday;
        if (x.hour === hour) requestsThisHour += x.requestsThisHour;
      }
      status = util > 0.95 || errorRate > 0.1 || rand() < 0.002 ? 'degraded' : 'healthy';
    }
    const component = m === null ? 'gateway' : m.name;
    const budgetTotal = m === null ? this.gatewayBudget : m.budgetTotal;
    const quota = m === null ? this.gatewayQuota : m.quotaPerHour;
    const maxConcurrency = m === null ? 1024 : m.maxConcurrency;
    const memoryLimit = m === null ? 32 * 2 ** 30 : m.memoryLimit;
    const regionShift = m?.region.startsWith('europe') ? 7 * HOUR : 0;
    const body: Rec = bare
      ? {
          component,
          status,
          cpu_usage: null,
          memory_usage: null,
          active_requests: null,
          queue_depth: null,
          error_rate: null,
          metrics: {},
        }
      : {
          component,
          status,
          cpu_usage: new F64(round(clamp(0.05 + 0.85 * util + 0.03 * gaussian(rand), 0, 1), 4)),
          memory_usage: Math.floor(
            memoryLimit * clamp(0.35 + 0.45 * util + 0.02 * gaussian(rand), 0.05, 0.99),
          ),
          active_requests: Math.max(0, Math.round(util * maxConcurrency * (0.9 + 0.2 * rand()))),
          queue_depth:
            util > 0.7 ? Math.round(((util - 0.7) / 0.3) ** 2 * 200 * (0.5 + rand())) : rand() < 0.1 ? 1 : 0,
          error_rate: rand() < 0.1 ? null : new F64(round(errorRate, 4)),
          metrics: {
            memory_limit: new F64(memoryLimit),
            max_concurrency: new F64(maxConcurrency),
            budget_remaining: new F64(round(Math.max(0, budgetTotal - spent * SAMPLE), 2)),
            budget_total: new F64(budgetTotal),
            budget_reset_at: new F64(((day + 1) * DAY) / 1000),
            api_quota_remaining: new F64(round(clamp(1 - (requestsThisHour * SAMPLE) / quota, 0, 1), 4)),
            region_load: new F64(
              round(clamp(0.15 + 0.6 * this.baseLoad(t + regionShift) + 0.05 * gaussian(rand), 0, 1), 4),
            ),
          },
        };
    this.emit('system_health', t, body, t + this.delay());
    this.schedule(t + 9500 + rand() * 1000, (t2) => this.health(m, t2));
  }

  // -- experiments

  private reportExperiments(t: number): void {
    for (const e of this.experiments) {
      const [c, x] = [e.stats[0]!, e.stats[1]!];
      for (const [name, value, higherIsBetter, size] of EXPERIMENT_METRICS) {
        const vc = value(c);
        const vx = value(x);
        const nc = size(c);
        const nx = size(x);
        let p: number | null = null;
        if (nc >= 20 && nx >= 20) {
          // Two-proportion z test for rates; for latency a z test with a log-normal spread.
          const se =
            name === 'avg_latency_ms'
              ? Math.sqrt((0.8 * vc) ** 2 / nc + (0.8 * vx) ** 2 / nx)
              : Math.sqrt((vc * (1 - vc)) / nc + (vx * (1 - vx)) / nx);
          p = se > 0 ? 2 * (1 - normalCdf(Math.abs(vx - vc) / se)) : 1;
        }
        const better = higherIsBetter ? vx > vc : vx < vc;
        const significant = p !== null && p < 0.05;
        for (let v = 0; v < 2; v++) {
          const s = e.stats[v]!;
          const body: Rec = {
            experiment_id: e.id,
            variant_id: e.variants[v]!,
            metric_name: name,
            metric_value: new F64(round(value(s), name === 'avg_latency_ms' ? 1 : 4)),
            sample_size: size(s),
            confidence: v === 1 && p !== null ? new F64(round(1 - p, 4)) : null,
            is_winner: significant && (v === 1 ? better : !better),
            data: {
              arm: v === 0 ? 'control' : 'treatment',
              p_value: p === null ? null : new F64(round(p, 6)),
              window_minutes: 30,
              baseline_variant: e.variants[0],
            },
          };
          this.emit('experiment_result', t, body, t + this.delay());
        }
      }
    }
    this.schedule(t + 30 * MINUTE, (t2) => this.reportExperiments(t2));
  }

  // -- sessions and requests

  private arrival(t: number): void {
    const rand = this.rand;
    const u = this.users[this.userOrder[drawCum(this.userCum, rand())]!]!;
    if (rand() < 0.05) {
      const id = `s-${uuid(rand).slice(0, 8)}`;
      this.apiCall(id, u, pick(RESOURCES, rand), 0, 3 + Math.floor(rand() * 10), t);
    } else {
      const s: Session = {
        id: uuid(rand),
        user: u,
        model: this.chooseModel(u.tier),
        remaining: 1 + Math.min(40, Math.floor(expo(rand, MEAN_REQUESTS - 1))),
        n: 0,
        history: 0,
        task: 'qa',
        domain: null,
        temperature: pick([0, 0.2, 0.7, 0.7, 1], rand),
        afterPause: false,
      };
      this.request(s, t);
    }
    const gap = expo(rand, 1000 / (SESSION_RATE * rateMultiplier(t)));
    this.schedule(t + gap, (t2) => this.arrival(t2));
  }

  private chooseModel(tier: Tier): Model {
    return this.models[drawCum(this.tierCum[tier], this.rand())]!;
  }

  private promptOf(langIndex: number, rank: number): Prompt {
    if (rank >= 3000) return makePrompt(this.seed, langIndex, rank);
    const key = langIndex * 100_000 + rank;
    let p = this.promptCache.get(key);
    if (p === undefined) {
      p = makePrompt(this.seed, langIndex, rank);
      this.promptCache.set(key, p);
    }
    return p;
  }

  private followUpOf(lang: Lang, text: string): Prompt {
    let p = this.followUpCache.get(text);
    if (p === undefined) {
      p = { text, hash: hash16(text), lang, domain: null, task: 'qa', tokens: estimateTokens(text, lang) };
      this.followUpCache.set(text, p);
    }
    return p;
  }

  /** One request of a session: llm_request, then model_response and performance_metrics, maybe feedback. */
  private request(s: Session, t: number): void {
    const rand = this.rand;
    const u = s.user;
    const langIndex = LANGS.indexOf(u.lang);
    let m = s.model;
    if (s.n > 0 && rand() < 0.08) m = s.model = this.chooseModel(u.tier);
    const followUp = s.n > 0 && !s.afterPause && rand() < 0.7;
    let prompt: Prompt;
    if (followUp && rand() < 0.5) {
      prompt = this.followUpOf(u.lang, pick(FOLLOW_UPS[u.lang], rand));
    } else {
      prompt = this.promptOf(langIndex, drawCum(this.poolCum[langIndex]!, rand()));
      if (!followUp) {
        s.task = prompt.task;
        s.domain = prompt.domain;
        s.history = 0;
      }
    }
    s.afterPause = false;
    const task = s.task;
    const outLength = outputLength(task, rand);
    const maxTokens = outLength === 'short' ? 256 : outLength === 'medium' ? 1024 : 4096;
    const meanOut = outLength === 'short' ? 70 : outLength === 'medium' ? 320 : 900;
    const inTok = prompt.tokens + u.systemTokens + s.history;
    const variant = u.experiment >= 0 ? u.variant : -1;
    const exp = u.experiment >= 0 ? this.experiments[u.experiment]! : null;

    // Load, latency and errors.
    const util = this.utilOf(m, t);
    const incidentNow = t < m.incidentUntil;
    const overload = Math.max(0, util - 0.7) / 0.3; // 0 up to 70 % utilisation, 1 when saturated
    let outTok = Math.min(
      maxTokens,
      Math.max(1, Math.round(meanOut * Math.exp(0.6 * gaussian(rand) - 0.18))),
    );
    let ttft =
      m.ttft *
      Math.exp(m.sigma * gaussian(rand)) *
      (1 + inTok / 20_000) *
      (1 + 1.5 * Math.max(0, util - 0.6));
    if (rand() < 0.02) ttft *= (1 - rand()) ** (-1 / 1.3); // heavy (Pareto) tail
    if (incidentNow) ttft *= m.incidentSevere ? 3 : 2;
    let latency = ttft + outTok * m.msPerToken * (0.85 + 0.3 * rand());
    if (exp !== null && variant === 1) latency *= exp.latencyFactor;
    let error: string | null = null;
    let retries = rand() < 0.88 ? 0 : rand() < 0.8 ? 1 : 2;
    const pErr =
      m.errorRate * (1 + 6 * overload) * (incidentNow ? (m.incidentSevere ? 15 : 4) : 1) +
      (u.tier === 'free' ? 0.003 : 0);
    if (inTok > m.cContext) {
      error = `context_length_exceeded: ${inTok} tokens > ${m.cContext}`;
      latency = 80 + rand() * 120;
    } else if (latency > TIMEOUT_MS) {
      error = pick(ERR_TIMEOUT, rand);
    } else if (rand() < pErr) {
      const r = rand();
      if (r < 0.35 + 0.4 * overload + (incidentNow ? 0.2 : 0)) error = pick(ERR_TIMEOUT, rand);
      else if (r < 0.75) error = 'rate_limit_exceeded: 429 Too Many Requests';
      else error = pick(ERR_OTHER, rand);
    }
    if (error !== null) {
      retries = 1 + Math.floor(rand() * (overload > 0 ? 3 : 2));
      outTok = 0;
      if (error.includes('timeout')) latency = TIMEOUT_MS + rand() * 50;
      else if (!error.startsWith('context')) latency = Math.min(latency, 50 + rand() * 400);
    } else if (overload > 0 && rand() < 0.4 * overload) {
      retries++;
    }
    const cost = round((inTok * m.cPriceIn + outTok * m.cPriceOut) / 1000, 8);
    const treatment = exp !== null && variant === 1 ? exp.qualityDelta : 0;
    const quality = error !== null ? 0 : clamp(m.cCapability + treatment + 0.08 * gaussian(rand), 0, 1);

    // llm_request at send time
    const requestId = uuid(rand);
    const priority =
      u.tier === 'free'
        ? Math.floor(rand() * 5)
        : u.tier === 'pro'
          ? 3 + Math.floor(rand() * 5)
          : 5 + Math.floor(rand() * 6);
    const withPrompt = rand() < 0.98;
    const sentAt = this.emit(
      'llm_request',
      t,
      {
        request_id: requestId,
        session_id: s.id,
        user_id: rand() < 0.95 ? u.id : undefined,
        model: rand() < 0.85 ? m.name : undefined,
        prompt: withPrompt ? prompt.text : undefined,
        prompt_tokens: rand() < 0.85 ? prompt.tokens : undefined,
        max_tokens: rand() < 0.85 ? maxTokens : undefined,
        output_length: rand() < 0.6 ? outLength : undefined,
        task_type: rand() < 0.9 ? (followUp && prompt.domain === null ? task : prompt.task) : undefined,
        language: rand() < 0.8 ? u.lang : undefined,
        priority: rand() < 0.9 ? priority : undefined,
        user_tier: rand() < 0.9 ? u.tier : undefined,
        follow_up: s.n === 0 ? (rand() < 0.7 ? false : undefined) : rand() < 0.9 ? followUp : undefined,
      },
      t + this.delay(),
      withPrompt ? prompt.hash : null,
    );

    // model_response and performance_metrics at completion, never delivered before the request
    const done = t + latency;
    const responseLength =
      outTok === 0 ? 0 : Math.round(outTok * (u.lang === 'ja' ? 1.2 : 3.9) * (0.9 + 0.2 * rand()));
    const temperature = s.temperature;
    this.emit(
      'model_response',
      done,
      {
        request_id: requestId,
        session_id: s.id,
        model: m.name,
        prompt_hash: prompt.hash,
        // At temperature 0 the same prompt gives the same answer.
        response_hash: hash16(
          outTok === 0 ? '' : temperature === 0 ? `${m.name}|${prompt.hash}` : `${m.name}|${requestId}`,
        ),
        response_length: responseLength,
        config: {
          temperature: new F64(temperature),
          max_tokens: maxTokens,
          top_p: new F64(temperature === 0 ? 1 : 0.95),
          stop: null,
          tools:
            s.domain === 'code'
              ? ['code_interpreter']
              : s.domain === 'finance'
                ? ['search', 'calculator']
                : [],
        },
        context: { channel: u.client, locale: u.locale, client_version: u.clientVersion },
      },
      Math.max(done + this.delay(), sentAt + 1),
    );
    const metricsAt = done + 1 + rand() * 4;
    this.emit(
      'performance_metrics',
      metricsAt,
      {
        request_id: requestId,
        model: m.name,
        config_id: exp !== null ? exp.variants[variant]! : null,
        latency_ms: new F64(round(latency, 3)),
        input_tokens: inTok,
        output_tokens: outTok,
        cost: new F64(cost),
        quality_score: error === null && rand() < 0.4 ? new F64(round(quality, 3)) : null,
        error,
        metrics:
          error === null
            ? { retries: new F64(retries), ttft_ms: new F64(round(Math.min(ttft, latency), 1)) }
            : { retries: new F64(retries) },
      },
      Math.max(metricsAt + this.delay(), sentAt + 1),
    );
    this.account(m, t, cost);
    const isErr = error !== null ? 1 : 0;
    m.errEwma = 0.97 * m.errEwma + 0.03 * isErr;
    this.gatewayErr = 0.99 * this.gatewayErr + 0.01 * isErr;
    if (exp !== null) {
      const st = exp.stats[variant]!;
      st.n++;
      if (error === null) {
        st.ok++;
        st.latency += latency;
      }
    }

    const fbChance = clamp(u.feedbackRate * (error !== null ? 1.6 : 1), 0, 0.95);
    if (rand() < fbChance) {
      const outcome = { error, quality, outTok, responseLength, done, sentAt };
      const liked = this.feedback(s, requestId, outcome);
      if (exp !== null && liked !== null) {
        const st = exp.stats[variant]!;
        st.fb++;
        if (liked) st.liked++;
      }
    }

    // The session goes on after a think time, sometimes after a pause that splits its window.
    s.n++;
    s.remaining--;
    s.history = Math.min(60_000, s.history + prompt.tokens + outTok);
    if (error !== null && rand() < 0.3) s.model = this.chooseModel(u.tier);
    if (s.remaining > 0) {
      let next = done + 2000 + Math.exp(Math.log(45_000) + 0.9 * gaussian(rand));
      if (rand() < 0.05) {
        next = done + 31 * MINUTE + rand() * 89 * MINUTE;
        s.afterPause = true;
      }
      this.schedule(next, (t2) => this.request(s, t2));
    }
  }

  /**
   * user_feedback on a request, given after reading (dwell + a few seconds) and delivered by a
   * client that may buffer it for minutes. Returns `liked` (null when not given).
   */
  private feedback(
    s: Session,
    requestId: string,
    o: {
      error: string | null;
      quality: number;
      outTok: number;
      responseLength: number;
      done: number;
      sentAt: number;
    },
  ): boolean | null {
    const rand = this.rand;
    const u = s.user;
    const dwell =
      o.outTok === 0
        ? 2 + rand() * 8
        : Math.min(600, (o.responseLength / (18 + rand() * 22)) * Math.exp(0.4 * gaussian(rand)) + 1);
    const reaction = Math.min(420_000, dwell * 1000 * (0.7 + 0.6 * rand()) + 1000 + rand() * 8000);
    const givenAt = o.done + reaction;
    const r = rand();
    const buffered = r < 0.5 ? rand() * 3000 : r < 0.85 ? 3000 + rand() * 87_000 : 90_000 + rand() * 270_000;
    const deliverAt = Math.max(givenAt + Math.min(buffered, 480_000 - reaction), o.sentAt + 1);
    const score =
      o.error !== null ? 0.1 + 0.2 * rand() : o.quality + u.ratingBias * 0.15 + 0.1 * gaussian(rand);
    const rating = clamp(Math.round(1 + 4 * clamp(score, 0, 1) + 0.6 * gaussian(rand)), 1, 5);
    const hasRating = rand() < 0.55;
    const liked = rand() < 0.65 ? rating >= 4 || (rating === 3 && rand() < 0.3) : null;
    const regenerated = o.error !== null ? rand() < 0.7 : rating <= 2 ? rand() < 0.4 : rand() < 0.04;
    const completed = o.error === null && rating >= 3 && rand() < 0.85;
    const copied = completed && rand() < (s.domain === 'code' ? 0.7 : 0.35);
    const metadata: Record<string, string> = { response_copied: copied ? 'true' : 'false', client: u.client };
    if (rand() < 0.3) metadata.app_version = u.clientVersion;
    this.emit(
      'user_feedback',
      givenAt,
      {
        user_id: rand() < 0.95 ? u.id : null,
        session_id: s.id,
        request_id: requestId,
        rating: hasRating ? new F64(rating) : null,
        liked,
        task_completed: completed,
        response_edited: completed && rand() < 0.2,
        response_regenerated: regenerated,
        dwell_time_seconds: rand() < 0.85 ? new F64(round(dwell, 1)) : null,
        response_saved: completed && rand() < 0.15,
        response_shared: completed && rand() < 0.05,
        comment: rand() < 0.05 ? pick(COMMENTS, rand) : null,
        metadata,
      },
      deliverAt,
    );
    return liked;
  }

  /** One call of an API workflow session (list → get → edit → save/confirm chains). */
  private apiCall(sessionId: string, u: User, resource: string, step: number, left: number, t: number): void {
    const rand = this.rand;
    let method: string;
    let path: string;
    const r = rand();
    if (step === 0) {
      method = r < 0.8 ? 'GET' : 'POST';
      path = `/v1/${resource}`;
    } else if (r < 0.35) {
      method = 'GET';
      path = `/v1/${resource}/{id}`;
    } else if (r < 0.6) {
      method = rand() < 0.7 ? 'PATCH' : 'PUT';
      path = `/v1/${resource}/{id}`;
    } else if (r < 0.78) {
      method = 'POST';
      path = rand() < 0.5 ? `/v1/${resource}/{id}/confirm` : `/v1/${resource}`;
    } else if (r < 0.85) {
      method = 'DELETE';
      path = `/v1/${resource}/{id}`;
    } else {
      method = 'GET';
      path = `/v1/${resource}`;
    }
    const sr = rand();
    const ok = method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200;
    const status =
      sr < 0.9 ? ok : sr < 0.94 ? 404 : sr < 0.97 ? 422 : sr < 0.985 ? 409 : sr < 0.99 ? 500 : null;
    this.emit(
      'api_call',
      t,
      {
        session_id: sessionId,
        user_id: rand() < 0.9 ? u.id : undefined,
        method,
        path,
        resource: rand() < 0.95 ? resource : null,
        status,
        prompt: step === 0 || rand() < 0.2 ? pick(API_PROMPTS[resource]!, rand) : undefined,
      },
      t + this.delay(),
    );
    if (left > 1) {
      const nextResource = rand() < 0.8 ? resource : pick(RESOURCES, rand);
      this.schedule(t + 2000 + rand() * 38_000, (t2) =>
        this.apiCall(sessionId, u, nextResource, step + 1, left - 1, t2),
      );
    }
  }
}

/** The answer length a task asks for. */
function outputLength(task: Task, rand: Rand): 'short' | 'medium' | 'long' {
  switch (task) {
    case 'classify':
      return 'short';
    case 'generate':
      return rand() < 0.6 ? 'long' : 'medium';
    case 'summarize':
    case 'extract':
      return rand() < 0.5 ? 'short' : 'medium';
    default:
      return rand() < 0.4 ? 'short' : rand() < 0.8 ? 'medium' : 'long';
  }
}

/**
 * Every line with what it is, its type and its event time: the ground truth for tests.
 * {@link generateLlmEvents} is this without the annotations.
 *
 * @example
 * const bad = [...generateLlmLines({ events: 5000, seed: 1, badFraction: 0.01 })].filter((l) => l.ts === null);
 */
export function* generateLlmLines(opts: LlmStreamOptions): Generator<LlmLine, void, undefined> {
  for (const l of annotatedLines(opts)) yield { line: l.line, kind: l.kind, type: l.type, ts: l.ts };
}

/** {@link generateLlmLines} plus the prompt hash of each `llm_request` line that has a prompt. */
function* annotatedLines(
  opts: LlmStreamOptions,
): Generator<LlmLine & { readonly promptHash: string | null }, void, undefined> {
  checkOptions(opts);
  if (opts.events === 0) return;
  const start = Math.floor(opts.start ?? Date.UTC(2026, 2, 2));
  const badFraction = opts.badFraction ?? 0.002;
  const sim = new Simulation(opts.seed, start, opts.models ?? 6, opts.lateFraction ?? 0.002);
  const badRand = mulberry32(mix(opts.seed, 2));
  let written = 0;
  let badCount = 0;
  let rangeCount = 0;
  let lastFeedback: Rec | null = null;
  while (written < opts.events) {
    const out = sim.next();
    // A malformed copy goes before a share of records; they cycle through the reason codes.
    if (badFraction > 0 && badRand() < badFraction) {
      const kind = BAD_KINDS[badCount % BAD_KINDS.length]!;
      const variant = Math.floor(badCount / BAD_KINDS.length);
      badCount++;
      let type = out.type;
      let base = out.rec;
      if (kind === 'out_of_range' && rangeCount++ % 2 === 0 && lastFeedback !== null) {
        type = 'user_feedback'; // rating 9
        base = lastFeedback;
      }
      yield { line: corrupt(base, type, kind, variant), kind, type, ts: null, promptHash: null };
      if (++written >= opts.events) break;
    }
    if (out.type === 'user_feedback') lastFeedback = out.rec;
    yield {
      line: writeJson(out.rec),
      kind: out.late ? 'late' : 'event',
      type: out.type,
      ts: out.ts,
      promptHash: out.promptHash,
    };
    written++;
  }
}

/** A malformed copy of a record that fails decoding with exactly `kind`. */
function corrupt(rec: Rec, type: EventType, kind: ReasonCode, variant: number): string {
  const f = FAULTS[type];
  switch (kind) {
    case 'not_json': {
      const whole = writeJson(rec);
      switch (variant % 3) {
        case 0:
          return whole.slice(0, Math.floor(whole.length / 2));
        case 1:
          return `${whole.slice(0, -1)},}`;
        default:
          return whole.replace(/"/g, "'");
      }
    }
    case 'unknown_type': {
      const names = [`${type}s`, 'feedback', 'perf_metrics'];
      if (variant % 4 === 3) {
        const { type: _dropped, ...rest } = rec;
        return writeJson(rest);
      }
      return writeJson({ ...rec, type: names[variant % 3]! });
    }
    case 'missing_field': {
      const { [f.missing]: _dropped, ...rest } = rec;
      return writeJson(rest);
    }
    case 'wrong_type':
      return writeJson({ ...rec, [f.wrong[0]]: f.wrong[1] });
    case 'out_of_range':
      return writeJson({ ...rec, [f.range[0]]: f.range[1] });
    case 'bad_timestamp': {
      const bad = ['yesterday', '2026-13-01T00:00:00Z', '2026-03-02 10:00:00', '1772445600'];
      return writeJson({ ...rec, timestamp: bad[variant % bad.length]! });
    }
    default:
      return writeJson({ ...rec, [f.num]: new Raw(variant % 2 === 0 ? '1e999' : '-1e999') });
  }
}

/**
 * The lines of a seeded LLM application stream (no newlines). Same options, same lines; a
 * longer stream starts with a shorter one.
 *
 * @example
 * const lines = [...generateLlmEvents({ events: 20_000, seed: 1, models: 6 })];
 */
export function* generateLlmEvents(opts: LlmStreamOptions): Generator<string, void, undefined> {
  for (const l of generateLlmLines(opts)) yield l.line;
}

/**
 * Writes a generated stream to `path` as NDJSON, gzip-compressed when the path ends in `.gz`,
 * streaming (memory stays flat apart from the set of distinct prompt hashes). Resolves with
 * what was written. `map`, when given, writes each line as it returns it (the stats still count
 * the generated lines): how `writeShiftedLlmEvents` (shift.ts) puts a known shift into a stream.
 *
 * @example
 * const { byType, bad, late, uniquePrompts } = await writeLlmEvents('/tmp/llm.ndjson.gz', { events: 100_000, seed: 7 });
 */
export async function writeLlmEvents(
  path: string,
  opts: LlmStreamOptions,
  map?: (line: LlmLine) => string,
): Promise<LlmStreamStats> {
  checkOptions(opts);
  const byType: Record<string, number> = {};
  const badByReason: Partial<Record<ReasonCode, number>> = {};
  const promptSet = new Set<string>();
  let lines = 0;
  let bad = 0;
  let late = 0;
  let prompts = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;

  function* counted(): Generator<string, void, undefined> {
    for (const l of annotatedLines(opts)) {
      lines++;
      if (l.ts === null) {
        bad++;
        badByReason[l.kind as ReasonCode] = (badByReason[l.kind as ReasonCode] ?? 0) + 1;
      } else {
        byType[l.type] = (byType[l.type] ?? 0) + 1;
        if (l.kind === 'late') late++;
        if (l.ts < first) first = l.ts;
        if (l.ts > last) last = l.ts;
        if (l.promptHash !== null) {
          prompts++;
          promptSet.add(l.promptHash);
        }
      }
      yield map === undefined ? l.line : map(l);
    }
  }

  await writeNdjsonLines(path, counted());
  const none = lines === bad;
  return {
    byType,
    bad,
    late,
    uniquePrompts: promptSet.size,
    first: none ? Number.NaN : first,
    last: none ? Number.NaN : last,
    lines,
    prompts,
    badByReason,
  };
}
