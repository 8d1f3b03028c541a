/**
 * Language codes for REQ_006 prompt_language: the event's `language` when given, else the
 * language detected in the prompt with `franc-min` (trigram profiles, ISO 639-3 codes).
 *
 * Both are brought to one code space before hashing, so `"en"`, `"EN-us"`, `"eng"` and a
 * detected English prompt all give `en`: the primary subtag, lower-cased, and ISO 639-3 codes
 * mapped to their ISO 639-1 code where one exists (the table covers every language franc-min
 * knows). Codes without a 639-1 form (e.g. `ceb`, Cebuano) stay as they are.
 */
import { francFast } from './franc-fast.js';

/** ISO 639-3 → ISO 639-1 for franc-min's languages (individual codes map to their macrolanguage). */
const ISO3_TO_1: Readonly<Record<string, string>> = {
  amh: 'am',
  arb: 'ar',
  ara: 'ar',
  azj: 'az',
  aze: 'az',
  bel: 'be',
  ben: 'bn',
  bos: 'bs',
  bul: 'bg',
  ces: 'cs',
  cmn: 'zh',
  zho: 'zh',
  deu: 'de',
  ell: 'el',
  eng: 'en',
  fra: 'fr',
  fuv: 'ff',
  guj: 'gu',
  hau: 'ha',
  hin: 'hi',
  hrv: 'hr',
  hun: 'hu',
  ibo: 'ig',
  ind: 'id',
  ita: 'it',
  jav: 'jv',
  jpn: 'ja',
  kan: 'kn',
  kaz: 'kk',
  kin: 'rw',
  kor: 'ko',
  lin: 'ln',
  mal: 'ml',
  mar: 'mr',
  mya: 'my',
  nld: 'nl',
  npi: 'ne',
  nya: 'ny',
  pan: 'pa',
  pbu: 'ps',
  pes: 'fa',
  pol: 'pl',
  por: 'pt',
  plt: 'mg',
  qug: 'qu',
  ron: 'ro',
  run: 'rn',
  rus: 'ru',
  sin: 'si',
  som: 'so',
  spa: 'es',
  srp: 'sr',
  sun: 'su',
  swe: 'sv',
  swh: 'sw',
  tam: 'ta',
  tel: 'te',
  tgl: 'tl',
  tha: 'th',
  tur: 'tr',
  ukr: 'uk',
  urd: 'ur',
  uzn: 'uz',
  vie: 'vi',
  yor: 'yo',
  zlm: 'ms',
  zsm: 'ms',
  zul: 'zu',
  zyb: 'za',
};

/**
 * A language tag brought to the shared code space, or null for an empty or undetermined one.
 *
 * @example
 * normalizeLanguage('en-US'); // 'en'
 * normalizeLanguage('deu'); // 'de'
 * normalizeLanguage('und'); // null
 */
export function normalizeLanguage(tag: string): string | null {
  const primary = tag.trim().toLowerCase().split(/[-_]/u)[0] ?? '';
  if (primary === '' || primary === 'und') return null;
  return ISO3_TO_1[primary] ?? primary;
}

/**
 * The language of a text, detected with franc-min and normalised; null when franc cannot tell
 * (texts under 10 characters, or no clear winner).
 *
 * @example
 * detectLanguage('Summarize the attached contract in three bullet points.'); // 'en'
 */
export function detectLanguage(text: string): string | null {
  // francFast answers what franc-min's franc does, with its models indexed (franc-fast.ts); its
  // models load on the first detection (issue 10: start-up).
  return normalizeLanguage(francFast(text));
}
