/**
 * `francFast` answers what franc-min's `franc` answers, text for text: on the generator's prompts
 * (every language it writes), on texts made of each franc-min model's own trigrams (every script
 * and language franc-min knows, alone and mixed), on edge cases, and on random strings.
 */
import fc from 'fast-check';
import { franc } from 'franc-min';
import { data } from 'franc-min/data.js';
import { describe, expect, it } from 'vitest';
import { generateLlmEvents } from '../../generate/llm-stream.js';
import { mulberry32 as rng } from '../../../../shared/random.js';
import { francFast } from './franc-fast.js';

const models: { script: string; language: string; trigrams: string[] }[] = [];
for (const [script, languages] of Object.entries(data))
  for (const [language, model] of Object.entries(languages))
    models.push({ script, language, trigrams: model.split('|') });

/** A text of `words` pseudo-words, each one to three trigrams of the given models. */
function textOf(pick: () => number, from: (typeof models)[number][], words: number): string {
  const out: string[] = [];
  for (let w = 0; w < words; w++) {
    const m = from[Math.floor(pick() * from.length)]!;
    // Low ranks (frequent trigrams) more often, as in real text.
    const k = 1 + Math.floor(pick() * 3);
    let word = '';
    for (let i = 0; i < k; i++) word += m.trigrams[Math.floor(pick() ** 2 * m.trigrams.length)]!.trim();
    out.push(pick() < 0.05 ? `${word}${['.', ',', '!', ' 42', '?'][Math.floor(pick() * 5)]}` : word);
  }
  return out.join(' ');
}

const agree = (text: string) => expect(francFast(text), JSON.stringify(text.slice(0, 200))).toBe(franc(text));

describe('francFast', () => {
  it("answers franc's language for every prompt of the generated stream", () => {
    const prompts = new Set<string>();
    for (const line of generateLlmEvents({ events: 20_000, seed: 5 })) {
      try {
        const e = JSON.parse(line) as { prompt?: unknown };
        if (typeof e.prompt === 'string') prompts.add(e.prompt);
      } catch {
        // a malformed line of the stream: no prompt
      }
    }
    expect(prompts.size).toBeGreaterThan(1000);
    const seen = new Set<string>();
    for (const p of prompts) {
      agree(p);
      seen.add(franc(p));
    }
    // The stream holds several languages: the comparison is not only of English.
    expect(seen.size).toBeGreaterThan(4);
  });

  it("answers franc's language on texts of every model, alone and mixed, short and past 2048 code units", () => {
    const pick = rng(30);
    const seen = new Set<string>();
    for (const m of models) {
      for (const words of [2, 3, 5, 12, 40, 400]) {
        const text = textOf(pick, [m], words);
        agree(text);
        seen.add(franc(text));
      }
    }
    for (let i = 0; i < 1500; i++) {
      const a = models[Math.floor(pick() * models.length)]!;
      const b = models[Math.floor(pick() * models.length)]!;
      agree(textOf(pick, [a, b], 1 + Math.floor(pick() * 30)));
    }
    // Most of franc-min's languages are answered at least once, in every script.
    expect(seen.size).toBeGreaterThan(models.length * 0.6);
  });

  it('answers franc on edge cases', () => {
    for (const text of [
      '',
      'hi',
      'abcdefghi',
      'abcdefghij',
      '1234567890123',
      '!!!!!!!!!!!!!!!!',
      '          \n\t      ',
      '😀😀😀😀😀😀😀😀😀😀',
      '\ud800\ud800\ud800\ud800\ud800\ud800',
      '这是一个用中文写的句子，用来测试语言识别。',
      'これは日本語の文です。テストのために書きました。',
      'Привет, как дела? Это текст на русском языке.',
      'Hello 你好 Привет مرحبا नमस्ते hello hello',
      'The quick brown fox jumps over the lazy dog. '.repeat(60),
      `${'Der schnelle braune Fuchs springt. '.repeat(58)}${'The quick brown fox. '.repeat(40)}`,
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      '__proto__ constructor toString valueOf hasOwnProperty',
    ])
      agree(text);
  });

  it('answers franc on random strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 120 }),
          fc.string({ unit: 'binary', maxLength: 120 }),
        ),
        (text) => {
          expect(francFast(text)).toBe(franc(text));
        },
      ),
      { numRuns: 3000, seed: 30 },
    );
  });
});
