/**
 * Stable numeric ids of endpoints and resources: 48 bits from two 32-bit FNV-1a hashes of the
 * UTF-8 bytes, exact in a float64, so a session row (numbers only) can carry its last calls and
 * entity ids can name n-grams compactly. At a few thousand endpoints the chance of any collision
 * is below 10⁻⁷.
 */
const ENCODER = new TextEncoder();

function fnv(bytes: Uint8Array, basis: number): number {
  let h = basis;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The begin-of-session token: the context of a session's first call. */
export const BOS = 0;

/**
 * A 48-bit id of a string, never 0 ({@link BOS}).
 *
 * @example
 * stableId('GET /v1/invoices') === stableId('GET /v1/invoices'); // true
 */
export function stableId(s: string): number {
  const b = ENCODER.encode(s);
  const id = (fnv(b, 0x811c9dc5) & 0xffff) * 4_294_967_296 + fnv(b, 0x050c5d1f);
  return id === 0 ? 1 : id;
}

/** An id as 12 hex digits (entity ids). */
export function idHex(id: number): string {
  return id.toString(16).padStart(12, '0');
}
