/**
 * The JSON-Schema decoder: turns a {@link SchemaDef} with a `jsonSchema` into a {@link DecodeFn}
 * (validated with ajv, compiled once per thread and definition). Importing this module installs
 * it with `setJsonSchemaCompiler`; `plugins.ts` imports it, so any plugin load has it. ajv itself
 * is loaded on the first compile, so jobs whose schemas are hand-written decoders never pay for it.
 *
 * **What is validated, in this order; the first fault is the record's one dead letter.** A
 * faster decoder written for the same schema must give the same reason codes.
 *
 * 1. Size: more than `maxBytes` UTF-8 bytes (default 1 MiB) → `oversize`.
 * 2. Syntax: `JSON.parse` fails (also on an empty line), or the value is not an object (an
 *    array, a string, a number, `null`, …) → `not_json`. A leading byte-order mark is ignored.
 * 3. The JSON Schema: every keyword of `jsonSchema` (draft 2020-12 when its `$schema` says so,
 *    2019-09 likewise, else draft-07), `required` included, with the standard formats of
 *    ajv-formats (`date-time`, `email`, `uri`, …). ajv stops at the first failing keyword (the
 *    schema's evaluation order: a schema object's keywords as ajv orders them — `type` first,
 *    then `required`, then `properties` in the schema's order, …). That error gives the reason:
 *    - `required`, `dependentRequired`, `dependencies` → `missing_field`;
 *    - `type` → `wrong_type` (also for `null` where the schema does not allow it);
 *    - `enum` or `const` on the event-type field (`eventType`) → `unknown_type`;
 *    - any other keyword — `enum`, `const`, `minimum`, `maximum`, `exclusiveMinimum`,
 *      `exclusiveMaximum`, `multipleOf`, `minLength`, `maxLength`, `pattern`, `format`,
 *      `minItems`, `maxItems`, `uniqueItems`, `contains`, `minProperties`, `maxProperties`,
 *      `additionalProperties`, `propertyNames`, `unevaluatedProperties`, `not`, … → `out_of_range`;
 *    - when no alternative of an `anyOf` / `oneOf` matches (or several of a `oneOf` do), the
 *      combinator itself is reported (`out_of_range`), not the first alternative's fault.
 *      But a union discriminated by the type — each alternative refuses the event-type
 *      field's value with `enum`/`const` — gives `unknown_type`. Inside `if`/`then`/`else`, the
 *      `then`/`else` schema's own fault is reported.
 * 4. The event type, when `eventType` is given: missing or `null` → `missing_field`; not a
 *    string → `wrong_type`. Without `eventType`, every event's type is the schema's name.
 * 5. The event time (`eventTime`): missing or `null` → `missing_field`; `timeFormat`
 *    `rfc3339` (a string, read by `parseTimestamp`: RFC 3339 with a zone, fractional digits
 *    past the millisecond floored), `epoch-ms` (a number, floored to an integer) or `auto`
 *    (default: either); a value of another JSON type → `wrong_type`; a string that does not
 *    parse, or a number outside years 0000–9999 → `bad_timestamp`.
 *
 * `eventTime` and `eventType` are a field name (`ts`) or a JSON Pointer (`/meta/time`, with
 * `~1` for `/` and `~0` for `~` in a name). Details name the failing field as a dotted path
 * (`meta.time`, `items.0.sku`; the whole record is `event`) and say what was expected, e.g.
 * `price: must be ≥ 0, got -3` or `user_id: expected string, got number`. Unknown extra fields
 * are kept in `body` unless the schema forbids them (`additionalProperties: false`). Non-finite
 * numbers cannot come out of `JSON.parse`, so `non_finite` is never given.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { notJsonDetail } from '../src/shared/json-error.js';
import { ConfigError } from '../src/shared/errors.js';
import { lazyModule } from '../src/shared/lazy-module.js';
import { MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS, parseTimestamp } from '../src/shared/timestamp.js';
import {
  type DecodeFn,
  type DecodeResult,
  type ReasonCode,
  type SchemaDef,
  setJsonSchemaCompiler,
  type TimeFormat,
} from './schemas.js';

/** Default size limit of one record: 1 MiB of UTF-8. */
export const DEFAULT_MAX_BYTES = 1 << 20;

