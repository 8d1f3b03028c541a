/**
 * Domain specificity of a prompt (REQ_007 prompt_domain), from small hand-picked vocabularies of
 * six domains: medical, legal, finance, code, science and math.
 *
 * Formula:
 * - terms: the text lower-cased and split on every character that is not a letter or digit;
 * - content terms: terms of 3+ characters that are not stop words (`the`, `what`, `please` …);
 * - hits(d): content terms found in the vocabulary of domain d, a term also matching when it is
 *   a vocabulary word plus a plural `s` / `es`;
 * - specificity = min(1, max_d hits(d) / (0.25 · content terms)): the density of the dominant
 *   domain's vocabulary, saturating when a quarter of the content terms belong to one domain.
 *
 * A text with no terms at all has no defined specificity (null); a text whose terms are all stop
 * words is general (0). {@link dominantDomain} names the winning domain, for inspection.
 */

/** Density of the dominant domain's terms at which specificity reaches 1. */
export const DOMAIN_SATURATION = 0.25;

/** The vocabularies, by domain. */
export const DOMAIN_VOCABULARIES: Readonly<Record<string, ReadonlySet<string>>> = {
  medical: new Set(
    'patient diagnosis symptom symptoms disease clinical treatment therapy dose dosage medication drug prescription doctor physician nurse hospital surgery surgical chronic acute infection virus bacterial cancer tumor diabetes cardiac blood pressure vaccine allergy pain syndrome disorder medical medicine health prognosis'.split(
      ' ',
    ),
  ),
  legal: new Set(
    'contract clause agreement liability plaintiff defendant court lawsuit litigation statute regulation compliance attorney lawyer counsel jurisdiction indemnity indemnification breach tort copyright trademark patent license licence legal law lease tenant landlord warranty arbitration settlement verdict appeal gdpr'.split(
      ' ',
    ),
  ),
  finance: new Set(
    'invoice revenue profit loss budget tax taxes accounting balance sheet equity stock stocks bond bonds dividend interest loan mortgage investment investor portfolio asset assets liability cash flow audit payroll expense expenses financial finance bank banking credit debit ebitda valuation inflation forex crypto'.split(
      ' ',
    ),
  ),
  code: new Set(
    'code function class method variable const let var def return import export module package compile compiler runtime debug debugger bug exception error stack array string integer boolean json yaml sql query api endpoint http regex python javascript typescript java rust golang html css react node npm git docker kubernetes refactor unittest lambda async await'.split(
      ' ',
    ),
  ),
  science: new Set(
    'hypothesis experiment experimental theory molecule molecular atom atomic protein gene genetic dna rna cell cellular quantum physics chemistry chemical biology biological species evolution enzyme reaction particle energy entropy thermodynamics neuron climate ecosystem laboratory specimen'.split(
      ' ',
    ),
  ),
  math: new Set(
    'equation theorem proof lemma integral derivative matrix vector eigenvalue polynomial algebra calculus geometry probability statistics variance regression logarithm prime factorial topology manifold inequality'.split(
      ' ',
    ),
  ),
};

const STOP_WORDS: ReadonlySet<string> = new Set(
  "the and for with that this these those are was were you your yours what which who whom how why when where can could would should will shall may might must please from into onto about above below some any all each every not but nor yet also just than then them they their there here have has had does did doing been being its it's our ours out over under very more most such only own same too use using make write give tell show explain".split(
    ' ',
  ),
);

/** True when every code unit of `s` is ASCII (then so is its lower-cased form). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 128) return false;
  return true;
}

/**
 * {@link contentTerms} of a lower-cased ASCII text: in ASCII, `[\p{L}\p{N}]` is `[a-z0-9]` once
 * lower-cased, so the terms are its maximal runs of those, read without a regular expression.
 */
