import { describe, expect, it } from 'vitest';
import { lazy, lazyModule } from './lazy-module.js';

describe('lazy', () => {
  it('makes the value on the first call only, and keeps an undefined result too', () => {
    let calls = 0;
    const get = lazy(() => {
      calls++;
      return calls === 1 ? undefined : 'again';
    });
    expect(calls).toBe(0);
    expect(get()).toBeUndefined();
    expect(get()).toBeUndefined();
    expect(calls).toBe(1);
  });
});

describe('lazyModule', () => {
  it('loads a CommonJS package and an ES-module package synchronously, once', () => {
    const yaml = lazyModule<typeof import('yaml')>('yaml');
    expect(yaml().parse('a: 1')).toEqual({ a: 1 });
    expect(yaml()).toBe(yaml());
    const franc = lazyModule<typeof import('franc-min')>('franc-min');
    expect(franc().franc('The quick brown fox jumps over the lazy dog near the river bank')).toBe('eng');
  });
});
