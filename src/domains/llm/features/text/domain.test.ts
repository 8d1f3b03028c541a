import { describe, expect, it } from 'vitest';
import { DOMAIN_SATURATION, domainHits, domainSpecificity, dominantDomain } from './domain.js';

describe('domain specificity', () => {
  it('is the dominant domain density over the saturation', () => {
    const text = 'Summarize the attached contract in three bullet points.';
    // content terms: summarize attached contract three bullet points (6); legal: contract (1)
    expect(domainHits(text).legal).toBe(1);
    expect(domainSpecificity(text)).toBeCloseTo(1 / (DOMAIN_SATURATION * 6), 12);
    expect(dominantDomain(text)).toBe('legal');
  });
  it('matches plurals and saturates at 1', () => {
    // content terms: patient symptoms diagnosis (stop words: what, the, are) → 3 medical of 3
    expect(domainSpecificity('What are the patient symptoms and diagnosis?')).toBe(1);
    expect(domainHits('invoices taxes')).toMatchObject({ finance: 2 });
  });
  it('is 0 for general text, and null without any term', () => {
    expect(domainSpecificity('Write a poem about the sea at night')).toBe(0);
    expect(domainSpecificity('what is this')).toBe(0);
    expect(domainSpecificity('?!')).toBeNull();
    expect(dominantDomain('hello there')).toBeNull();
  });
  it('splits code on punctuation', () => {
    // terms: const, async, function, fetchdata, await, json → code: const async function await json (5 of 6)
    expect(domainHits('const f = async function fetchData() { await x.json() }').code).toBe(5);
    expect(dominantDomain('Fix this TypeScript function')).toBe('code');
  });
});
