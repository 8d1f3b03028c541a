import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/errors.js';
import { assignVersion, userHashUnit, validateRollout } from './rollout.js';

/** Reference FNV-1a over TextEncoder bytes, independent of the implementation's UTF-8 encoder. */
function fnv1aRef(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

describe('userHashUnit', () => {
  it('is 32-bit FNV-1a of the UTF-8 bytes (published test vectors)', () => {
    expect(userHashUnit('')).toBe(0x811c9dc5 / 2 ** 32);
    expect(userHashUnit('a')).toBe(0xe40c292c / 2 ** 32);
    expect(userHashUnit('foobar')).toBe(0xbf9cf968 / 2 ** 32);
  });

  it('hashes non-ASCII text by its UTF-8 bytes', () => {
    for (const s of ['café', 'user-ü-42', '日本語', 'emoji-😀-x', 'lone-\ud800-surrogate']) {
      expect(userHashUnit(s)).toBe(fnv1aRef(s));
    }
  });

  it('stays in [0, 1)', () => {
    for (let i = 0; i < 2000; i++) {
      const u = userHashUnit(`u${i}`);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
    }
  });
});

describe('assignVersion', () => {
  const split = [
    { version: 1, share: 0.9 },
    { version: 2, share: 0.1 },
  ] as const;

  it('is stable per user and follows the cumulative shares', () => {
    for (let i = 0; i < 500; i++) {
      const id = `user-${i}`;
      const v = assignVersion(id, split);
      expect(assignVersion(id, split)).toBe(v);
      expect(v).toBe(userHashUnit(id) < 0.9 ? 1 : 2);
    }
  });

  it('splits a population roughly by the shares', () => {
    const counts = new Map<number, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const v = assignVersion(`customer-${i}@example.com`, split);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect((counts.get(2) ?? 0) / n).toBeGreaterThan(0.08);
    expect((counts.get(2) ?? 0) / n).toBeLessThan(0.12);
  });

  it('honours the listed order and a single arm', () => {
    const reversed = [
      { version: 2, share: 0.1 },
      { version: 1, share: 0.9 },
    ];
    for (let i = 0; i < 200; i++) {
      const id = `r-${i}`;
      expect(assignVersion(id, reversed)).toBe(userHashUnit(id) < 0.1 ? 2 : 1);
    }
    expect(assignVersion('anyone', [{ version: 3, share: 1 }])).toBe(3);
  });

  it('accepts shares whose float sum is not exactly 1', () => {
    const arms = [
      { version: 1, share: 0.7 },
      { version: 2, share: 0.2 },
      { version: 3, share: 0.1 },
    ];
    expect([1, 2, 3]).toContain(assignVersion('x', arms));
  });
});

describe('validateRollout', () => {
  const bad: Array<[string, Array<{ version: number; share: number }>, RegExp]> = [
    ['empty', [], /at least one/],
    [
      'sum below 1',
      [
        { version: 1, share: 0.5 },
        { version: 2, share: 0.4 },
      ],
      /sum to 1, got 0\.9/,
    ],
    [
      'sum above 1',
      [
        { version: 1, share: 0.8 },
        { version: 2, share: 0.4 },
      ],
      /sum to 1/,
    ],
    ['zero share', [{ version: 1, share: 0 }], /share.*\(0, 1\]/],
    ['bad version', [{ version: 0, share: 1 }], /version.*positive integer/],
    [
      'duplicate version',
      [
        { version: 1, share: 0.5 },
        { version: 1, share: 0.5 },
      ],
      /twice/,
    ],
  ];
  for (const [name, arms, message] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => validateRollout(arms, 'rollout.perf_5min')).toThrow(ConfigError);
      expect(() => validateRollout(arms, 'rollout.perf_5min')).toThrow(message);
      expect(() => assignVersion('u', arms)).toThrow(ConfigError);
    });
  }

  it('names the field', () => {
    try {
      validateRollout([{ version: 1, share: 0.5 }], 'rollout.perf_5min');
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).field).toBe('rollout.perf_5min');
      expect((err as Error).message).toContain('`rollout.perf_5min`');
    }
  });
});
