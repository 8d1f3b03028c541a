/**
 * `franc-min`'s `franc(text)` computed with its own models, script expressions and text cleaning,
 * and the same integer arithmetic, with the models indexed once instead of probed per language.
 *
 * Why not call `franc` itself: on a stream of new prompts without a `language` field it was the
 * largest per-event cost of the full catalog (~15 % of the workers' CPU, issue 30): for every
 * trigram of the text it probes each of the script's models (44 for Latin), each a 300-key
 * dictionary object. franc-min offers no option that keeps its answers and avoids that (`only`
 * and `ignore` change them). Here every trigram of a script's models maps to one row of ranks,
 * one per language, so a text's trigram is looked up once.
 *
 * Why the result is identical (test: franc-fast.test.ts compares with `franc` on thousands of
 * texts in every script franc-min knows, and on edge cases):
 * - the same steps in the same order: texts shorter than 10 code units are `und`; the text is cut
 *   to 2048 code units; the script is the one of franc-min's `expressions` matching the largest
 *   share of it (first such in their order); a script without models gives its own code (or `und`
 *   when nothing matched);
 * - the trigrams are those of trigram-utils' `clean` with a space on each side, as `asTuples`
 *   makes them, counted per distinct trigram;
 * - a language's distance is franc's `getDistance`: per distinct trigram with count `c`,
 *   `|c − rank − 1|` when the model holds it at `rank`, else 300. It is computed as 300 · (distinct
 *   trigrams) − a score that only the language's own trigrams add to (see below): integers far
 *   below 2^31, so every sum is exact and in any order;
 * - franc sorts the distances with a stable sort and answers the first: the smallest distance,
 *   the earliest language in the model's order on a tie — the largest score, the earliest on a
 *   tie, what the strict `>` scan below keeps.
 */
import { InternalError } from '../../../../shared/errors.js';
import { lazy, lazyModule } from '../../../../shared/lazy-module.js';

const MAX_LENGTH = 2048;
const MIN_LENGTH = 10;
const MAX_DIFFERENCE = 300;

const dataModule = lazyModule<typeof import('franc-min/data.js')>('franc-min/data.js');
const expressionsModule = lazyModule<typeof import('franc-min/expressions.js')>('franc-min/expressions.js');

const trigramUtils = lazyModule<typeof import('trigram-utils')>('trigram-utils');

/**
 * One script's models, indexed: its languages in franc-min's order; per trigram of any of its
 * models an id, and per id the (language, rank) pairs of the models that hold it, as ranges of
 * `pairLanguage` / `pairRank` from `pairStart[id]` to `pairStart[id + 1]`.
 */
interface ScriptIndex {
  readonly languages: readonly string[];
  /**
   * The trigram ids, looked up without making a string per trigram: `letter` numbers the code
   * units found in the script's models 1…K (0: in none, so no trigram holding it is in a model),
   * and `idOf[(a · (K + 1) + b) · (K + 1) + c]` is 1 + the id of the trigram of letters a, b, c
   * (0: in no model).
   */
  readonly letter: Uint8Array;
  readonly base: number;
  readonly idOf: Int16Array;
  readonly pairStart: Int32Array;
  readonly pairLanguage: Int32Array;
  readonly pairRank: Int32Array;
  /** Scratch, all zero between calls: per id its count in the text being detected. */
  readonly counts: Int32Array;
  /** Scratch: per language its score. */
  readonly scores: Int32Array;
}

