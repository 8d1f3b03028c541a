import { describe, expect, it } from 'vitest';
import { fleschKincaidGrade, sentenceCount, words } from './readability.js';

describe('Flesch–Kincaid grade', () => {
  it('counts words, sentences and syllables', () => {
    const text = 'Summarize the attached contract in three bullet points.';
    expect(words(text)).toEqual([
      'Summarize',
      'the',
      'attached',
      'contract',
      'in',
      'three',
      'bullet',
      'points',
    ]);
    expect(sentenceCount(text)).toBe(1);
    // syllables: sum·ma·rize 3, the 1, at·tached 2, con·tract 2, in 1, three 1, bul·let 2, points 1 = 13
    expect(fleschKincaidGrade(text)).toBeCloseTo(0.39 * (8 / 1) + 11.8 * (13 / 8) - 15.59, 12);
  });
  it('splits sentences and counts one syllable at least per word', () => {
    const text = 'The cat sat. The dog ran! Why 42?';
    expect(sentenceCount(text)).toBe(3);
    // 8 words, 3 sentences, each word one syllable ("42" counts 1)
    expect(fleschKincaidGrade(text)).toBeCloseTo(0.39 * (8 / 3) + 11.8 * (8 / 8) - 15.59, 12);
  });
  it('is null without words', () => {
    expect(fleschKincaidGrade('')).toBeNull();
    expect(fleschKincaidGrade(' ... !!! ')).toBeNull();
  });
});
