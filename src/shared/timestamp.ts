/**
 * RFC 3339 timestamps ⇄ integer milliseconds since the Unix epoch, without `Date.parse`.
 *
 * The collector writes chrono's `DateTime<Utc>` through serde, i.e. RFC 3339 in UTC with 0, 3, 6
 * or 9 fractional digits (`2025-01-15T10:30:00.123456789Z`). Every event passes through
 * {@link parseTimestamp}, so it is a single forward scan over char codes: no regex, no
 * allocation, no `Date` object, and none of `Date.parse`'s lenient guesses (it accepts
 * `"2025-01-15"`, local times without a zone and day 31 of February).
 *
 * Accepted: `YYYY-MM-DD` + (`T` | `t` | space) + `HH:MM:SS` + optional `.` and one or more
 * fractional digits + (`Z` | `z` | `±HH:MM`). Years 0000–9999. A leap second (`:60`) is accepted
 * and read as the last millisecond of second 59, so it stays inside its minute.
 */

const MS_PER_DAY = 86_400_000;

/** Largest instant {@link formatTimestamp} can write: 9999-12-31T23:59:59.999Z. */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;
/** Smallest instant {@link formatTimestamp} can write: 0000-01-01T00:00:00.000Z. */
export const MIN_TIMESTAMP_MS = -62_167_219_200_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Two ASCII digits at `i` as a number, or -1. `>>> 0` folds "below '0'" into "above 9". Callers
 * make sure `i + 1` is inside the string (past the end, NaN >>> 0 would read as a 0 digit).
 */
function two(s: string, i: number): number {
  const a = (s.charCodeAt(i) - 48) >>> 0;
  const b = (s.charCodeAt(i + 1) - 48) >>> 0;
  return a > 9 || b > 9 ? -1 : a * 10 + b;
}

/** `YYYY-MM-DD` at the start of `s` as days since the epoch, or NaN. */
function parseDatePart(s: string): number {
  const hi = two(s, 0);
  const lo = two(s, 2);
  if (hi < 0 || lo < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return Number.NaN;
  const year = hi * 100 + lo;
  const month = two(s, 5);
  const day = two(s, 8);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  return daysFromCivil(year, month, day);
}

/**
 * Parses an RFC 3339 timestamp into integer ms since the epoch. Fractional digits beyond the
 * millisecond are truncated toward −∞ (floor), also before 1970. Returns `null` for anything
 * else (no zone, impossible dates, trailing characters, `Date.parse`-only forms).
 *
 * @example
 * parseTimestamp('2025-01-15T10:30:00.123456789Z'); // 1736937000123
 * parseTimestamp('1969-12-31T23:59:59.9995Z'); // -1
 * parseTimestamp('2025-13-01T00:00:00Z'); // null
 */
export function parseTimestamp(s: string): number | null {
  const n = s.length;
  if (n < 20) return null;
  const days = parseDatePart(s);
  if (Number.isNaN(days)) return null;
  const sep = s.charCodeAt(10);
  if (sep !== 84 /* T */ && sep !== 116 /* t */ && sep !== 32 /* space */) return null;
  const hour = two(s, 11);
  const minute = two(s, 14);
  let second = two(s, 17);
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return null;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return null;

  let i = 19;
  let millis = 0;
  let c = s.charCodeAt(i);
  if (c === 46 /* . */) {
    i++;
    const start = i;
    // charCodeAt past the end is NaN, and NaN >>> 0 is 0: hence the bound on i.
    while (i < n) {
      const digit = (s.charCodeAt(i) - 48) >>> 0;
      if (digit > 9) break;
      if (i - start < 3) millis = millis * 10 + digit;
      i++;
    }
    const count = i - start;
    if (count === 0) return null;
    if (count === 1) millis *= 100;
    else if (count === 2) millis *= 10;
    c = s.charCodeAt(i);
  }
  if (second === 60) {
    second = 59;
    millis = 999;
  }

  let offsetMin = 0;
  if (c === 90 /* Z */ || c === 122 /* z */) {
    if (i + 1 !== n) return null;
  } else if (c === 43 /* + */ || c === 45 /* - */) {
    if (i + 6 !== n || s.charCodeAt(i + 3) !== 58) return null;
    const oh = two(s, i + 1);
    const om = two(s, i + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return null;
    offsetMin = oh * 60 + om;
    if (c === 45) offsetMin = -offsetMin;
  } else {
    return null;
  }
  return days * MS_PER_DAY + ((hour * 60 + minute - offsetMin) * 60 + second) * 1000 + millis;
}

/**
 * Parses a calendar date (`YYYY-MM-DD`, read as midnight UTC) or, failing that, an RFC 3339
 * timestamp. For date-valued fields such as a model's `training_cutoff`.
 *
 * @example
 * parseDateOrTimestamp('2024-04-01'); // 1711929600000
 */
export function parseDateOrTimestamp(s: string): number | null {
  if (s.length === 10) {
    const days = parseDatePart(s);
    return Number.isNaN(days) ? null : days * MS_PER_DAY;
  }
  return parseTimestamp(s);
}

const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);

/**
 * Formats integer ms since the epoch as RFC 3339 UTC with exactly three fractional digits.
 * Non-integer input is floored. Throws a RangeError outside years 0000–9999 (RFC 3339 has no
 * form for them) or for non-finite input.
 *
 * @example
 * formatTimestamp(0); // '1970-01-01T00:00:00.000Z'
 * formatTimestamp(-1); // '1969-12-31T23:59:59.999Z'
 */
export function formatTimestamp(ms: number): string {
  const t = Math.floor(ms);
  if (!(t >= MIN_TIMESTAMP_MS && t <= MAX_TIMESTAMP_MS)) {
    throw new RangeError(`formatTimestamp: ${ms} is outside years 0000–9999`);
  }
  const days = Math.floor(t / MS_PER_DAY);
  let rem = t - days * MS_PER_DAY;
  // H. Hinnant's civil_from_days.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  const milli = rem % 1000;
  rem = (rem - milli) / 1000;
  const second = rem % 60;
  rem = (rem - second) / 60;
  const minute = rem % 60;
  const hour = (rem - minute) / 60;
  return (
    PAD2[Math.floor(year / 100)]! +
    PAD2[year % 100]! +
    '-' +
    PAD2[month]! +
    '-' +
    PAD2[day]! +
    'T' +
    PAD2[hour]! +
    ':' +
    PAD2[minute]! +
    ':' +
    PAD2[second]! +
    '.' +
    (milli < 100 ? (milli < 10 ? '00' : '0') : '') +
    milli +
    'Z'
  );
}
