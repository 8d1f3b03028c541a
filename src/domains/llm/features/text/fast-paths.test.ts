/**
 * The ASCII fast paths of `words` (readability.ts) and of the terms behind `domainSpecificity`
 * (domain.ts) give what the regular expressions alone give: the reference implementations below
 * are those functions as they were before the fast paths, compared on the generator's prompts and
 * on random strings (ASCII, Unicode, lone surrogates).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateLlmEvents } from '../../generate/llm-stream.js';
import { DOMAIN_SATURATION, DOMAIN_VOCABULARIES, domainSpecificity } from './domain.js';
import { words } from './readability.js';

const HAS_WORD_CHAR = /[\p{L}\p{N}]/u;
const EDGE_PUNCT = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;

function referenceWords(text: string): string[] {
  const out: string[] = [];
  for (const token of text.split(/\s+/u)) {
    if (HAS_WORD_CHAR.test(token)) out.push(token.replace(EDGE_PUNCT, ''));
  }
  return out;
}

const STOP =
  "the and for with that this these those are was were you your yours what which who whom how why when where can could would should will shall may might must please from into onto about above below some any all each every not but nor yet also just than then them they their there here have has had does did doing been being its it's our ours out over under very more most such only own same too use using make write give tell show explain".split(
    ' ',
  );

function referenceDomainSpecificity(text: string): number | null {
  const terms: string[] = [];
  let anyTerm = false;
  for (const t of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (t === '') continue;
    anyTerm = true;
    if (t.length >= 3 && !STOP.includes(t)) terms.push(t);
  }
  if (!anyTerm) return null;
  if (terms.length === 0) return 0;
  const inVocabulary = (vocab: ReadonlySet<string>, t: string) =>
    vocab.has(t) ||
    (t.endsWith('es') && vocab.has(t.slice(0, -2))) ||
    (t.endsWith('s') && vocab.has(t.slice(0, -1)));
  let best = 0;
  for (const vocab of Object.values(DOMAIN_VOCABULARIES)) {
    let n = 0;
    for (const t of terms) if (inVocabulary(vocab, t)) n++;
    if (n > best) best = n;
  }
  return Math.min(1, best / (DOMAIN_SATURATION * terms.length));
}

const same = (text: string) => {
  expect(words(text)).toEqual(referenceWords(text));
  expect(domainSpecificity(text)).toBe(referenceDomainSpecificity(text));
};

describe('text fast paths', () => {
  it('give the reference words and domain specificity on the generated prompts', () => {
    let n = 0;
    let nonZero = 0;
    for (const line of generateLlmEvents({ events: 20_000, seed: 9 })) {
      try {
        const e = JSON.parse(line) as { prompt?: unknown };
        if (typeof e.prompt !== 'string') continue;
        same(e.prompt);
        n++;
        if ((domainSpecificity(e.prompt) ?? 0) > 0) nonZero++;
      } catch (err) {
        if (err instanceof SyntaxError) continue; // a malformed line of the stream
        throw err;
      }
    }
    expect(n).toBeGreaterThan(2000);
    expect(nonZero).toBeGreaterThan(100);
  });

  it('give the reference words and domain specificity on edge cases and random strings', () => {
    for (const text of [
      '',
      ' ',
      'a',
      'A1',
      '(ref 1a)',
      '"Quoted."',
      "it's",
      'Invoices, taxes & bonds!',
      'Straße café',
      'K\u212a',
      '\u0130stanbul',
      'x\ud835\udc00y',
      '\ud800abc',
      'e\u0301',
      'ÉCOLE',
    ])
      same(text);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.string({ unit: 'grapheme', maxLength: 40 }),
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc
            .array(
              fc.constantFrom(
                'patient',
                'Taxes',
                'invoices',
                'the',
                'API',
                '42',
                '(',
                ')',
                '.',
                ' ',
                '\n',
                'é',
                'ß',
                '\u00a0',
              ),
              { maxLength: 20 },
            )
            .map((p) => p.join('')),
        ),
        same,
      ),
      { numRuns: 3000, seed: 31 },
    );
  });
});
