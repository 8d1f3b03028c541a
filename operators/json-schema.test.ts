import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/errors.js';
import { compileJsonSchemaDecoder, fieldPath } from './json-schema.js';
import { registerSchema, type SchemaDef, schemaDecoder } from './schemas.js';

const SHOP: SchemaDef = {
  jsonSchema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    required: ['type', 'user_id', 'ts'],
    properties: {
      type: { enum: ['page_view', 'purchase'] },
      user_id: { type: 'string', minLength: 1 },
      ts: { type: 'string' },
      price: { type: 'number', minimum: 0 },
      qty: { type: 'integer', exclusiveMinimum: 0, maximum: 99 },
      sku: { type: 'string', pattern: '^P[0-9]+$' },
      email: { type: 'string', format: 'email' },
      meta: {
        type: 'object',
        properties: { 'a/b': { type: 'object', properties: { 'c~d': { type: 'string' } } } },
      },
    },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable
    allOf: [{ if: { properties: { type: { const: 'purchase' } } }, then: { required: ['price'] } }],
  },
  eventTime: 'ts',
  eventType: 'type',
};

const decode = compileJsonSchemaDecoder('shop', SHOP);
const T0 = '2026-01-01T00:00:00Z';
const MS0 = Date.parse(T0);
const line = (o: Record<string, unknown>) =>
  JSON.stringify({ type: 'page_view', user_id: 'u1', ts: T0, ...o });
const reason = (l: string) => {
  const r = decode(l);
  return r.ok ? 'ok' : `${r.reason} | ${r.detail}`;
};

