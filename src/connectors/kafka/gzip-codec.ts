import { promisify } from 'node:util';
import { gzip, unzip, unzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS and its codec table is not among the names Node can import by name.
const { CompressionCodecs, CompressionTypes } = kafkajs;

const gzipAsync = promisify(gzip);
const unzipAsync = promisify(unzip);

/** Compressed batches up to this size are inflated in one synchronous call (well under 1 ms each). */
export const SYNC_INFLATE_LIMIT = 256 * 1024;

/** zlib's output chunk for a buffer of `n` bytes expanding up to `ratio` times: one chunk in most cases. */
function chunkFor(n: number, ratio: number): number {
  return Math.min(Math.max(64 * 1024, n * ratio), 8 * 1024 * 1024);
}

/**
 * The gzip codec kafkajs uses once {@link useFastGzip} has run. kafkajs' own codec calls
 * `zlib.unzip`/`zlib.gzip` with zlib's default 16 KiB output chunk: a fetched record batch of
 * ~45 KB then takes several thread-pool round trips, each with a stream callback on the event
 * loop, and the main thread spent 3–4× more time on them than on inflating the batch itself
 * (1,200 batches of 125 collector events: 184–278 ms of event-loop time against 67–76 ms for
 * `unzipSync`). This codec inflates a batch up to {@link SYNC_INFLATE_LIMIT} in one synchronous
 * call, and larger ones (and all compression) on zlib's thread pool with an output chunk sized
 * to the data, so the bytes are the same and only the calling pattern changes.
 */
export const gzipCodec = {
  /** kafkajs passes its record encoder; the result is the gzip member of its buffer. */
  async compress(encoder: { readonly buffer: Buffer }): Promise<Buffer> {
    return gzipAsync(encoder.buffer, { chunkSize: chunkFor(encoder.buffer.length, 1) });
  },
  /** Inflates a gzip (or zlib) member, as kafkajs' codec does with `zlib.unzip`. */
  async decompress(buffer: Buffer): Promise<Buffer> {
    if (buffer.length <= SYNC_INFLATE_LIMIT)
      return unzipSync(buffer, { chunkSize: chunkFor(buffer.length, 8) });
    return unzipAsync(buffer, { chunkSize: chunkFor(buffer.length, 8) });
  },
};

/**
 * Makes every kafkajs client of this process use {@link gzipCodec} for gzip (kafkajs keeps its
 * codecs in one process-wide table). Idempotent.
 *
 * @example
 * useFastGzip();
 * const kafka = new Kafka({ brokers: ['127.0.0.1:9092'] });
 */
export function useFastGzip(): void {
  CompressionCodecs[CompressionTypes.GZIP] = () => gzipCodec;
}