const TIME_FORMATS: readonly TimeFormat[] = ['rfc3339', 'epoch-ms', 'auto'];

/** The JSON Schema drafts this decoder reads, by the `$schema` URI that selects them. */
type Draft = '2020-12' | '2019-09' | 'draft-07';

interface AjvLike {
  compile(schema: object): ValidateFunction;
}

/** One ajv instance per draft and thread, created on first use (ajv loads only then). */
const instances = new Map<Draft, AjvLike>();
/** Decoders already compiled in this thread, by definition. */
const compiled = new WeakMap<SchemaDef, DecodeFn>();

type AjvCtor = new (opts: object) => AjvLike;
// Loaded on the first compile: commands and jobs without a JSON Schema never load ajv (issue 10).
const AJV: Readonly<Record<Draft, () => { default: AjvCtor }>> = {
  '2020-12': lazyModule('ajv/dist/2020'),
  '2019-09': lazyModule('ajv/dist/2019'),
  'draft-07': lazyModule('ajv'),
};
const addFormats = lazyModule<{ default: (ajv: AjvLike) => void }>('ajv-formats');

function ajvFor(draft: Draft): AjvLike {
  const have = instances.get(draft);
  if (have !== undefined) return have;
  const Ctor = AJV[draft]().default;
  const ajv = new Ctor({
    allErrors: false,
    verbose: true, // errors carry the failing value (`data`), for the detail
    // Unknown keywords (a typo, a keyword of another draft) fail the compile; ajv's stylistic
    // checks (types, tuples, `required` of undeclared properties) are left to the author.
    strictSchema: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    logger: false,
  });
  addFormats().default(ajv);
  instances.set(draft, ajv);
  return ajv;
}

function draftOf(name: string, schema: Readonly<Record<string, unknown>>): Draft {
  const uri = schema.$schema;
  if (uri === undefined) return 'draft-07';
  if (typeof uri === 'string') {
    if (uri.includes('2020-12')) return '2020-12';
    if (uri.includes('2019-09')) return '2019-09';
    if (uri.includes('draft-07')) return 'draft-07';
  }
  throw new ConfigError(
    `schema "${name}": unsupported \`$schema\` ${JSON.stringify(uri)} (supported: draft 2020-12, 2019-09 and draft-07)`,
    { field: 'schema' },
  );
}

/**
 * A field name or a JSON Pointer as the keys to walk: `ts` → [ts], `/meta/time` → [meta, time],
 * `/a~1b/c~0d` → [a/b, c~d].
 */