function indexScript(models: Readonly<Record<string, string>>): ScriptIndex {
  const languages = Object.keys(models);
  // Per trigram, its rank in each language's model (−1: not in that model).
  const ranks = new Map<string, Int32Array>();
  languages.forEach((language, li) => {
    const model = models[language]!.split('|');
    // franc-min: `trigrams[model[weight]] = weight` from the last index down, so a trigram
    // listed twice keeps its first (lowest) index.
    for (let rank = model.length - 1; rank >= 0; rank--) {
      const trigram = model[rank]!;
      let row = ranks.get(trigram);
      if (row === undefined) {
        row = new Int32Array(languages.length).fill(-1);
        ranks.set(trigram, row);
      }
      row[li] = rank;
    }
  });
  const letter = new Uint8Array(0x10000);
  let letters = 0;
  for (const trigram of ranks.keys())
    for (let k = 0; k < trigram.length; k++) {
      const u = trigram.charCodeAt(k);
      if (letter[u] === 0) letter[u] = ++letters;
    }
  const base = letters + 1;
  if (base > 255 || ranks.size >= 0x7fff)
    throw new InternalError('franc-min models past the index limits (255 letters, 32,767 trigrams a script)');
  const idOf = new Int16Array(base * base * base);
  const pairStart = new Int32Array(ranks.size + 1);
  const pairLanguage: number[] = [];
  const pairRank: number[] = [];
  let id = 0;
  for (const [trigram, row] of ranks) {
    // franc-min's model trigrams are 3 code units (slices of padded text).
    if (trigram.length !== 3) continue;
    const key =
      (letter[trigram.charCodeAt(0)]! * base + letter[trigram.charCodeAt(1)]!) * base +
      letter[trigram.charCodeAt(2)]!;
    idOf[key] = id + 1;
    row.forEach((rank, li) => {
      if (rank < 0) return;
      pairLanguage.push(li);
      pairRank.push(rank);
    });
    pairStart[id + 1] = pairLanguage.length;
    id++;
  }
  return {
    languages,
    letter,
    base,
    idOf,
    pairStart,
    pairLanguage: Int32Array.from(pairLanguage),
    pairRank: Int32Array.from(pairRank),
    counts: new Int32Array(id),
    scores: new Int32Array(languages.length),
  };
}

const indexes = lazy(() => {
  const { data } = dataModule();
  const out = new Map<string, ScriptIndex>();
  for (const script of Object.keys(data)) out.set(script, indexScript(data[script]!));
  return out;
});

const scripts = lazy(() => Object.entries(expressionsModule().expressions));

/** franc-min's `getTopScript`: the script matching the largest share of `value`, and that share. */
function topScript(value: string): [string | undefined, number] {
  let topCount = -1;
  let top: string | undefined;
  for (const [script, expression] of scripts()) {
    const matches = value.match(expression);
    const count = (matches ? matches.length : 0) / value.length || 0;
    if (count > topCount) {
      topCount = count;
      top = script;
    }
  }
  return [top, topCount];
}

/**
 * What `franc(text)` of franc-min answers: an ISO 639-3 code, or `und`.
 *
 * @example
 * francFast('Summarize the attached contract in three bullet points.'); // 'eng'
 */
export function francFast(text: string): string {
  if (!text || text.length < MIN_LENGTH) return 'und';
  const value = text.slice(0, MAX_LENGTH);
  const [script, share] = topScript(value);
  const index = script === undefined ? undefined : indexes().get(script);
  if (index === undefined) return script === undefined || share === 0 ? 'und' : script;

  // trigram-utils' trigrams: of ' ' + clean(value) + ' ', every 3 code units.
  // trigram-utils' trigrams: of ' ' + clean(value) + ' ', every 3 code units; counted per
  // distinct trigram. Trigrams in none of the script's models are not counted (below).
  const padded = ` ${trigramUtils().clean(value)} `;
  const { letter, base, idOf, counts, scores, pairStart, pairLanguage, pairRank } = index;
  const touched: number[] = [];
  let a = letter[padded.charCodeAt(0)]!;
  let b = letter[padded.charCodeAt(1)]!;
  for (let i = 2; i < padded.length; i++) {
    const c = letter[padded.charCodeAt(i)]!;
    if (a !== 0 && b !== 0 && c !== 0) {
      const id = idOf[(a * base + b) * base + c]! - 1;
      if (id >= 0 && counts[id]!++ === 0) touched.push(id);
    }
    a = b;
    b = c;
  }
  // franc's distance of language L over the U distinct trigrams of the text: Σ |c − rank − 1|
  // over those in L's model plus 300 for each of the others, i.e. 300·U − score(L) with
  // score(L) = Σ over the trigrams in L's model of (300 − |c − rank − 1|). 300·U is the same
  // for every language, so the smallest distance is the largest score (ties alike: both are
  // exact integers), and trigrams in no model add nothing to any score.
  scores.fill(0);
  for (const id of touched) {
    const c = counts[id]!;
    counts[id] = 0;
    for (let k = pairStart[id]!; k < pairStart[id + 1]!; k++) {
      const d = c - pairRank[k]! - 1;
      scores[pairLanguage[k]!]! += MAX_DIFFERENCE - (d < 0 ? -d : d);
    }
  }
  // The first language with the largest score: franc's stable sort puts the first of the
  // smallest distances first.
  let best = 0;
  for (let li = 1; li < scores.length; li++) if (scores[li]! > scores[best]!) best = li;
  return index.languages[best]!;
}
