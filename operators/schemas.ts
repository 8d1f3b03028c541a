/**
 * Event schemas: how the `decode` node of a topology turns one input record (an NDJSON line or
 * a Kafka value) into a {@link DecodedEvent} or a dead letter with a reason code. The engine
 * ships none: a domain or a user's plugin registers each schema by name through the plugin API
 * (`schemas` in a plugin's default export, see `plugins.ts`), and a topology names it
 * (`decode: { schema: clickstream }`).
 *
 * A schema is either a **JSON Schema** for one event (validated with ajv, compiled once per
 * thread: see `json-schema.ts`) plus where the event time and, optionally, the event type are,
 * or a hand-written **decode function** (the llm domain's tuned decoder). Both give the same
 * kind of result, so the rest of the engine does not know which one ran.
 *
 * @example
 * registerSchema('clickstream', {
 *   jsonSchema: { type: 'object', required: ['type', 'user_id', 'ts'], properties: { … } },
 *   eventTime: '/ts',
 *   eventType: '/type',
 * }, 'plugin clickstream');
 * const decode = schemaDecoder('clickstream');
 * decode('{"type":"page_view","user_id":"u1","ts":"2026-01-01T00:00:00Z"}'); // { ok: true, event }
 */
import { ConfigError } from '../src/shared/errors.js';

/**
 * What the decoder hands to the topology: a validated event, its type, its event time in
 * integer milliseconds since the epoch, and the parsed object as it came (unknown extra fields
 * kept).
 */
export interface DecodedEvent {
  /** The event type (the schema's `eventType` field), or the schema's name when it has none. */
  readonly type: string;
  /** Event time, ms since the Unix epoch (fractional digits beyond ms truncated toward -∞). */
  readonly ts: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * Why a record went to dead letters. Stable strings: they appear in files, metrics and tables.
 * A schema's decoder uses these; the Kafka source adds its own (`payload.ts`).
 */
export const REASON_CODES = [
  'not_json',
  'unknown_type',
  'missing_field',
  'wrong_type',
  'non_finite',
  'out_of_range',
  'bad_timestamp',
  'oversize',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/** One record decoded: the event, or exactly one reason with a detail that names the field. */
export type DecodeResult =
  | { readonly ok: true; readonly event: DecodedEvent }
  | { readonly ok: false; readonly reason: ReasonCode; readonly detail: string };

/** Decodes one record (a line of text, UTF-8). */
export type DecodeFn = (line: string) => DecodeResult;

/** How event time is written: an RFC 3339 string, epoch milliseconds, or either. */
export type TimeFormat = 'rfc3339' | 'epoch-ms' | 'auto';

/**
 * A schema as a plugin registers it: a JSON Schema with the event-time (and event-type) field,
 * or a `decode` function, or both (then `decode` runs and `jsonSchema` documents the contract).
 */
export interface SchemaDef {
  readonly description?: string;
  /**
   * A JSON Schema (draft 2020-12 or 07) for one event. Validated: every keyword of the schema
   * (`required`, `type`, `enum`, `minimum`, …); the first failing field names the dead letter.
   */
  readonly jsonSchema?: Readonly<Record<string, unknown>>;
  /** The event-time field: a name (`ts`) or a JSON Pointer (`/meta/time`). Required with `jsonSchema`. */
  readonly eventTime?: string;
  /** How the event time is written (default `auto`: an RFC 3339 string or epoch ms). */
  readonly timeFormat?: TimeFormat;
  /** The field that names the event type (used by the `event-type` filter); a name or a JSON Pointer. */
  readonly eventType?: string;
  /** Largest record accepted, in UTF-8 bytes (default 1 MiB); larger ones are `oversize`. */
  readonly maxBytes?: number;
  /** A hand-written decoder, for speed; it must give the dead letters the JSON Schema would. */
  readonly decode?: DecodeFn;
}

/** Turns a JSON-Schema {@link SchemaDef} into a decoder (set by `json-schema.ts` when loaded). */
type JsonSchemaCompiler = (name: string, def: SchemaDef) => DecodeFn;

const defs = new Map<string, SchemaDef>();
const decoders = new Map<string, DecodeFn>();
let compileJsonSchema: JsonSchemaCompiler | null = null;

/** Installs the JSON-Schema compiler (`json-schema.ts` does it when imported). */
export function setJsonSchemaCompiler(compiler: JsonSchemaCompiler): void {
  compileJsonSchema = compiler;
}

/**
 * Registers a schema under `name`. A name already taken is a ConfigError naming `source` (the
 * plugin) and the name; a definition with neither `decode` nor `jsonSchema`, or a JSON Schema
 * without `eventTime`, likewise.
 */
export function registerSchema(name: string, def: SchemaDef, source: string): void {
  if (defs.has(name)) {
    throw new ConfigError(
      `${source}: schema \`${name}\` is already registered (a built-in or another plugin)`,
      {
        field: '--plugin',
      },
    );
  }
  if (
    typeof def?.decode !== 'function' &&
    (def?.jsonSchema === null || typeof def?.jsonSchema !== 'object')
  ) {
    throw new ConfigError(
      `${source}: schema \`${name}\` needs a \`jsonSchema\` object or a \`decode\` function`,
      {
        field: '--plugin',
      },
    );
  }
  if (typeof def.decode !== 'function' && (typeof def.eventTime !== 'string' || def.eventTime === '')) {
    throw new ConfigError(
      `${source}: schema \`${name}\` needs \`eventTime\`, the field that holds event time (a name or a JSON Pointer)`,
      { field: '--plugin' },
    );
  }
  defs.set(name, def);
}

/** Whether a schema of this name is registered. */
export function hasSchema(name: string): boolean {
  return defs.has(name);
}

/** The names of the registered schemas, in registration order. */
export function schemaNames(): readonly string[] {
  return [...defs.keys()];
}

/** A registered schema's definition. */
export function schemaDef(name: string): SchemaDef | undefined {
  return defs.get(name);
}

/**
 * The decoder of a registered schema (compiled once per thread).
 *
 * @throws ConfigError naming the schema when it is not registered.
 */
export function schemaDecoder(name: string): DecodeFn {
  const have = decoders.get(name);
  if (have !== undefined) return have;
  const def = defs.get(name);
  if (def === undefined) {
    throw new ConfigError(
      `unknown schema "${name}" (registered: ${schemaNames().join(', ') || 'none'}; a plugin registers schemas)`,
      { field: 'schema' },
    );
  }
  let fn: DecodeFn;
  if (typeof def.decode === 'function') fn = def.decode;
  else {
    if (compileJsonSchema === null) {
      throw new ConfigError(
        `schema "${name}": no JSON-Schema compiler is loaded (import operators/json-schema.js)`,
        {
          field: 'schema',
        },
      );
    }
    fn = compileJsonSchema(name, def);
  }
  decoders.set(name, fn);
  return fn;
}
