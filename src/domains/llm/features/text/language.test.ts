import { describe, expect, it } from 'vitest';
import { detectLanguage, normalizeLanguage } from './language.js';

describe('language', () => {
  it('normalises tags to ISO 639-1 where one exists', () => {
    expect(normalizeLanguage('en')).toBe('en');
    expect(normalizeLanguage(' EN-us ')).toBe('en');
    expect(normalizeLanguage('pt_BR')).toBe('pt');
    expect(normalizeLanguage('eng')).toBe('en');
    expect(normalizeLanguage('cmn')).toBe('zh');
    expect(normalizeLanguage('ceb')).toBe('ceb');
    expect(normalizeLanguage('und')).toBeNull();
    expect(normalizeLanguage('')).toBeNull();
  });
  it('detects the language of longer texts and gives up on short ones', () => {
    expect(detectLanguage('Summarize the attached contract in three bullet points.')).toBe('en');
    expect(detectLanguage('Fasse den beigefügten Vertrag in drei Stichpunkten zusammen.')).toBe('de');
    expect(detectLanguage('hi')).toBeNull();
  });
});
