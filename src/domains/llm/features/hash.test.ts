import { describe, expect, it } from 'vitest';
import { stableHash01 } from './hash.js';

describe('stableHash01', () => {
  it('is FNV-1a 32 over UTF-8 divided by 2^32', () => {
    expect(stableHash01('')).toBe(0x811c9dc5 / 2 ** 32);
    // One byte 'a' (0x61): (0x811c9dc5 ^ 0x61) * 16777619 mod 2^32 = 0xe40c292c, the published FNV-1a('a').
    expect(stableHash01('a')).toBe(0xe40c292c / 2 ** 32);
    expect(stableHash01('foobar')).toBe(0xbf9cf968 / 2 ** 32);
  });
  it('hashes UTF-8 bytes, not UTF-16 units', () => {
    // 'é' is 0xc3 0xa9 in UTF-8.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193);
    expect(stableHash01('é')).toBe((h >>> 0) / 2 ** 32);
  });
  it('stays in [0, 1) and differs between strings', () => {
    const values = ['en', 'de', 'fr', 'openai', 'anthropic', 'google'].map(stableHash01);
    for (const v of values) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
    expect(new Set(values).size).toBe(values.length);
  });
});
