/**
 * Defensive readers of a decoded event body. The decoder has checked the fields, but the feature
 * functions are also called on hand-built bodies, so a missing, null or wrongly typed field reads
 * as null here and the feature that needs it is null (never a silent 0).
 */

/** A decoded event body (`DecodedEvent.body`). */
export type Body = Readonly<Record<string, unknown>>;

/** The field as a finite number, else null. */
export function numField(body: Body | null | undefined, key: string): number | null {
  const v = body?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The field as a string, else null. */
export function strField(body: Body | null | undefined, key: string): string | null {
  const v = body?.[key];
  return typeof v === 'string' ? v : null;
}

/** The field as a boolean, else null. */
export function boolField(body: Body | null | undefined, key: string): boolean | null {
  const v = body?.[key];
  return typeof v === 'boolean' ? v : null;
}

/** The field as a plain object (a map), else null. */
export function mapField(body: Body | null | undefined, key: string): Body | null {
  const v = body?.[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Body) : null;
}

/** `x` clamped to [lo, hi]; null stays null. */
export function clamp(x: number | null, lo: number, hi: number): number | null {
  if (x === null) return null;
  return x < lo ? lo : x > hi ? hi : x;
}

/** a / b, or null when either is null or b is 0 (a division by zero is a missing value). */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  return a / b;
}
