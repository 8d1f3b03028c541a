/**
 * Request features, catalog A1 (group `request`, entity `request`): pure functions of one
 * `llm_request` event body and its event time. REQ_014 session_depth needs a per-session count
 * kept by the engine; {@link sessionDepth} maps that count to the feature.
 *
 * A feature whose inputs are missing is null, never 0: a request without `prompt` and without
 * `prompt_tokens` has a null REQ_001.
 */
import { stableHash01 } from './hash.js';
import { type Body, clamp, numField, strField } from './read.js';
import { domainSpecificity } from './text/domain.js';
import { detectLanguage, normalizeLanguage } from './text/language.js';
import { fleschKincaidGrade } from './text/readability.js';

/** Values of the `request` group computed per event (all but REQ_014), keyed by feature name. */
export type RequestFeatureValues = {
  readonly prompt_length: number | null;
  readonly prompt_char_count: number | null;
  readonly prompt_complexity: number | null;
  readonly expected_output_length: number | null;
  readonly task_type_classification: number | null;
  readonly prompt_language: number | null;
  readonly prompt_domain: number | null;
  readonly request_priority: number | null;
  readonly hour_of_day_cos: number;
  readonly hour_of_day_sin: number;
  readonly day_of_week_cos: number;
  readonly day_of_week_sin: number;
  readonly is_weekend: number;
  readonly user_tier: number | null;
};

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** Characters per token of the estimate used when `prompt_tokens` is absent (the usual ≈ 4). */
export const CHARS_PER_TOKEN = 4;

/** Number of Unicode code points of `s` (what "chars" means for REQ_002 and the token estimate). */
export function codePointCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Token count estimated from text when the event has no `prompt_tokens`: ⌈code points / 4⌉.
 *
 * @example
 * estimateTokens('hello world'); // Math.ceil(11 / 4) = 3
 */
export function estimateTokens(text: string): number {
  return Math.ceil(codePointCount(text) / CHARS_PER_TOKEN);
}

/** REQ_004: short 0, medium 0.5, long 1. */
const OUTPUT_LENGTH_VALUE: Readonly<Record<string, number>> = { short: 0, medium: 0.5, long: 1 };
/** REQ_015: free 0, pro 0.5, enterprise 1. */
const USER_TIER_VALUE: Readonly<Record<string, number>> = { free: 0, pro: 0.5, enterprise: 1 };

/**
 * REQ_005 from a `task_type`: classify 0, generate 0.33, extract 0.67, summarize 1, anything else
 * 0.5 ("unknown"). Case-insensitive, and noun or verb forms match (`Classification`,
 * `summarization`, `generate_text`) by their stem.
 *
 * @example
 * taskTypeValue('Summarization'); // 1
 * taskTypeValue('translate'); // 0.5
 */
export function taskTypeValue(taskType: string): number {
  const t = taskType.trim().toLowerCase();
  if (t.startsWith('classif')) return 0;
  if (t.startsWith('generat')) return 0.33;
  if (t.startsWith('extract')) return 0.67;
  if (t.startsWith('summar')) return 1;
  return 0.5;
}

/**
 * REQ_004 from the explicit category, else from `max_tokens` (≤ 256 short, ≤ 1024 medium, else
 * long); null when neither is there.
 */
function expectedOutputLength(body: Body): number | null {
  const category = strField(body, 'output_length');
  if (category !== null) {
    const v = OUTPUT_LENGTH_VALUE[category.toLowerCase()];
    if (v !== undefined) return v;
  }
  const maxTokens = numField(body, 'max_tokens');
  if (maxTokens === null) return null;
  return maxTokens <= 256 ? 0 : maxTokens <= 1024 ? 0.5 : 1;
}

/**
 * Given language tags → their normalised code (null: none), memoized: a stream holds a few tags
 * and REQ_006 reads one per request. Bounded: emptied at {@link LANGUAGE_MEMO_MAX} tags.
 */
const normalizedTags = new Map<string, string | null>();
/** Codes → {@link stableHash01} of the code, memoized (franc-min knows under 100 codes). */
const hashedCodes = new Map<string, number>();
const LANGUAGE_MEMO_MAX = 1_000;

function memo<V>(m: Map<string, V>, key: string, make: (key: string) => V): V {
  const hit = m.get(key);
  if (hit !== undefined || m.has(key)) return hit as V;
  const v = make(key);
  if (m.size >= LANGUAGE_MEMO_MAX) m.clear();
  m.set(key, v);
  return v;
}

/** REQ_006: the given language, else the detected one, hashed; null when neither is known. */
function promptLanguage(language: string | null, prompt: string | null): number | null {
  let code = language === null ? null : memo(normalizedTags, language, normalizeLanguage);
  if (code === null && prompt !== null) code = detectLanguage(prompt);
  return code === null ? null : memo(hashedCodes, code, stableHash01);
}