function asciiContentTerms(s: string): { terms: string[]; anyTerm: boolean } {
  const terms: string[] = [];
  let anyTerm = false;
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 32;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (start === -1) start = i;
    } else if (start !== -1) {
      anyTerm = true;
      if (i - start >= 3) {
        const t = s.slice(start, i);
        if (!STOP_WORDS.has(t)) terms.push(t);
      }
      start = -1;
    }
  }
  return { terms, anyTerm };
}

/** Content terms of a text and whether it had any term at all. */
function contentTerms(text: string): { terms: string[]; anyTerm: boolean } {
  if (isAscii(text)) return asciiContentTerms(text.toLowerCase());
  const terms: string[] = [];
  let anyTerm = false;
  for (const t of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (t === '') continue;
    anyTerm = true;
    if (t.length >= 3 && !STOP_WORDS.has(t)) terms.push(t);
  }
  return { terms, anyTerm };
}

function inVocabulary(vocab: ReadonlySet<string>, t: string): boolean {
  if (vocab.has(t)) return true;
  if (t.endsWith('es') && vocab.has(t.slice(0, -2))) return true;
  return t.endsWith('s') && vocab.has(t.slice(0, -1));
}

const VOCABULARIES: readonly ReadonlySet<string>[] = Object.values(DOMAIN_VOCABULARIES);
const domainCounts = new Int32Array(VOCABULARIES.length);

/**
 * Bit d set when {@link inVocabulary} holds for vocabulary d (in {@link DOMAIN_VOCABULARIES}'
 * order), memoized: terms repeat across prompts. Bounded: emptied at {@link MASKS_MAX} terms.
 */
const masks = new Map<string, number>();
const MASKS_MAX = 50_000;
function domainMask(t: string): number {
  let mask = masks.get(t);
  if (mask === undefined) {
    mask = 0;
    for (let d = 0; d < VOCABULARIES.length; d++) if (inVocabulary(VOCABULARIES[d]!, t)) mask |= 1 << d;
    if (masks.size >= MASKS_MAX) masks.clear();
    masks.set(t, mask);
  }
  return mask;
}

/** Vocabulary hits per domain. */
export function domainHits(text: string): Record<string, number> {
  const { terms } = contentTerms(text);
  const hits: Record<string, number> = {};
  for (const [domain, vocab] of Object.entries(DOMAIN_VOCABULARIES)) {
    let n = 0;
    for (const t of terms) if (inVocabulary(vocab, t)) n++;
    hits[domain] = n;
  }
  return hits;
}

/**
 * Domain specificity in [0, 1] (see the module comment), or null for a text without terms.
 *
 * @example
 * domainSpecificity('Summarize the attached contract in three bullet points.');
 * // content terms: summarize attached contract three bullet points (6); legal hits: contract (1)
 * // min(1, 1 / (0.25 * 6)) = 0.666…
 */
export function domainSpecificity(text: string): number | null {
  const { terms, anyTerm } = contentTerms(text);
  if (!anyTerm) return null;
  if (terms.length === 0) return 0;
  // Per vocabulary (bit d of a term's mask: inVocabulary of vocabulary d), the same counts as
  // testing every term against every vocabulary.
  const counts = domainCounts;
  counts.fill(0);
  for (const t of terms) {
    let mask = domainMask(t);
    for (let d = 0; mask !== 0; d++, mask >>>= 1) if ((mask & 1) !== 0) counts[d]!++;
  }
  let best = 0;
  for (let d = 0; d < counts.length; d++) if (counts[d]! > best) best = counts[d]!;
  return Math.min(1, best / (DOMAIN_SATURATION * terms.length));
}

/**
 * The domain with the most vocabulary hits (first in {@link DOMAIN_VOCABULARIES} order on a tie),
 * or null when no domain has any.
 *
 * @example
 * dominantDomain('Fix this TypeScript function'); // 'code'
 */
export function dominantDomain(text: string): string | null {
  let best: string | null = null;
  let bestHits = 0;
  for (const [domain, n] of Object.entries(domainHits(text))) {
    if (n > bestHits) {
      best = domain;
      bestHits = n;
    }
  }
  return best;
}
