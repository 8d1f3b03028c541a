import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { connectionSettings, redactUrlPasswords } from '../../shared/connections.js';
import { ConfigError, ExternalError } from '../../shared/errors.js';
import { registryAuthArgs } from './registry-auth.js';
import type { PayloadFormat } from './payload-formats.js';
import { lineOf, SharedBatchBuffers, sharedConcat } from '../file-source.js';

/**
 * Payload formats of the Kafka source, turned into the text lines the decode stage reads.
 *
 * - **JSON** — the LLM Auto-Optimizer feedback collector's messages as it writes them (topic
 *   `feedback-events`, one event JSON per message, gzip, key = event id, headers `event_type`,
 *   `event_id`, `timestamp`): the value is the event, decoded and validated exactly like a line
 *   of an NDJSON file.
 * - **Schema registry** — Confluent's framing: magic byte 0, a 4-byte big-endian schema id, then
 *   an Avro or JSON Schema payload, decoded through `@kafkajs/confluent-schema-registry`. The
 *   decoded object is validated like a JSON event.
 *
 * With `auto` (the default) a value starting with byte 0 is framed (no JSON text starts with a
 * NUL byte), anything else is JSON. A framed record whose schema id the registry does not know
 * is a dead letter `unknown_schema`; one that its schema cannot decode (or that fails JSON
 * Schema validation) is `bad_payload`. A registry that cannot be reached is *not* bad input: it
 * is an {@link ExternalError}, retried by the caller, and nothing is dead-lettered for it.
 *
 * @example
 * const decoder = new PayloadDecoder({ format: 'auto', registryUrl: 'http://registry:8081' });
 * const batch = await decoder.decode(messages.map((m) => m.value));
 * batch.line(0); // the first value's text
 */

/** Dead-letter reasons of the Kafka source, beside src/events/types.ts REASON_CODES. */
export const KAFKA_REASON_CODES = ['unknown_schema', 'bad_payload'] as const;
/** One of {@link KAFKA_REASON_CODES}. */
export type KafkaReasonCode = (typeof KAFKA_REASON_CODES)[number];

export { PAYLOAD_FORMATS, type PayloadFormat } from './payload-formats.js';

/** Options of {@link PayloadDecoder}. */
export interface PayloadDecoderOptions {
  readonly format: PayloadFormat;
  /** Schema registry base URL, e.g. `http://127.0.0.1:8081`; null = none. */
  readonly registryUrl?: string | null;
  /** How long an unknown schema id is remembered before the registry is asked again. Default 60 s. */
  readonly unknownSchemaTtlMs?: number;
}

/**
 * Lines for the decode stage (`''` where the record already failed) and the failures. The lines
 * are bytes in shared memory with their bounds: a pool worker turns them into text, so the
 * consuming thread makes strings only for the few lines it keeps (dead letters, late records).
 */
export interface PayloadBatch {
  /** The lines' UTF-8 bytes one after the other (a SharedArrayBuffer: posted to a worker, not copied). */
  readonly bytes: Buffer;
  /** Line i is `bytes[starts[i], ends[i])`. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** [index in the batch, reason code, detail]. */
  readonly failures: Array<[number, string, string]>;
  /** Line i as text. */
  line(i: number): string;
}

const MAGIC = 0;
const EMPTY = Buffer.alloc(0);

/** Turns message values into decode-stage lines; see the module comment. */
export class PayloadDecoder {
  private readonly registry: SchemaRegistry | null;
  private readonly unknown = new Map<number, number>();
  private readonly ttl: number;
  /** Shared memory of batches given back with {@link release} (fresh memory costs page faults). */
  private readonly buffers = new SharedBatchBuffers();