/**
 * REQ_014 session_depth from the number of requests seen in the session:
 * min(1, ln(1 + n) / ln(101)); negative counts read as 0.
 *
 * @example
 * sessionDepth(10); // Math.log(11) / Math.log(101)
 * sessionDepth(500); // 1
 */
export function sessionDepth(n: number): number {
  const x = Math.log(1 + Math.max(0, n)) / Math.log(101);
  return Math.min(1, x);
}

/**
 * REQ_009–REQ_013 from the event time (UTC). `hour` is the integer hour 0–23; `day` is the day
 * of the week with Sunday = 0 … Saturday = 6 (as `Date.prototype.getUTCDay`).
 *
 * @example
 * timeFeatures(Date.UTC(2025, 0, 18, 6)); // Saturday 06:00 → hour_of_day_cos ≈ 0, is_weekend 1
 */
export function timeFeatures(ts: number): TimeFeatureValues {
  // The values depend on the hour only; events come mostly in time order, so the last hour's
  // values are usually the ones asked for.
  const hourKey = Math.floor(ts / MS_PER_HOUR);
  if (hourKey !== lastHourKey || lastTime === null) {
    lastTime = timeFeaturesOfHour(ts);
    lastHourKey = hourKey;
  }
  return lastTime;
}

/** REQ_009–REQ_013's values. */
export interface TimeFeatureValues {
  readonly hour_of_day_cos: number;
  readonly hour_of_day_sin: number;
  readonly day_of_week_cos: number;
  readonly day_of_week_sin: number;
  readonly is_weekend: number;
}

let lastHourKey = Number.NaN;
let lastTime: TimeFeatureValues | null = null;

function timeFeaturesOfHour(ts: number): TimeFeatureValues {
  const days = Math.floor(ts / MS_PER_DAY);
  const hour = Math.floor((ts - days * MS_PER_DAY) / MS_PER_HOUR);
  // 1970-01-01 was a Thursday (4).
  const day = (((days + 4) % 7) + 7) % 7;
  return {
    hour_of_day_cos: Math.cos((2 * Math.PI * hour) / 24),
    hour_of_day_sin: Math.sin((2 * Math.PI * hour) / 24),
    day_of_week_cos: Math.cos((2 * Math.PI * day) / 7),
    day_of_week_sin: Math.sin((2 * Math.PI * day) / 7),
    is_weekend: day === 0 || day === 6 ? 1 : 0,
  };
}

/**
 * REQ_001–REQ_013 and REQ_015 of one `llm_request` event, keyed by feature name.
 *
 * - REQ_001 prompt_length: ln(tokens + 1) / 10, max 1; tokens = `prompt_tokens`, else
 *   {@link estimateTokens} of `prompt`; null with neither.
 * - REQ_002 prompt_char_count: code points of `prompt` / 10000, max 1; null without `prompt`.
 * - REQ_003 prompt_complexity: Flesch–Kincaid grade / 20, clamped to [0, 1]; null without a
 *   prompt that has words.
 * - REQ_004, REQ_005, REQ_015: the category maps of the catalog; null when absent.
 * - REQ_006: {@link stableHash01} of the language code (given, else detected); null when unknown.
 * - REQ_007: {@link domainSpecificity}; null without a prompt that has terms.
 * - REQ_008: priority / 10, clamped to [0, 1]; null when absent.
 * - REQ_009–REQ_013: {@link timeFeatures} of `ts`.
 *
 * @example
 * requestFeatures({ prompt_tokens: 100, priority: 7 }, Date.UTC(2025, 0, 15, 10)).prompt_length;
 * // Math.log(101) / 10
 */
export function requestFeatures(body: Body, ts: number): RequestFeatureValues {
  const prompt = strField(body, 'prompt');
  const givenTokens = numField(body, 'prompt_tokens');
  const tokens = givenTokens ?? (prompt === null ? null : estimateTokens(prompt));
  const grade = prompt === null ? null : fleschKincaidGrade(prompt);
  const taskType = strField(body, 'task_type');
  const tier = strField(body, 'user_tier');
  const priority = numField(body, 'priority');
  return {
    prompt_length: tokens === null ? null : Math.min(1, Math.log(Math.max(0, tokens) + 1) / 10),
    prompt_char_count: prompt === null ? null : Math.min(1, codePointCount(prompt) / 10_000),
    prompt_complexity: clamp(grade === null ? null : grade / 20, 0, 1),
    expected_output_length: expectedOutputLength(body),
    task_type_classification: taskType === null ? null : taskTypeValue(taskType),
    prompt_language: promptLanguage(strField(body, 'language'), prompt),
    prompt_domain: prompt === null ? null : domainSpecificity(prompt),
    request_priority: clamp(priority === null ? null : priority / 10, 0, 1),
    ...timeFeatures(ts),
    user_tier: tier === null ? null : (USER_TIER_VALUE[tier.toLowerCase()] ?? null),
  };
}