describe('compileJsonSchemaDecoder', () => {
  it('accepts a valid event: its type, event time and body (extra fields kept)', () => {
    const r = decode(line({ extra: [1, 2] }));
    expect(r).toEqual({
      ok: true,
      event: {
        type: 'page_view',
        ts: MS0,
        body: { type: 'page_view', user_id: 'u1', ts: T0, extra: [1, 2] },
      },
    });
    // A leading byte-order mark and a trailing \r are tolerated.
    expect(decode(`\ufeff${line({})}\r`).ok).toBe(true);
  });

  it('oversize: more than maxBytes of UTF-8, counted in bytes, not characters', () => {
    const small = compileJsonSchemaDecoder('small', { ...SHOP, maxBytes: 100 });
    const base = line({});
    const pad = (s: string) => line({ note: s });
    expect(Buffer.byteLength(base)).toBeLessThan(100);
    // 20 three-byte characters: 60 bytes but 20 UTF-16 units.
    const wide = pad('€'.repeat(20));
    expect(wide.length).toBeLessThanOrEqual(100);
    expect(small(wide)).toMatchObject({ ok: false, reason: 'oversize' });
    expect((small(wide) as { detail: string }).detail).toBe(
      `line is ${Buffer.byteLength(wide)} bytes, limit 100`,
    );
    expect(small(pad('x'.repeat(10))).ok).toBe(true);
    // The default limit is 1 MiB.
    expect(decode(pad('x'.repeat(1 << 20)))).toMatchObject({ ok: false, reason: 'oversize' });
  });

  it('not_json: a syntax error, an empty line, or a value that is not an object', () => {
    expect(reason('{"type":')).toMatch(/^not_json \| not JSON: /);
    expect(reason('')).toBe('not_json | not JSON: empty line');
    expect(reason('[1,2]')).toBe('not_json | event: expected JSON object, got array');
    expect(reason('42')).toBe('not_json | event: expected JSON object, got number');
    expect(reason('null')).toBe('not_json | event: expected JSON object, got null');
  });

  it('missing_field: a required field, also one required by if/then', () => {
    expect(reason(JSON.stringify({ type: 'page_view', ts: T0 }))).toBe(
      'missing_field | user_id: required field is missing',
    );
    expect(reason(line({ type: 'purchase' }))).toBe('missing_field | price: required field is missing');
    expect(reason(line({ type: 'purchase', price: 3 }))).toBe('ok');
  });

  it('wrong_type: a field of the wrong JSON type, null included', () => {
    expect(reason(line({ user_id: 7 }))).toBe('wrong_type | user_id: expected string, got number');
    expect(reason(line({ price: null }))).toBe('wrong_type | price: expected number, got null');
    expect(reason(line({ qty: 1.5 }))).toBe('wrong_type | qty: expected integer, got number');
    expect(reason(line({ meta: { 'a/b': { 'c~d': 1 } } }))).toBe(
      'wrong_type | meta.a/b.c~d: expected string, got number',
    );
  });

  it('unknown_type: enum or const on the event-type field; elsewhere they are out_of_range', () => {
    expect(reason(line({ type: 'refund' }))).toBe(
      'unknown_type | type: unknown event type "refund" (expected page_view|purchase)',
    );
    const colors = compileJsonSchemaDecoder('colors', {
      jsonSchema: { type: 'object', properties: { color: { enum: ['red', 'blue'] }, v: { const: 1 } } },
      eventTime: 'ts',
    });
    expect(colors(JSON.stringify({ color: 'green', ts: T0 }))).toEqual({
      ok: false,
      reason: 'out_of_range',
      detail: 'color: expected one of red|blue, got "green"',
    });
    expect(colors(JSON.stringify({ v: 2, ts: T0 }))).toMatchObject({
      reason: 'out_of_range',
      detail: 'v: expected one of 1, got 2',
    });
  });

  it('unknown_type: a union discriminated by the type field (oneOf of const types)', () => {
    const union = compileJsonSchemaDecoder('union', {
      jsonSchema: {
        type: 'object',
        required: ['kind', 'ts'],
        oneOf: [
          { properties: { kind: { const: 'view' } } },
          { properties: { kind: { const: 'buy' }, price: { type: 'number' } }, required: ['price'] },
        ],
      },
      eventTime: 'ts',
      eventType: 'kind',
    });
    const r = (o: Record<string, unknown>) => union(JSON.stringify({ ts: T0, ...o }));
    expect(r({ kind: 'view' })).toMatchObject({ ok: true, event: { type: 'view' } });
    expect(r({ kind: 'buy', price: 2 })).toMatchObject({ ok: true, event: { type: 'buy' } });
    expect(r({ kind: 'refund', price: 2 })).toEqual({
      ok: false,
      reason: 'unknown_type',
      detail: 'kind: unknown event type "refund" (expected view|buy)',
    });
    // A known type whose own alternative fails is not an unknown type: the union is reported.
    expect(r({ kind: 'buy' })).toEqual({
      ok: false,
      reason: 'out_of_range',
      detail: 'event: must match exactly one schema in oneOf, got object',
    });
  });

  it('out_of_range: bounds, lengths, patterns, formats, forbidden fields, combinators', () => {
    expect(reason(line({ price: -3 }))).toBe('out_of_range | price: must be ≥ 0, got -3');
    expect(reason(line({ qty: 0 }))).toBe('out_of_range | qty: must be > 0, got 0');
    expect(reason(line({ qty: 100 }))).toBe('out_of_range | qty: must be ≤ 99, got 100');
    expect(reason(line({ user_id: '' }))).toMatch(
      /^out_of_range \| user_id: must NOT have fewer than 1 characters, got ""$/,
    );
    expect(reason(line({ sku: 'X1' }))).toMatch(
      /^out_of_range \| sku: must match pattern "\^P\[0-9\]\+\$", got "X1"$/,
    );
    expect(reason(line({ email: 'nope' }))).toMatch(
      /^out_of_range \| email: must match format "email", got "nope"$/,
    );
    const closed = compileJsonSchemaDecoder('closed', {
      jsonSchema: {
        type: 'object',
        properties: { ts: {}, n: { anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0 }] } },
        additionalProperties: false,
      },
      eventTime: 'ts',
    });
    expect(closed(JSON.stringify({ ts: T0, x: 1 }))).toEqual({
      ok: false,
      reason: 'out_of_range',
      detail: 'event: unexpected field "x"',
    });
    // No alternative matches: the anyOf is reported, not the first alternative's type fault.
    expect(closed(JSON.stringify({ ts: T0, n: -1 }))).toEqual({
      ok: false,
      reason: 'out_of_range',
      detail: 'n: must match a schema in anyOf, got -1',
    });
    expect(closed(JSON.stringify({ ts: T0, n: 'a' })).ok).toBe(true);
  });

  it('the event time: missing, null, wrong type, unparseable, out of range', () => {
    expect(reason(JSON.stringify({ type: 'page_view', user_id: 'u' }))).toBe(
      'missing_field | ts: required field is missing', // the schema's `required` comes first
    );
    const loose = compileJsonSchemaDecoder('loose', { jsonSchema: { type: 'object' }, eventTime: 'ts' });
    const r = (o: unknown) => {
      const x = loose(JSON.stringify(o));
      return x.ok ? x.event.ts : `${x.reason} | ${x.detail}`;
    };
    expect(r({})).toBe('missing_field | ts: required field is missing');
    expect(r({ ts: null })).toBe('missing_field | ts: required, got null');
    expect(r({ ts: true })).toBe(
      'wrong_type | ts: expected RFC 3339 timestamp string or epoch milliseconds, got boolean',
    );
    expect(r({ ts: '2026-02-30T00:00:00Z' })).toBe(
      'bad_timestamp | ts: not an RFC 3339 timestamp: "2026-02-30T00:00:00Z"',
    );
    expect(r({ ts: '2026-01-01' })).toMatch(/^bad_timestamp/);
    expect(r({ ts: 1e17 })).toBe(
      'bad_timestamp | ts: epoch milliseconds outside years 0000–9999: 100000000000000000',
    );
    expect(r({ ts: T0 })).toBe(MS0);
    expect(r({ ts: MS0 })).toBe(MS0);
    expect(r({ ts: MS0 + 0.9 })).toBe(MS0); // floored
    expect(r({ ts: '2026-01-01T00:00:00.1239+01:00' })).toBe(MS0 - 3_600_000 + 123);
  });

  it('timeFormat: rfc3339 takes strings only, epoch-ms numbers only, auto either', () => {
    const body = (ts: unknown) => JSON.stringify({ ts });
    const rfc = compileJsonSchemaDecoder('rfc', { jsonSchema: {}, eventTime: 'ts', timeFormat: 'rfc3339' });
    const ms = compileJsonSchemaDecoder('ms', { jsonSchema: {}, eventTime: 'ts', timeFormat: 'epoch-ms' });
    expect(rfc(body(T0))).toMatchObject({ ok: true, event: { ts: MS0 } });
    expect(rfc(body(MS0))).toEqual({
      ok: false,
      reason: 'wrong_type',
      detail: 'ts: expected RFC 3339 timestamp string, got number',
    });
    expect(ms(body(MS0))).toMatchObject({ ok: true, event: { ts: MS0 } });
    expect(ms(body(T0))).toEqual({
      ok: false,
      reason: 'wrong_type',
      detail: 'ts: expected epoch milliseconds (number), got string',
    });
    expect(ms(body(-1))).toMatchObject({ ok: true, event: { ts: -1 } });
  });

  it('a nested time field by JSON Pointer, with ~0 and ~1 escapes', () => {
    expect(fieldPath('ts')).toEqual(['ts']);
    expect(fieldPath('/meta/time')).toEqual(['meta', 'time']);
    expect(fieldPath('/a~1b/c~0d')).toEqual(['a/b', 'c~d']);
    const nested = compileJsonSchemaDecoder('nested', {
      jsonSchema: { type: 'object' },
      eventTime: '/meta/a~1b/c~0d',
      eventType: '/meta/kind',
    });
    const ok = nested(JSON.stringify({ meta: { kind: 'k', 'a/b': { 'c~d': T0 } } }));
    expect(ok).toMatchObject({ ok: true, event: { type: 'k', ts: MS0 } });
    expect(nested(JSON.stringify({ meta: { kind: 'k', 'a/b': {} } }))).toEqual({
      ok: false,
      reason: 'missing_field',
      detail: 'meta.a/b.c~d: required field is missing',
    });
    expect(nested(JSON.stringify({ meta: { kind: 'k', 'a/b': 3 } }))).toMatchObject({
      reason: 'missing_field',
    });
    expect(nested(JSON.stringify({ meta: { kind: 'k', 'a/b': { 'c~d': 'x' } } }))).toEqual({
      ok: false,
      reason: 'bad_timestamp',
      detail: 'meta.a/b.c~d: not an RFC 3339 timestamp: "x"',
    });
  });

  it('the type field: its string value is the type; missing, null or not a string is refused; none = the schema name', () => {
    const typed = compileJsonSchemaDecoder('typed', {
      jsonSchema: { type: 'object' },
      eventTime: 'ts',
      eventType: 'kind',
    });
    expect(typed(JSON.stringify({ kind: 'a', ts: T0 }))).toMatchObject({ ok: true, event: { type: 'a' } });
    expect(typed(JSON.stringify({ ts: T0 }))).toEqual({
      ok: false,
      reason: 'missing_field',
      detail: 'kind: required field is missing',
    });
    expect(typed(JSON.stringify({ kind: null, ts: T0 }))).toEqual({
      ok: false,
      reason: 'missing_field',
      detail: 'kind: required, got null',
    });
    expect(typed(JSON.stringify({ kind: 3, ts: T0 }))).toEqual({
      ok: false,
      reason: 'wrong_type',
      detail: 'kind: expected string, got number',
    });
    // The type is checked before the time.
    expect(typed(JSON.stringify({ kind: 3 }))).toMatchObject({ reason: 'wrong_type' });
    const untyped = compileJsonSchemaDecoder('untyped', { jsonSchema: { type: 'object' }, eventTime: 'ts' });
    expect(untyped(JSON.stringify({ ts: T0, type: 'ignored' }))).toMatchObject({
      ok: true,
      event: { type: 'untyped' },
    });
  });

  it('draft-07 (default and by $schema) and 2020-12 keywords', () => {
    const d7 = compileJsonSchemaDecoder('d7', {
      jsonSchema: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { tags: { type: 'array', items: [{ type: 'string' }], additionalItems: false } },
      },
      eventTime: 'ts',
    });
    expect(d7(JSON.stringify({ ts: T0, tags: ['a'] })).ok).toBe(true);
    expect(d7(JSON.stringify({ ts: T0, tags: [1] }))).toEqual({
      ok: false,
      reason: 'wrong_type',
      detail: 'tags.0: expected string, got number',
    });
    expect(d7(JSON.stringify({ ts: T0, tags: ['a', 'b'] }))).toMatchObject({ reason: 'out_of_range' });
    // 2020-12: prefixItems and unevaluatedProperties (unknown keywords in draft-07).
    const d2020 = compileJsonSchemaDecoder('d2020', {
      jsonSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          ts: {},
          pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] },
        },
        unevaluatedProperties: false,
      },
      eventTime: 'ts',
    });
    expect(d2020(JSON.stringify({ ts: T0, pair: ['a', 1] })).ok).toBe(true);
    expect(d2020(JSON.stringify({ ts: T0, pair: ['a', 'b'] }))).toEqual({
      ok: false,
      reason: 'wrong_type',
      detail: 'pair.1: expected number, got string',
    });
    expect(d2020(JSON.stringify({ ts: T0, other: 1 }))).toEqual({
      ok: false,
      reason: 'out_of_range',
      detail: 'event: unexpected field "other"',
    });
    // prefixItems is not a draft-07 keyword: strict mode refuses it, naming the schema.
    expect(() =>
      compileJsonSchemaDecoder('d7bad', { jsonSchema: { type: 'object', prefixItems: [] }, eventTime: 'ts' }),
    ).toThrow(/schema "d7bad": invalid JSON Schema: strict mode: unknown keyword: "prefixItems"/);
  });

  it('refuses bad definitions with a ConfigError naming the schema', () => {
    const bad = (def: SchemaDef) => () => compileJsonSchemaDecoder('bad', def);
    expect(
      bad({ jsonSchema: { $schema: 'http://json-schema.org/draft-04/schema#' }, eventTime: 'ts' }),
    ).toThrow(ConfigError);
    expect(bad({ jsonSchema: { type: 'object' }, eventTime: 'ts', timeFormat: 'iso' as 'auto' })).toThrow(
      /`timeFormat` must be one of rfc3339, epoch-ms, auto/,
    );
    expect(bad({ jsonSchema: { type: 'object' }, eventTime: 'ts', maxBytes: 0 })).toThrow(/`maxBytes`/);
    expect(bad({ jsonSchema: { type: 'nope' }, eventTime: 'ts' })).toThrow(
      /schema "bad": invalid JSON Schema/,
    );
  });

  it('compiles a definition once per thread: the same decoder is reused', () => {
    expect(compileJsonSchemaDecoder('shop', SHOP)).toBe(decode);
    // Through the registry (which the plugin loader fills): the compiler is installed on import.
    const def: SchemaDef = { jsonSchema: { type: 'object' }, eventTime: 'ts' };
    registerSchema('json-schema-unit', def, 'unit test');
    const a = schemaDecoder('json-schema-unit');
    expect(schemaDecoder('json-schema-unit')).toBe(a);
    expect(compileJsonSchemaDecoder('json-schema-unit', def)).toBe(a);
    // A schema with an $id compiles again without ajv's "already exists" error only because it
    // is not compiled twice.
    const withId: SchemaDef = { jsonSchema: { $id: 'urn:unit:once', type: 'object' }, eventTime: 'ts' };
    const b = compileJsonSchemaDecoder('once', withId);
    expect(compileJsonSchemaDecoder('once', withId)).toBe(b);
    expect(a(JSON.stringify({ ts: T0 }))).toMatchObject({
      ok: true,
      event: { type: 'json-schema-unit', ts: MS0 },
    });
  });
});
