import { describe, expect, it } from 'vitest';
import {
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  formatTimestamp,
  parseDateOrTimestamp,
  parseTimestamp,
} from './timestamp.js';

describe('parseTimestamp', () => {
  it('reads what chrono/serde writes: 0, 3, 6 and 9 fractional digits, Z', () => {
    const base = Date.UTC(2025, 0, 15, 10, 30, 0);
    expect(parseTimestamp('2025-01-15T10:30:00Z')).toBe(base);
    expect(parseTimestamp('2025-01-15T10:30:00.123Z')).toBe(base + 123);
    expect(parseTimestamp('2025-01-15T10:30:00.123456Z')).toBe(base + 123);
    expect(parseTimestamp('2025-01-15T10:30:00.123456789Z')).toBe(base + 123);
    expect(parseTimestamp('2025-01-15T10:30:00.999999999Z')).toBe(base + 999);
  });

  it('reads 1, 2 and more than 9 fractional digits', () => {
    const base = Date.UTC(2025, 0, 15, 10, 30, 0);
    expect(parseTimestamp('2025-01-15T10:30:00.5Z')).toBe(base + 500);
    expect(parseTimestamp('2025-01-15T10:30:00.05Z')).toBe(base + 50);
    expect(parseTimestamp('2025-01-15T10:30:00.0009Z')).toBe(base);
    expect(parseTimestamp('2025-01-15T10:30:00.123456789012Z')).toBe(base + 123);
  });

  it('applies offsets, both signs, and accepts lower-case t/z and a space separator', () => {
    const base = Date.UTC(2025, 0, 15, 10, 30, 0);
    expect(parseTimestamp('2025-01-15T10:30:00+00:00')).toBe(base);
    expect(parseTimestamp('2025-01-15T10:30:00-00:00')).toBe(base);
    expect(parseTimestamp('2025-01-15T16:00:00.250+05:30')).toBe(base + 250);
    expect(parseTimestamp('2025-01-15T05:30:00-05:00')).toBe(base);
    expect(parseTimestamp('2025-01-16T00:30:00+14:00')).toBe(base);
    expect(parseTimestamp('2025-01-15t10:30:00z')).toBe(base);
    expect(parseTimestamp('2025-01-15 10:30:00Z')).toBe(base);
    // An offset can move the instant across a day, month and year boundary.
    expect(parseTimestamp('2024-12-31T23:00:00-01:00')).toBe(Date.UTC(2025, 0, 1));
  });

  it('floors toward −∞ before 1970, fractions included', () => {
    expect(parseTimestamp('1969-12-31T23:59:59.9995Z')).toBe(-1);
    expect(parseTimestamp('1969-12-31T23:59:59.999999999Z')).toBe(-1);
    expect(parseTimestamp('1969-12-31T23:59:59.000000001Z')).toBe(-1000);
    expect(parseTimestamp('1969-12-31T23:59:59Z')).toBe(-1000);
    expect(parseTimestamp('1900-01-01T00:00:00.001Z')).toBe(Date.UTC(1900, 0, 1) + 1);
    expect(parseTimestamp('1970-01-01T00:00:00Z')).toBe(0);
    expect(parseTimestamp('1970-01-01T00:00:00.0001Z')).toBe(0);
  });

  it('handles calendar boundaries: leap days, centuries, year 0000 and 9999', () => {
    expect(parseTimestamp('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTimestamp('2000-02-29T12:00:00Z')).toBe(Date.UTC(2000, 1, 29, 12));
    expect(parseTimestamp('2023-02-29T00:00:00Z')).toBeNull();
    expect(parseTimestamp('1900-02-29T00:00:00Z')).toBeNull();
    expect(parseTimestamp('2025-04-31T00:00:00Z')).toBeNull();
    expect(parseTimestamp('0000-01-01T00:00:00Z')).toBe(MIN_TIMESTAMP_MS);
    expect(parseTimestamp('9999-12-31T23:59:59.999Z')).toBe(MAX_TIMESTAMP_MS);
    expect(parseTimestamp('2025-12-31T23:59:59.999Z')).toBe(Date.UTC(2026, 0, 1) - 1);
  });

  it('reads a leap second as the last millisecond of its minute', () => {
    expect(parseTimestamp('2016-12-31T23:59:60Z')).toBe(Date.UTC(2017, 0, 1) - 1);
    expect(parseTimestamp('2016-12-31T23:59:60.5Z')).toBe(Date.UTC(2017, 0, 1) - 1);
  });

  it('matches Date.parse on random instants across 0000–9999', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(MIN_TIMESTAMP_MS + rand() * (MAX_TIMESTAMP_MS - MIN_TIMESTAMP_MS));
      const iso = new Date(ms).toISOString();
      expect(parseTimestamp(iso)).toBe(ms);
      expect(parseTimestamp(`${iso.slice(0, 23)}987654Z`)).toBe(ms);
    }
  });

  it.each([
    'yesterday',
    '',
    '2025-01-15',
    '2025-01-15T10:30:00',
    '2025-01-15T10:30:00.123',
    '2025-13-01T00:00:00Z',
    '2025-00-10T00:00:00Z',
    '2025-01-00T00:00:00Z',
    '2025-01-32T00:00:00Z',
    '2025-01-15T24:00:00Z',
    '2025-01-15T10:60:00Z',
    '2025-01-15T10:30:61Z',
    '2025-01-15T10:30:00.Z',
    '2025-01-15T10:30:00.123ZZ',
    '2025-01-15T10:30:00Z ',
    ' 2025-01-15T10:30:00Z',
    '2025-01-15T10:30:00+0100',
    '2025-01-15T10:30:00+01',
    '2025-01-15T10:30:00+24:00',
    '2025-01-15T10:30:00+01:60',
    '2025-01-15X10:30:00Z',
    '2025/01/15T10:30:00Z',
    '25-01-15T10:30:00Z',
    '+02025-01-15T10:30:00Z',
    '-0001-01-01T00:00:00Z',
    '2025-1-15T10:30:00.000Z',
    '2025-01-15T1:30:00.000Z',
    '2025-01-15T10:30:0a.000Z',
    '２０２５-01-15T10:30:00Z',
    'Wed, 15 Jan 2025 10:30:00 GMT',
    '1736937000000',
  ])('refuses %j', (s) => {
    expect(parseTimestamp(s)).toBeNull();
  });
});

