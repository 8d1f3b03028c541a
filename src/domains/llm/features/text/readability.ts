/**
 * Flesch–Kincaid grade level of a text (REQ_003 prompt_complexity):
 *
 *   grade = 0.39 · (words / sentences) + 11.8 · (syllables / words) − 15.59
 *
 * - words: whitespace-separated tokens with at least one letter or digit (punctuation around
 *   them is ignored);
 * - sentences: stretches of text ended by `.`, `!`, `?` or `…` (or by the end of the text)
 *   that hold at least one word;
 * - syllables: the `syllable` package per word, at least 1 per word (so `42` or `GPT-4` count
 *   as one).
 *
 * The formula is calibrated on English; for other languages it is a rough difficulty signal.
 */
import { lazyModule } from '../../../../shared/lazy-module.js';

// `syllable` (and its word lists) loads on first use (issue 10: start-up).
const syllablePackage = lazyModule<typeof import('syllable')>('syllable');
/**
 * Syllables per word, memoized: words repeat across prompts (a few thousand make up most text),
 * and counting one runs the package's rules and word lists (~1 s of a worker's 7 s on a stream of
 * new prompts). Bounded: emptied when it reaches {@link SYLLABLE_CACHE_MAX} words.
 */
const syllableCache = new Map<string, number>();
const SYLLABLE_CACHE_MAX = 50_000;
const syllable = (word: string): number => {
  const hit = syllableCache.get(word);
  if (hit !== undefined) return hit;
  const n = syllablePackage().syllable(word);
  if (syllableCache.size >= SYLLABLE_CACHE_MAX) syllableCache.clear();
  syllableCache.set(word, n);
  return n;
};

const HAS_WORD_CHAR = /[\p{L}\p{N}]/u;
const EDGE_PUNCT = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;
const SENTENCE_END = /[.!?…]+/u;

/** The words of a text, with leading and trailing punctuation stripped. */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const token of text.split(/\s+/u)) {
    // Most tokens start and end with an ASCII letter or digit: then they have a word character
    // and no punctuation to strip, and the regular expressions would leave them as they are.
    if (
      token.length > 0 &&
      isAsciiWordChar(token.charCodeAt(0)) &&
      isAsciiWordChar(token.charCodeAt(token.length - 1))
    )
      out.push(token);
    else if (HAS_WORD_CHAR.test(token)) out.push(token.replace(EDGE_PUNCT, ''));
  }
  return out;
}

/** An ASCII letter or digit (so in `\p{L}` or `\p{N}`). */
function isAsciiWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/** Number of sentences holding at least one word; 0 for a text without words. */
export function sentenceCount(text: string): number {
  let n = 0;
  for (const part of text.split(SENTENCE_END)) if (HAS_WORD_CHAR.test(part)) n++;
  return n;
}

/**
 * The Flesch–Kincaid grade of `text`, or null when it has no words. Not clamped (short simple
 * texts go below 0).
 *
 * @example
 * fleschKincaidGrade('Summarize the attached contract in three bullet points.');
 * // 0.39 * 8 + 11.8 * (13 / 8) - 15.59 = 6.705
 */
export function fleschKincaidGrade(text: string): number | null {
  const ws = words(text);
  if (ws.length === 0) return null;
  let syllables = 0;
  for (const w of ws) syllables += Math.max(1, syllable(w));
  const sentences = Math.max(1, sentenceCount(text));
  return 0.39 * (ws.length / sentences) + 11.8 * (syllables / ws.length) - 15.59;
}
