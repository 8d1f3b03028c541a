import { describe, expect, it } from 'vitest';
import { watermarkFor } from './watermark.js';

describe('watermarkFor', () => {
  it('derives the bounded-out-of-orderness watermark as clock - bound - 1', () => {
    expect(watermarkFor(10_000, 2_000)).toBe(7_999);
    expect(watermarkFor(Number.POSITIVE_INFINITY, 2_000)).toBe(Number.POSITIVE_INFINITY);
    expect(watermarkFor(Number.NEGATIVE_INFINITY, 2_000)).toBe(Number.NEGATIVE_INFINITY);
  });
});