  constructor(private readonly opts: PayloadDecoderOptions) {
    if (opts.format === 'registry' && (opts.registryUrl ?? null) === null) {
      throw new ConfigError('--format registry needs --schema-registry URL', { field: '--schema-registry' });
    }
    const url = opts.registryUrl ?? null;
    if (url !== null && !/^https?:\/\//.test(url)) {
      throw new ConfigError(`--schema-registry must be an http(s) URL, got "${redactUrlPasswords(url)}"`, {
        field: '--schema-registry',
      });
    }
    this.registry =
      url === null
        ? null
        : new SchemaRegistry({
            host: url.replace(/\/+$/, ''),
            retry: { retries: 2 },
            // Basic auth or a bearer token: the process's settings (src/shared/connections.ts).
            ...registryAuthArgs(connectionSettings().schemaRegistry),
          });
    this.ttl = opts.unknownSchemaTtlMs ?? 60_000;
  }

  /** Decodes the values of one batch, in order. */
  async decode(values: ReadonlyArray<Buffer | null>): Promise<PayloadBatch> {
    const parts: Buffer[] = new Array<Buffer>(values.length);
    const failures: PayloadBatch['failures'] = [];
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      let part: Buffer = EMPTY;
      if (v === null || v === undefined || v.length === 0) {
        failures.push([i, 'not_json', 'not JSON: empty message (null or zero-length value)']);
      } else if (!(this.opts.format === 'registry' || (this.opts.format === 'auto' && v[0] === MAGIC))) {
        part = v;
      } else {
        const res = await this.decodeFramed(v);
        if (typeof res === 'string') part = Buffer.from(res, 'utf8');
        else failures.push([i, res[0], res[1]]);
      }
      parts[i] = part;
      total += part.length;
    }
    const bytes = sharedConcat(parts, total, this.buffers);
    const starts = new Int32Array(values.length);
    const ends = new Int32Array(values.length);
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      starts[i] = at;
      at += parts[i]!.length;
      ends[i] = at;
    }
    const batch = { bytes, starts, ends, failures, line: (i: number) => lineOf(batch, i) };
    return batch;
  }

  /** Gives a batch's shared memory back for a later batch: nothing may read `batch` afterwards. */
  release(batch: PayloadBatch): void {
    this.buffers.recycle(batch.bytes);
  }

  private async decodeFramed(v: Buffer): Promise<string | [KafkaReasonCode | 'not_json', string]> {
    if (v.length < 5 || v[0] !== MAGIC) {
      return ['bad_payload', `not a schema-registry frame (magic byte ${v[0]}, ${v.length} bytes)`];
    }
    const id = v.readInt32BE(1);
    if (this.registry === null) {
      return ['unknown_schema', `schema id ${id}: no schema registry configured (--schema-registry)`];
    }
    const since = this.unknown.get(id);
    if (since !== undefined && Date.now() - since < this.ttl) {
      return ['unknown_schema', `schema id ${id} is not in the registry`];
    }
    try {
      await this.registry.getSchema(id);
    } catch (err) {
      if (isNotFound(err)) {
        this.unknown.set(id, Date.now());
        return ['unknown_schema', `schema id ${id} is not in the registry`];
      }
      throw new ExternalError(`schema registry: cannot fetch schema ${id}: ${String(err)}`, {
        cause: err,
        field: '--schema-registry',
      });
    }
    let value: unknown;
    try {
      value = await this.registry.decode(v);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return ['bad_payload', `schema id ${id}: payload does not decode: ${msg.slice(0, 200)}`];
    }
    try {
      return JSON.stringify(value, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
    } catch (err) {
      return ['bad_payload', `schema id ${id}: decoded value is not JSON-serializable: ${String(err)}`];
    }
  }
}

function isNotFound(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { status?: unknown; message?: unknown };
  if (e.status === 404) return true;
  return typeof e.message === 'string' && /40403|not found/i.test(e.message) && e.status !== 500;
}

/** The payload as UTF-8 text when it is valid UTF-8, else null and base64. */
export function rawText(v: Buffer | null): { raw: string | null; rawBase64?: string } {
  if (v === null) return { raw: null };
  const s = v.toString('utf8');
  if (Buffer.byteLength(s, 'utf8') === v.length && !s.includes('\uFFFD') && v[0] !== MAGIC) return { raw: s };
  return { raw: null, rawBase64: v.toString('base64') };
}
