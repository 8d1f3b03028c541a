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
 * - a language's distance is the same sum as franc's `getDistance`: per distinct trigram with
 *   count `c`, `|c − rank − 1|` when the model holds it at `rank`, else 300. The order of the
 *   terms does not matter: they are integers far below 2^53, so every sum is exact;
 * - franc sorts the distances with a stable sort and answers the first: the smallest distance,
 *   the earliest language in the model's order on a tie — what the strict `<` scan below keeps.
 */
import { lazy, lazyModule } from '../../../../shared/lazy-module.js';

const MAX_LENGTH = 2048;
const MIN_LENGTH = 10;
const MAX_DIFFERENCE = 300;

const dataModule = lazyModule<typeof import('franc-min/data.js')>('franc-min/data.js');
const expressionsModule = lazyModule<typeof import('franc-min/expressions.js')>('franc-min/expressions.js');
const trigramUtils = lazyModule<typeof import('trigram-utils')>('trigram-utils');

/** One script's models, indexed: its languages in franc-min's order, and per trigram their ranks. */
interface ScriptIndex {
  readonly languages: readonly string[];
  /** Trigram → rank of the trigram in each language's model (−1: not in that model). */
  readonly ranks: ReadonlyMap<string, Int16Array>;
}

const indexes = lazy(() => {
  const { data } = dataModule();
  const out = new Map<string, ScriptIndex>();
  for (const script of Object.keys(data)) {
    const models = data[script]!;
    const languages = Object.keys(models);
    const ranks = new Map<string, Int16Array>();
    languages.forEach((language, li) => {
      const model = models[language]!.split('|');
      // franc-min: `trigrams[model[weight]] = weight` from the last index down, so a trigram
      // listed twice keeps its first (lowest) index.
      for (let rank = model.length - 1; rank >= 0; rank--) {
        const trigram = model[rank]!;
        let row = ranks.get(trigram);
        if (row === undefined) {
          row = new Int16Array(languages.length).fill(-1);
          ranks.set(trigram, row);
        }
        row[li] = rank;
      }
    });
    out.set(script, { languages, ranks });
  }
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
  const padded = ` ${trigramUtils().clean(value)} `;
  const counts = new Map<string, number>();
  for (let i = 0; i + 3 <= padded.length; i++) {
    const t = padded.slice(i, i + 3);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const n = index.languages.length;
  const distances = new Float64Array(n);
  for (const [trigram, count] of counts) {
    const row = index.ranks.get(trigram);
    // In no model: 300 for every language, which does not change which is smallest.
    if (row === undefined) continue;
    for (let li = 0; li < n; li++) {
      const rank = row[li]!;
      if (rank < 0) distances[li]! += MAX_DIFFERENCE;
      else {
        const d = count - rank - 1;
        distances[li]! += d < 0 ? -d : d;
      }
    }
  }
  let best = 0;
  for (let li = 1; li < n; li++) if (distances[li]! < distances[best]!) best = li;
  return index.languages[best]!;
}