export function fieldPath(field: string): readonly string[] {
  if (!field.startsWith('/')) return [field];
  return field
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The value at `path` in `o`, or undefined when a step is missing. */
function valueAt(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** A path as the detail names it: dotted, or `event` for the whole record. */
function label(path: readonly string[]): string {
  return path.length === 0 ? 'event' : path.join('.');
}

/** An ajv `instancePath` (a JSON Pointer) as path segments. */
function pointerPath(pointer: string): string[] {
  return pointer === '' ? [] : [...fieldPath(pointer)];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A value for a detail: strings quoted and cut to 64 characters, numbers as they are. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return describe(v);
}

function fail(reason: ReasonCode, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

const MISSING = new Set(['required', 'dependentRequired', 'dependencies']);
const COMBINATORS = new Set(['anyOf', 'oneOf']);
const BOUND: Readonly<Record<string, string>> = {
  minimum: '≥',
  maximum: '≤',
  exclusiveMinimum: '>',
  exclusiveMaximum: '<',
};

const refusesType = (x: ErrorObject, typePath: string) =>
  (x.keyword === 'enum' || x.keyword === 'const') && x.instancePath === typePath;

/**
 * A union discriminated by the event type: when each alternative of a failed `anyOf`/`oneOf`
 * stopped at `enum`/`const` on the type field, the type is unknown (`unknown_type`, naming every
 * type the alternatives allow); otherwise null.
 */
function unionRefusesType(
  errors: readonly ErrorObject[],
  combinator: ErrorObject,
  typePath: string,
): DecodeResult | null {
  const alternatives = Array.isArray(combinator.schema) ? combinator.schema.length : 0;
  const prefix = `${combinator.schemaPath}/`;
  const first = new Map<string, ErrorObject>(); // each alternative's fault
  for (const x of errors) {
    if (!x.schemaPath.startsWith(prefix)) continue;
    const k = x.schemaPath.slice(prefix.length).split('/')[0]!;
    if (!first.has(k)) first.set(k, x);
  }
  if (alternatives === 0 || first.size !== alternatives) return null;
  const faults = [...first.values()];
  if (!faults.every((x) => refusesType(x, typePath))) return null;
  const allowed = faults.flatMap((x) => {
    const p = x.params as Record<string, unknown>;
    return x.keyword === 'enum' ? (p.allowedValues as unknown[]) : [p.allowedValue];
  });
  const expected = allowed.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('|');
  return fail(
    'unknown_type',
    `${label(pointerPath(typePath))}: unknown event type ${show(faults[0]!.data)} (expected ${expected})`,
  );
}

/** The dead letter of ajv's errors (the first failing keyword; see the module comment). */
function schemaFault(errors: readonly ErrorObject[], typePath: string | null): DecodeResult {
  const combinator = errors.find((x) => COMBINATORS.has(x.keyword));
  if (combinator !== undefined && typePath !== null) {
    const refused = unionRefusesType(errors, combinator, typePath);
    if (refused !== null) return refused;
  }
  const e = combinator ?? errors[0]!;
  const path = pointerPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  const at = label(path);
  if (MISSING.has(e.keyword)) {
    const missing = String(params.missingProperty);
    return fail('missing_field', `${label([...path, missing])}: required field is missing`);
  }
  if (e.keyword === 'type') {
    return fail('wrong_type', `${at}: expected ${String(params.type)}, got ${describe(e.data)}`);
  }
  if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = e.keyword === 'enum' ? (params.allowedValues as unknown[]) : [params.allowedValue];
    const expected = allowed.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('|');
    if (typePath !== null && e.instancePath === typePath) {
      return fail('unknown_type', `${at}: unknown event type ${show(e.data)} (expected ${expected})`);
    }
    return fail('out_of_range', `${at}: expected one of ${expected}, got ${show(e.data)}`);
  }
  const bound = BOUND[e.keyword];
  if (bound !== undefined) {
    return fail('out_of_range', `${at}: must be ${bound} ${String(params.limit)}, got ${show(e.data)}`);
  }
  if (e.keyword === 'additionalProperties') {
    return fail('out_of_range', `${at}: unexpected field ${show(params.additionalProperty)}`);
  }
  if (e.keyword === 'unevaluatedProperties') {
    return fail('out_of_range', `${at}: unexpected field ${show(params.unevaluatedProperty)}`);
  }
  return fail('out_of_range', `${at}: ${e.message ?? `fails \`${e.keyword}\``}, got ${show(e.data)}`);
}

/** The pointer ajv names a field by (`instancePath`), for comparing with the type field. */
function toPointer(path: readonly string[]): string {
  return path.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * Compiles a JSON-Schema {@link SchemaDef} into a decoder (see the module comment for what it
 * validates). The same definition object is compiled once per thread.
 *
 * @throws ConfigError naming the schema when the JSON Schema does not compile (an unknown
 *   keyword, a bad `$schema`), or `eventTime`, `timeFormat` or `maxBytes` is not valid.
 *
 * @example
 * const decode = compileJsonSchemaDecoder('clicks', {
 *   jsonSchema: { type: 'object', required: ['type', 'ts'], properties: { type: { enum: ['click'] } } },
 *   eventTime: 'ts',
 *   eventType: 'type',
 * });
 * decode('{"type":"click","ts":"2026-01-01T00:00:00Z"}'); // { ok: true, event: { type: 'click', ts: 1767225600000, … } }
 * decode('{"type":"tap","ts":"2026-01-01T00:00:00Z"}'); // { ok: false, reason: 'unknown_type', … }
 */
export function compileJsonSchemaDecoder(name: string, def: SchemaDef): DecodeFn {
  const have = compiled.get(def);
  if (have !== undefined) return have;
  const schema = def.jsonSchema;
  if (schema === undefined || schema === null || typeof schema !== 'object') {
    throw new ConfigError(`schema "${name}": \`jsonSchema\` must be an object`, { field: 'schema' });
  }
  if (typeof def.eventTime !== 'string' || def.eventTime === '' || def.eventTime === '/') {
    throw new ConfigError(`schema "${name}": \`eventTime\` must name a field (a name or a JSON Pointer)`, {
      field: 'schema',
    });
  }
  const format = def.timeFormat ?? 'auto';
  if (!TIME_FORMATS.includes(format)) {
    throw new ConfigError(
      `schema "${name}": \`timeFormat\` must be one of ${TIME_FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
      { field: 'schema' },
    );
  }
  const maxBytes = def.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new ConfigError(
      `schema "${name}": \`maxBytes\` must be a positive integer, got ${String(maxBytes)}`,
      {
        field: 'schema',
      },
    );
  }
  if (def.eventType !== undefined && (typeof def.eventType !== 'string' || def.eventType === '')) {
    throw new ConfigError(`schema "${name}": \`eventType\` must name a field (a name or a JSON Pointer)`, {
      field: 'schema',
    });
  }
  let validate: ValidateFunction;
  try {
    validate = ajvFor(draftOf(name, schema)).compile(schema);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`schema "${name}": invalid JSON Schema: ${(e as Error).message}`, {
      field: 'schema',
      cause: e,
    });
  }
  const timePath = fieldPath(def.eventTime);
  const timeLabel = label(timePath);
  const typePath = def.eventType === undefined ? null : fieldPath(def.eventType);
  const typePointer = typePath === null ? null : toPointer(typePath);
  const typeLabel = typePath === null ? '' : label(typePath);
  const wantRfc = format !== 'epoch-ms';
  const wantMs = format !== 'rfc3339';
  const expectedTime =
    format === 'rfc3339'
      ? 'RFC 3339 timestamp string'
      : format === 'epoch-ms'
        ? 'epoch milliseconds (number)'
        : 'RFC 3339 timestamp string or epoch milliseconds';

  const decode: DecodeFn = (line) => {
    const n = line.length;
    // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: count bytes only when it can matter.
    if (n > maxBytes || (n * 3 > maxBytes && Buffer.byteLength(line, 'utf8') > maxBytes)) {
      return fail('oversize', `line is ${Buffer.byteLength(line, 'utf8')} bytes, limit ${maxBytes}`);
    }
    let o: unknown;
    try {
      o = JSON.parse(n > 0 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line);
    } catch (e) {
      return fail('not_json', notJsonDetail(line, e));
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) {
      return fail('not_json', `event: expected JSON object, got ${describe(o)}`);
    }
    if (!validate(o)) return schemaFault(validate.errors ?? [], typePointer);
    const body = o as Record<string, unknown>;

    let type = name;
    if (typePath !== null) {
      const t = valueAt(body, typePath);
      if (t === undefined || t === null) {
        return fail(
          'missing_field',
          t === null ? `${typeLabel}: required, got null` : `${typeLabel}: required field is missing`,
        );
      }
      if (typeof t !== 'string')
        return fail('wrong_type', `${typeLabel}: expected string, got ${describe(t)}`);
      type = t;
    }

    const v = valueAt(body, timePath);
    let ts: number;
    if (typeof v === 'string' && wantRfc) {
      const t = parseTimestamp(v);
      if (t === null) return fail('bad_timestamp', `${timeLabel}: not an RFC 3339 timestamp: ${show(v)}`);
      ts = t;
    } else if (typeof v === 'number' && wantMs) {
      ts = Math.floor(v);
      if (!(ts >= MIN_TIMESTAMP_MS && ts <= MAX_TIMESTAMP_MS)) {
        return fail('bad_timestamp', `${timeLabel}: epoch milliseconds outside years 0000–9999: ${v}`);
      }
    } else if (v === undefined || v === null) {
      return fail(
        'missing_field',
        v === null ? `${timeLabel}: required, got null` : `${timeLabel}: required field is missing`,
      );
    } else {
      return fail('wrong_type', `${timeLabel}: expected ${expectedTime}, got ${describe(v)}`);
    }
    return { ok: true, event: { type, ts, body } };
  };
  compiled.set(def, decode);
  return decode;
}

setJsonSchemaCompiler(compileJsonSchemaDecoder);