describe('parseDateOrTimestamp', () => {
  it('reads a calendar date as midnight UTC, else a timestamp', () => {
    expect(parseDateOrTimestamp('2024-04-01')).toBe(Date.UTC(2024, 3, 1));
    expect(parseDateOrTimestamp('1960-01-01')).toBe(Date.UTC(1960, 0, 1));
    expect(parseDateOrTimestamp('2024-04-01T12:00:00Z')).toBe(Date.UTC(2024, 3, 1, 12));
    expect(parseDateOrTimestamp('2024-02-30')).toBeNull();
    expect(parseDateOrTimestamp('April 2024')).toBeNull();
  });
});

describe('formatTimestamp', () => {
  it('writes RFC 3339 UTC with exactly three fractional digits', () => {
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(formatTimestamp(1_736_937_000_123)).toBe('2025-01-15T10:30:00.123Z');
    expect(formatTimestamp(7)).toBe('1970-01-01T00:00:00.007Z');
    expect(formatTimestamp(MAX_TIMESTAMP_MS)).toBe('9999-12-31T23:59:59.999Z');
    expect(formatTimestamp(MIN_TIMESTAMP_MS)).toBe('0000-01-01T00:00:00.000Z');
  });

  it('works before 1970 and floors fractions of a millisecond', () => {
    expect(formatTimestamp(-1)).toBe('1969-12-31T23:59:59.999Z');
    expect(formatTimestamp(-1000)).toBe('1969-12-31T23:59:59.000Z');
    expect(formatTimestamp(-86_400_001)).toBe('1969-12-30T23:59:59.999Z');
    expect(formatTimestamp(-0.5)).toBe('1969-12-31T23:59:59.999Z');
    expect(formatTimestamp(1.9)).toBe('1970-01-01T00:00:00.001Z');
  });

  it('round-trips with parseTimestamp and matches toISOString on random instants', () => {
    let seed = 11;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20_000; i++) {
      const span = i % 2 === 0 ? MAX_TIMESTAMP_MS - MIN_TIMESTAMP_MS : 10 * 365 * 86_400_000;
      const from = i % 2 === 0 ? MIN_TIMESTAMP_MS : -5 * 365 * 86_400_000;
      const ms = Math.floor(from + rand() * span);
      const s = formatTimestamp(ms);
      expect(s).toBe(new Date(ms).toISOString());
      expect(parseTimestamp(s)).toBe(ms);
    }
  });

  it('refuses instants RFC 3339 cannot write', () => {
    expect(() => formatTimestamp(MAX_TIMESTAMP_MS + 1)).toThrow(RangeError);
    expect(() => formatTimestamp(MIN_TIMESTAMP_MS - 1)).toThrow(RangeError);
    expect(() => formatTimestamp(Number.NaN)).toThrow(RangeError);
    expect(() => formatTimestamp(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
