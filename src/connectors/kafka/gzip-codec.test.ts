import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import kafkajs, { CompressionTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../../../test/kafka/broker.js';
import { kafkaClient } from './client.js';
import { gzipCodec, SYNC_INFLATE_LIMIT, useFastGzip } from './gzip-codec.js';

const { CompressionCodecs } = kafkajs;
/** kafkajs' own codec, taken before any test installs ours. */
const plain = CompressionCodecs[CompressionTypes.GZIP]() as typeof gzipCodec;

/** `n` bytes of collector-like text (compresses ~6×). */
function text(n: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const line = `{"type":"performance_metrics","id":"${i}","latency_ms":${(i * 7.31) % 9000},"model":"m-${i % 6}"}\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

describe('gzip codec', () => {
  it('inflates what kafkajs compresses, on the synchronous path and on the thread-pool path', async () => {
    const small = text(45_000);
    const smallGz = await plain.compress({ buffer: small });
    expect(smallGz.length).toBeLessThanOrEqual(SYNC_INFLATE_LIMIT);
    expect((await gzipCodec.decompress(smallGz)).equals(small)).toBe(true);
    // Incompressible bytes: the compressed batch is over the limit, so it is inflated off the loop.
    const large = randomBytes(SYNC_INFLATE_LIMIT + 100_000);
    const largeGz = await promisify(gzip)(large);
    expect(largeGz.length).toBeGreaterThan(SYNC_INFLATE_LIMIT);
    expect((await gzipCodec.decompress(largeGz)).equals(large)).toBe(true);
    // Output larger than the chunk guess (a 1 MB run of one byte compresses ~1000×).
    const runs = Buffer.alloc(1 << 20, 0x61);
    expect((await gzipCodec.decompress(gzipSync(runs))).equals(runs)).toBe(true);
  });

  it('compresses to a gzip member that zlib and kafkajs read back', async () => {
    const data = text(300_000);
    const gz = await gzipCodec.compress({ buffer: data });
    expect(gz[0]).toBe(0x1f);
    expect(gz[1]).toBe(0x8b);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    expect((await plain.decompress(gz)).equals(data)).toBe(true);
  });

  it('fails on bytes that are not gzip, as kafkajs’ codec does', async () => {
    await expect(gzipCodec.decompress(Buffer.from('not gzip at all'))).rejects.toThrow();
    await expect(plain.decompress(Buffer.from('not gzip at all'))).rejects.toThrow();
  });
});

describe('gzip codec on a real broker', () => {
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await startBroker(1, ['gz:2']);
  }, 60_000);

  afterAll(async () => {
    CompressionCodecs[CompressionTypes.GZIP] = () => plain;
    await broker?.stop();
  });

  it('useFastGzip installs it', () => {
    CompressionCodecs[CompressionTypes.GZIP] = () => plain;
    useFastGzip();
    expect(CompressionCodecs[CompressionTypes.GZIP]()).toBe(gzipCodec);
  });

  it('a client from kafkaClient (made by the job and the replay scan) produces and fetches gzip batches through it', async () => {
    CompressionCodecs[CompressionTypes.GZIP] = () => plain;
    const kafka = kafkaClient({ brokers: broker.brokers, clientId: 'fs-test' });
    expect(CompressionCodecs[CompressionTypes.GZIP]()).toBe(gzipCodec);
    const values = Array.from({ length: 600 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 50)}"}`);
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < values.length; i += 200) {
      await producer.send({
        topic: 'gz',
        compression: CompressionTypes.GZIP,
        acks: -1,
        messages: values.slice(i, i + 200).map((value, j) => ({ key: String(i + j), value })),
      });
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `gz-${Date.now()}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['gz'], fromBeginning: true });
    const seen = new Map<string, string>();
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.set(message.key!.toString(), message.value!.toString());
          if (seen.size === values.length) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect([...seen].sort((a, b) => Number(a[0]) - Number(b[0])).map(([, v]) => v)).toEqual(values);
  }, 60_000);
});
