/**
 * Property: the Kafka payload decoder (`src/connectors/kafka/payload.ts`) turns any batch of
 * message values — random bytes, empty and null values, schema-registry frames with known and
 * unknown ids and random, truncated or valid Avro / JSON-Schema bodies — into one line or one
 * dead letter (`not_json`, `unknown_schema`, `bad_payload`) per value, never a throw, in every
 * payload format; a valid frame becomes its record as JSON. Against a local stand-in of the
 * schema registry's REST API (test/kafka/schema-registry-server.ts).
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_REASON_CODES, PayloadDecoder } from '../../src/connectors/kafka/payload.js';
import { startRegistry, type TestRegistry } from '../kafka/schema-registry-server.js';
import { PARAMS } from './runs.js';

const AVRO = {
  type: 'record',
  name: 'Click',
  namespace: 'prop',
  fields: [
    { name: 'type', type: 'string' },
    { name: 'ts', type: 'long' },
    { name: 'price', type: 'double' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'array', items: 'string' } },
  ],
};
const JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { type: { type: 'string' }, ts: { type: 'integer' }, price: { type: 'number' } },
  required: ['type', 'ts'],
};

let registry: TestRegistry;
let client: SchemaRegistry;
let avroId: number;
let jsonId: number;

beforeAll(async () => {
  registry = await startRegistry();
  client = new SchemaRegistry({ host: registry.url });
  avroId = (
    await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO) }, { subject: 'clicks-avro' })
  ).id;
  jsonId = (
    await client.register(
      { type: SchemaType.JSON, schema: JSON.stringify(JSON_SCHEMA) },
      { subject: 'clicks-json' },
    )
  ).id;
});

afterAll(async () => {
  await registry?.close();
});

const record = fc.record({
  type: fc.string({ maxLength: 20 }),
  ts: fc.integer({ min: 0, max: 2 ** 40 }),
  price: fc.double({ noNaN: true, noDefaultInfinity: true }),
  note: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
});

const frame = (id: number, body: Uint8Array) => {
  const head = Buffer.alloc(5);
  head.writeInt32BE(id, 1);
  return Buffer.concat([head, Buffer.from(body)]);
};

/** A value and, when it is a valid frame, the record it must decode to. */
type Case = {
  value: Buffer | null;
  want?: unknown;
  pending?: { r: Record<string, unknown>; avro: boolean; cut: number };
};

const values: () => fc.Arbitrary<Case> = () =>
  fc.oneof(
    fc.constantFrom<Case>({ value: null }, { value: Buffer.alloc(0) }, { value: Buffer.from([0]) }),
    fc.uint8Array({ maxLength: 64 }).map((b) => ({ value: Buffer.from(b) })),
    fc.jsonValue({ maxDepth: 2 }).map((v) => ({ value: Buffer.from(JSON.stringify(v)) })),
    // frames: known ids with random or truncated bodies, unknown ids, negative ids
    fc
      .tuple(fc.constantFrom(avroId, jsonId, 0, -1, 999, 2 ** 31 - 1), fc.uint8Array({ maxLength: 48 }))
      .map(([id, body]) => ({ value: frame(id, body) })),
    // valid Avro and JSON-Schema frames, whole or cut short
    fc
      .tuple(record, fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }))
      .map(([r, avro, cut]): Case => ({ value: null, pending: { r, avro, cut } })),
  );

/** Encodes the pending valid frames (the registry client's `encode` is async). */
async function materialize(cases: Case[]): Promise<Case[]> {
  const out: Case[] = [];
  for (const c of cases) {
    const p = c.pending;
    if (p === undefined) {
      out.push(c);
      continue;
    }
    const { r, avro, cut } = p;
    const json = { type: r.type, ts: r.ts, price: r.price };
    const encoded = avro ? await client.encode(avroId, r) : await client.encode(jsonId, json);
    if (cut >= 0.5) out.push({ value: encoded, want: avro ? r : json });
    else out.push({ value: encoded.subarray(0, Math.floor(encoded.length * cut * 2)) });
  }
  return out;
}

describe('property: Kafka payload decoders', () => {
  for (const format of ['auto', 'registry', 'json'] as const) {
    it(`format ${format}: every value is a line or a dead letter with a known reason, never a throw`, async () => {
      const decoder = new PayloadDecoder({ format, registryUrl: registry.url });
      const reasons = new Set<string>(['not_json', ...KAFKA_REASON_CODES]);
      let validDecoded = 0;
      // What became of the whole valid frames, for the guard's message should it ever fail.
      const validFailed: string[] = [];
      let validSeen = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(values(), { minLength: 1, maxLength: 12 }), async (raw) => {
          const cases = await materialize(raw);
          const batch = await decoder.decode(cases.map((c) => c.value));
          const failed = new Map(batch.failures.map(([i, reason, detail]) => [i, { reason, detail }]));
          expect(failed.size).toBe(batch.failures.length); // one failure per value at most
          cases.forEach((c, i) => {
            const f = failed.get(i);
            if (c.want !== undefined) validSeen++;
            if (f !== undefined && c.want !== undefined) validFailed.push(`${f.reason}: ${f.detail}`);
            if (f !== undefined) {
              expect(reasons.has(f.reason), f.reason).toBe(true);
              expect(typeof f.detail).toBe('string');
              expect(batch.ends[i]! - batch.starts[i]!).toBe(0);
              return;
            }
            const line = batch.line(i);
            expect(typeof line).toBe('string');
            if (c.want !== undefined && format !== 'json') {
              // as JSON says it (JSON has no -0: the frame's -0 is the line's 0)
              expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(c.want)));
              validDecoded++;
            }
          });
          decoder.release(batch);
        }),
        PARAMS,
      );
      const seen = `${validSeen} whole valid frames; dead-lettered: ${JSON.stringify(validFailed.slice(0, 5))}`;
      if (format !== 'json') expect(validDecoded, seen).toBeGreaterThan(0);
    });
  }
});
