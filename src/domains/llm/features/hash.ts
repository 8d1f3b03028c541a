const ENCODER = new TextEncoder();

/**
 * A stable hash of a string into [0, 1): 32-bit FNV-1a over the string's UTF-8 bytes, divided by
 * 2^32. The same string gives the same value on every machine, run and Node version, so hashed
 * categorical features (REQ_006 prompt_language, MDL_009 model_provider) are stable keys.
 *
 * @example
 * stableHash01(''); // 2166136261 / 2 ** 32 (the FNV offset basis)
 * stableHash01('openai') === stableHash01('openai'); // true
 */
export function stableHash01(s: string): number {
  let h = 0x811c9dc5;
  const bytes = ENCODER.encode(s);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4_294_967_296;
}
