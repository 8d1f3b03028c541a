/**
 * Property: the event decoders never throw. Every line — random bytes read as UTF-8, random text
 * with lone surrogates, truncated and deeply nested JSON, valid events with a field replaced by
 * anything (huge numbers, `NaN`, other types) — is an event with a type and a finite event time,
 * or a dead letter with one of the known reason codes. Both kinds of decoder: the llm domain's
 * hand-written `llm-events` decoder and one compiled from a JSON Schema (`operators/json-schema.ts`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJsonSchemaDecoder } from '../../operators/json-schema.js';
import { type DecodeFn, REASON_CODES, schemaDecoder } from '../../operators/schemas.js';
import { bytesAsUtf8, loneSurrogate, nested, PARAMS, rawNumber, withRawField } from './runs.js';

const GOOD: Record<string, unknown> = {
  type: 'performance_metrics',
  id: '00000000-0000-4000-8000-000000000001',
  timestamp: '2025-01-15T10:00:00.000Z',
  request_id: '00000000-0000-4000-9000-000000000001',
  model: 'gpt-4',
  config_id: null,
  latency_ms: 812,
  input_tokens: 10,
  output_tokens: 20,
  cost: 0.01,
  quality_score: null,
  error: null,
  metrics: { retries: 0 },
};

const CLICK: Record<string, unknown> = {
  type: 'click',
  ts: '2026-01-01T00:00:00Z',
  user: { id: 'u1', tier: 3 },
  price: 9.5,
  tags: ['a'],
};

const clickSchema = {
  type: 'object',
  required: ['type', 'ts', 'user', 'price'],
  properties: {
    type: { enum: ['click', 'view'] },
    ts: {},
    user: {
      type: 'object',
      required: ['id'],
      properties: {
        id: { type: 'string', maxLength: 64 },
        tier: { type: 'integer', minimum: 0, maximum: 9 },
      },
    },
    price: { type: 'number', minimum: 0 },
    tags: { type: 'array', items: { type: 'string' } },
  },
};

/** Lines of every kind the property covers, built around a valid event `good`. */
function lines(good: Record<string, unknown>): fc.Arbitrary<string> {
  const text = JSON.stringify(good);
  const keys = Object.keys(good);
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.array(fc.oneof(fc.string({ maxLength: 4 }), loneSurrogate), { maxLength: 40 }).map((a) => a.join('')),
    bytesAsUtf8,
    fc.json({ maxDepth: 4 }),
    fc.nat(text.length).map((n) => text.slice(0, n)), // truncated
    nested,
    // a field of a valid event replaced by any JSON value, a raw number token, or removed
    fc
      .tuple(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }))
      .map(([k, v]) => JSON.stringify({ ...good, [k]: v })),
    fc.tuple(fc.constantFrom(...keys), rawNumber).map(([k, raw]) => withRawField(good, k, raw)),
    fc.constantFrom(...keys).map((k) => {
      const { [k]: _gone, ...rest } = good;
      return JSON.stringify(rest);
    }),
    // timestamps of every shape
    fc
      .oneof(
        fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
        fc.string(),
        fc.double(),
      )
      .map((ts) => JSON.stringify({ ...good, timestamp: ts, ts })),
    // the line with a lone surrogate or a replacement character inside a string
    fc.tuple(fc.nat(text.length), loneSurrogate).map(([i, s]) => `${text.slice(0, i)}${s}${text.slice(i)}`),
  );
}

function checkDecoder(decode: DecodeFn, line: string): void {
  let r: ReturnType<DecodeFn>;
  try {
    r = decode(line);
  } catch (err) {
    throw new Error(`decoder threw on ${JSON.stringify(line.slice(0, 200))}: ${String(err)}`);
  }
  if (r.ok) {
    expect(typeof r.event.type).toBe('string');
    expect(Number.isFinite(r.event.ts)).toBe(true);
    expect(Number.isInteger(r.event.ts)).toBe(true);
    expect(typeof r.event.body).toBe('object');
  } else {
    expect(REASON_CODES).toContain(r.reason);
    expect(typeof r.detail).toBe('string');
  }
}

describe('property: decoders', () => {
  it('llm-events: every line is an event or a dead letter with a known reason, never a throw', () => {
    const decode = schemaDecoder('llm-events');
    expect(decode(JSON.stringify(GOOD)).ok).toBe(true);
    fc.assert(
      fc.property(lines(GOOD), (line) => checkDecoder(decode, line)),
      PARAMS,
    );
  });

  it('a JSON-Schema decoder: the same, for every time format', () => {
    for (const timeFormat of ['auto', 'rfc3339', 'epoch-ms'] as const) {
      const decode = compileJsonSchemaDecoder(`prop-${timeFormat}`, {
        jsonSchema: clickSchema,
        eventTime: 'ts',
        eventType: 'type',
        timeFormat,
        maxBytes: 4096,
      });
      if (timeFormat !== 'epoch-ms') expect(decode(JSON.stringify(CLICK)).ok).toBe(true);
      fc.assert(
        fc.property(lines(timeFormat === 'epoch-ms' ? { ...CLICK, ts: 1767225600000 } : CLICK), (line) =>
          checkDecoder(decode, line),
        ),
        PARAMS,
      );
    }
  });
});
