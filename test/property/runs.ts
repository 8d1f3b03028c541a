/**
 * How many cases each property runs: fast-check's default (100) in CI; set
 * FEATURESTREAM_PROPERTY_RUNS (e.g. 1000) for a longer local run, and FEATURESTREAM_PROPERTY_SEED
 * to replay a failure fast-check reported.
 */
import fc from 'fast-check';

const runs = Number(process.env.FEATURESTREAM_PROPERTY_RUNS);
const seed = Number(process.env.FEATURESTREAM_PROPERTY_SEED);

/** The parameters of every `fc.assert` in these tests. */
export const PARAMS: fc.Parameters<unknown> = {
  ...(Number.isSafeInteger(runs) && runs > 0 ? { numRuns: runs } : {}),
  ...(Number.isSafeInteger(seed) ? { seed } : {}),
};

/** Lone UTF-16 surrogates: what invalid UTF-8 and broken encoders turn into. */
export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Text as the file and Kafka sources hand it over: arbitrary bytes read as UTF-8 (U+FFFD for invalid). */
export const bytesAsUtf8 = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8'));

/** Number tokens JSON.stringify never writes: huge, tiny, negative zero, long integers, hex. */
export const rawNumber = fc.constantFrom(
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '123456789012345678901234567890',
  '9007199254740993',
  '0x10',
  'NaN',
  'Infinity',
  '-Infinity',
  '1.',
  '.5',
  '01',
  '1e',
  '2.5e+308',
);

/**
 * A JSON text of `obj` with one field (a path of keys) replaced by `raw` text, which may be any
 * token (e.g. `1e400`) or a JSON value.
 */
export function withRawField(obj: Record<string, unknown>, key: string, raw: string): string {
  const marker = '"__featurestream_raw__"';
  return JSON.stringify({ ...obj, [key]: '__featurestream_raw__' }).replace(marker, raw);
}

/** `[[[…]]]` or `{"a":{"a":…}}` nested `depth` deep. */
export const nested = fc
  .tuple(fc.integer({ min: 1, max: 200_000 }), fc.boolean(), fc.boolean())
  .map(([depth, arrays, closed]) => {
    const open = arrays ? '['.repeat(depth) : '{"a":'.repeat(depth);
    const close = arrays ? ']'.repeat(depth) : '}'.repeat(depth);
    return arrays ? `${open}${closed ? close : ''}` : `${open}1${closed ? close : ''}`;
  });
