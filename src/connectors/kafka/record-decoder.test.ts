import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  kafkajsRecordDecoder,
  selectRecordDecoder,
  useFastRecordDecoder,
} from './record-decoder.js';

const require = createRequire(import.meta.url);
type KafkaDecoderClass = new (buffer: Buffer) => { offset: number; readVarIntBytes(): Buffer | null };
const Decoder = require('kafkajs/src/protocol/decoder.js') as KafkaDecoderClass;
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, unknown>;
}) => { buffer: Buffer };
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };

/** One record as kafkajs' batch decoder hands it over: the body after its length. */
function body(r: Parameters<typeof encodeRecord>[0]): Buffer {
  return new Decoder(encodeRecord(r).buffer).readVarIntBytes()!;
}

/** Both decoders on the same bytes: the records and where each decoder stopped. */
function both(bytes: Buffer, ctx: Record<string, unknown>) {
  const plain = new Decoder(bytes);
  const fast = new Decoder(bytes);
  const expected = kafkajsRecordDecoder()(plain as never, ctx);
  const actual = decodeRecord(fast as never, ctx);
  return { expected, actual, plainEnd: plain.offset, fastEnd: fast.offset };
}

const context = (over: Record<string, unknown> = {}) => ({
  firstOffset: '1200',
  firstTimestamp: '1733300000000',
  magicByte: 2,
  isControlBatch: false,
  timestampType: 0,
  maxTimestamp: '1733300009999',
  ...over,
});

describe('the fast record decoder', () => {
  it('gives what kafkajs gives for collector records (three headers, key and value)', () => {
    const bytes = body({
      offsetDelta: 17,
      timestampDelta: 4321,
      key: 'evt-17',
      value: '{"type":"performance_metrics","latency_ms":812}',
      headers: { event_type: 'performance_metrics', event_id: 'evt-17', timestamp: '2024-01-01T00:00:00Z' },
    });
    const r = both(bytes, context());
    expect(r.actual).toEqual(r.expected);
    expect((r.actual as { offset: string }).offset).toBe('1217');
    expect((r.actual as { timestamp: string }).timestamp).toBe('1733300004321');
    expect(r.fastEnd).toBe(r.plainEnd);
  });

  it('keeps kafkajs’ header semantics: repeated keys as arrays, null values, no headers, odd keys', () => {
    const cases: Array<Record<string, unknown>> = [
      {},
      { a: ['1', '2', '3'] },
      { __proto__: 'p', toString: 't' },
      { ключ: 'значение' },
      // Keys are decoded once and then known by their bytes: same length, other bytes; and more
      // distinct keys than are kept.
      { ab: '1', ac: '2', ba: '3' },
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key-${i}`, `v${i}`])),
      { ab: '4', ac: '5', ba: '6' },
    ];
    for (const headers of cases) {
      const bytes = body({ offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers });
      const r = both(bytes, context());
      expect(r.actual).toEqual(r.expected);
      expect(Object.keys(r.actual as object)).toEqual(Object.keys(r.expected as object));
      const h = (x: unknown) => (x as { headers: object }).headers;
      expect(Object.getOwnPropertyNames(h(r.actual))).toEqual(Object.getOwnPropertyNames(h(r.expected)));
      expect(r.fastEnd).toBe(r.plainEnd);
    }
    // A header with a null value (other producers write them; kafkajs' encoder cannot): written
    // by hand — attributes, timestamp delta 0, offset delta 0, null key and value, two headers
    // `a` (null) and `a` ("x").
    const nullValue = Buffer.from([0, 0, 0, 1, 1, 4, 2, 0x61, 1, 2, 0x61, 2, 0x78]);
    const r = both(nullValue, context());
    expect(r.actual).toEqual(r.expected);
    expect((r.actual as { headers: object }).headers).toEqual({ a: [null, Buffer.from('x')] });
    expect(r.fastEnd).toBe(nullValue.length);
  });

  it('takes kafkajs’ Long path where numbers are not exact: offsets past 2^53, deltas past 2^48', () => {
    const cases: Array<[Parameters<typeof encodeRecord>[0], Record<string, unknown>]> = [
      [
        { offsetDelta: 5, timestampDelta: 1, key: 'k', value: 'v' },
        context({ firstOffset: '9007199254740990' }),
      ],
      [
        { offsetDelta: 5, timestampDelta: 1, key: 'k', value: 'v' },
        context({ firstOffset: '9223372036854775000' }),
      ],
      [
        { offsetDelta: 1, timestampDelta: Long.fromValue('281474976710657'), key: 'k', value: 'v' },
        context(),
      ],
      [
        { offsetDelta: 1, timestampDelta: Long.fromValue('-9223372036854775807'), key: 'k', value: 'v' },
        context(),
      ],
      [{ offsetDelta: 1, timestampDelta: -5, key: 'k', value: 'v' }, context({ firstTimestamp: '-1' })],
      [{ offsetDelta: 1, timestampDelta: 3, key: 'k', value: 'v' }, context({ firstTimestamp: 'NaN' })],
      // Broker time: the batch's max timestamp, whatever the delta.
      [{ offsetDelta: 2, timestampDelta: 9, key: 'k', value: 'v' }, context({ timestampType: 1 })],
    ];
    for (const [record, ctx] of cases) {
      const r = both(body(record), ctx);
      expect(r.actual).toEqual(r.expected);
      expect(r.fastEnd).toBe(r.plainEnd);
    }
  });

  it('decodes every record of a batch against that batch’s context (the cached first offset follows it)', () => {
    const a = context({ firstOffset: '100' });
    const b = context({ firstOffset: '5000', firstTimestamp: '1' });
    for (const ctx of [a, a, b, a, b]) {
      const r = both(body({ offsetDelta: 3, timestampDelta: 2, key: 'k', value: 'v' }), ctx);
      expect(r.actual).toEqual(r.expected);
    }
  });

  it('is what kafkajs’ batch decoder calls once installed; selecting kafkajs’ own brings that back', async () => {
    // A test file runs in a process of its own: kafkajs has fetched nothing here yet.
    expect(useFastRecordDecoder()).toBe(true);
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
      RecordBatch: (b: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
    };
    const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
      d: unknown,
    ) => Promise<{ records: unknown[] }>;
    const records = Array.from({ length: 5 }, (_, i) =>
      encodeRecord({
        offsetDelta: i,
        timestampDelta: i * 10,
        key: `k${i}`,
        value: `v${i}`,
        headers: { event_type: 'performance_metrics', n: String(i) },
      }),
    );
    const batch = await RecordBatch({
      firstOffset: Long.fromValue('40'),
      firstTimestamp: 1733300000000,
      maxTimestamp: 1733300000040,
      lastOffsetDelta: 4,
      records,
    });
    // The switch kafkajs now holds: count what goes through the selected decoder.
    const installed = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as {
      current: (...a: unknown[]) => unknown;
    };
    expect(installed.current).toBe(decodeRecord);
    let calls = 0;
    installed.current = (...a) => {
      calls++;
      return decodeRecord(...(a as Parameters<typeof decodeRecord>));
    };
    const fast = (await decodeBatch(new Decoder(batch.buffer))).records;
    expect(calls).toBe(5);
    selectRecordDecoder('kafkajs');
    expect(installed.current).toBe(kafkajsRecordDecoder());
    const plain = (await decodeBatch(new Decoder(batch.buffer))).records;
    selectRecordDecoder('featurestream');
    expect(installed.current).toBe(decodeRecord);
    expect(fast).toEqual(plain);
    expect(fast.map((r) => (r as { offset: string }).offset)).toEqual(['40', '41', '42', '43', '44']);
  });
});
