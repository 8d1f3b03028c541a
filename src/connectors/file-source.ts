import { createReadStream } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';
import { InputError } from '../shared/errors.js';

/**
 * Bytes of one line kept in memory: twice the decoder's limit, so an overlong line still reaches
 * it (as an `oversize` dead letter with its first bytes) while a file with no newline at all is
 * read in bounded memory.
 */
export const MAX_KEPT_LINE_BYTES = 2 << 20;

/** A position in a file source: the byte offset (of the decompressed stream for .gz) and the line number. */
export interface FilePosition {
  readonly offset: number;
  readonly line: number;
}

/** A batch of lines read from a file source. `lines[i]` is line `firstLine + i` (0-based, blank lines included as ''). */
export interface LineBatch {
  readonly firstLine: number;
  readonly lines: string[];
  /** Byte offset of the start of each line. */
  readonly offsets: number[];
  /** The position right after the batch: where a restart resumes. */
  readonly end: FilePosition;
}

/**
 * A batch of lines as the bytes they were read as: `bytes` holds the lines one after the other,
 * each followed by its newline (the last one of a file without a final newline has none), so a
 * worker turns them into strings itself and the reading thread never does. Line `firstLine + i`
 * is `bytes[starts[i], ends[i])`, without its newline or a `\r` before it.
 */
export interface ByteBatch {
  readonly firstLine: number;
  readonly count: number;
  readonly bytes: Buffer;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Byte offset in the file (of the decompressed stream for .gz) of the start of each line. */
  readonly offsets: number[];
  /** The position right after the batch: where a restart resumes. */
  readonly end: FilePosition;
}

/**
 * The shared memory of byte batches: each batch's bytes live in a SharedArrayBuffer, so a worker
 * the batch is posted to shares them instead of receiving a copy while the reader keeps them for
 * dead letters; a batch the caller is done with gives its buffer back for a later batch (fresh
 * memory costs page faults, a reused buffer does not).
 */
export class SharedBatchBuffers {
  private readonly free: SharedArrayBuffer[] = [];
  /** A `size`-byte view on a free shared buffer at least that large, or on a new one (with room to spare). */
  take(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i]!;
      if (b.byteLength >= size) {
        this.free.splice(i, 1);
        return Buffer.from(b, 0, size);
      }
    }
    const capacity = Math.ceil((size * 1.25 + 1) / 65_536) * 65_536;
    return Buffer.from(new SharedArrayBuffer(capacity), 0, size);
  }
  /** Gives a batch's buffer back: nothing may read `bytes` afterwards. */
  recycle(bytes: Uint8Array): void {
    if (bytes.buffer instanceof SharedArrayBuffer && this.free.length < 64) this.free.push(bytes.buffer);
  }
}

/**
 * The parts one after the other in shared memory (posted to a worker, it is shared, not copied):
 * in a buffer from `buffers` (recycled by its owner), or in a new one of exactly `total` bytes.
 */
export function sharedConcat(
  parts: readonly Uint8Array[],
  total: number,
  buffers?: SharedBatchBuffers,
): Buffer {
  const out = buffers === undefined ? Buffer.from(new SharedArrayBuffer(total)) : buffers.take(total);
  let at = 0;
  for (const s of parts) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

/** Line `i` of a byte batch (or any bytes with line bounds) as a string. */
export function lineOf(b: Pick<ByteBatch, 'bytes' | 'starts' | 'ends'>, i: number): string {
  return b.bytes.toString('utf8', b.starts[i]!, b.ends[i]!);
}

/**
 * Lines as text from their UTF-8 bytes and bounds (line i is `bytes[starts[i], ends[i])`), each
 * decoded on its own: one small string per line (decoding a whole batch into one large string and
 * splitting it was ~10× slower here — a fresh large allocation per batch).
 */
export function linesAt(bytes: Uint8Array, starts: Int32Array, ends: Int32Array): string[] {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines: string[] = new Array(starts.length);
  for (let i = 0; i < starts.length; i++) lines[i] = buf.toString('utf8', starts[i]!, ends[i]!);
  return lines;
}

/**
 * Reads an NDJSON file (plain, or gzip when the name ends in `.gz`) in batches of lines,
 * starting at a checkpointed position. A plain file is opened at the byte offset; a gzip
 * stream cannot seek, so it is decompressed from the start and the bytes before the offset
 * are skipped. A final line without a newline is still a line.
 *
 * A gzip stream cut short or damaged ends the lines at the last complete one before the damage:
 * those are yielded, then an {@link InputError} naming the file, the compressed byte offset and
 * the last good line is passed to `onDamage` (the caller commits what it has, then fails), or
 * thrown when there is no `onDamage`. A line longer than {@link MAX_KEPT_LINE_BYTES} is cut to
 * that length (its offset and the next lines' stay exact).
 *
 * @example
 * for await (const b of readLines('events.ndjson.gz', { offset: 0, line: 0 }, 2048)) handle(b);
 */
export async function* readLines(
  path: string,
  from: FilePosition,
  batchLines = 2048,
  onDamage?: (err: InputError) => void,
): AsyncGenerator<LineBatch> {
  for await (const b of readByteBatches(path, from, batchLines, onDamage)) {
    yield {
      firstLine: b.firstLine,
      lines: linesAt(b.bytes, b.starts, b.ends),
      offsets: b.offsets,
      end: b.end,
    };
  }
}

/**
 * {@link readLines} as bytes: the same batches, positions and damage handling, each batch one
 * buffer plus line bounds ({@link ByteBatch}), so the thread that reads creates no strings.
 */
export async function* readByteBatches(
  path: string,
  from: FilePosition,
  batchLines = 2048,
  onDamage?: (err: InputError) => void,
  buffers: SharedBatchBuffers = new SharedBatchBuffers(),
): AsyncGenerator<ByteBatch> {
  const gz = path.endsWith('.gz');
  const raw = createReadStream(path, { start: gz ? 0 : from.offset, highWaterMark: 1 << 20 });
  const gunzip = gz ? createGunzip() : null;
  let damage: unknown = null;
  const stream: AsyncIterable<Buffer> =
    gunzip === null ? raw : untilDamage(raw, gunzip, (err) => (damage ??= err));
  /** Bytes of the current line dropped past {@link MAX_KEPT_LINE_BYTES}. */
  let dropped = 0;
  let skip = gz ? from.offset : 0;
  let offset = from.offset;
  let line = from.line;
  let rest: Buffer | null = null;
  let firstLine = line;
  // The batch being built: whole lines (with their newlines) as segments of the read buffers.
  let segments: Buffer[] = [];
  let segBytes = 0;
  let starts: number[] = [];
  let ends: number[] = [];
  let offsets: number[] = [];
  const take = (): ByteBatch => {
    const b: ByteBatch = {
      firstLine,
      count: starts.length,
      bytes: sharedConcat(segments, segBytes, buffers),
      starts: Int32Array.from(starts),
      ends: Int32Array.from(ends),
      offsets,
      end: { offset, line },
    };
    segments = [];
    segBytes = 0;
    starts = [];
    ends = [];
    offsets = [];
    firstLine = line;
    return b;
  };

  for await (let chunk of stream) {
    if (skip > 0) {
      if (chunk.length <= skip) {
        skip -= chunk.length;
        continue;
      }
      chunk = chunk.subarray(skip);
      skip = 0;
    }
    let start = 0;
    /** Where this buffer's part of the current batch begins. */
    let segStart = 0;
    const buf: Buffer = chunk;
    if (rest !== null) {
      // The line the last chunk left open ends in this one: its two parts become segments of the
      // batch (copying the whole chunk onto the rest, once per chunk, was a fresh 1 MB per read).
      const nl = buf.indexOf(10);
      if (nl < 0) {
        rest = Buffer.concat([rest, buf]);
        if (rest.length > MAX_KEPT_LINE_BYTES) {
          dropped += rest.length - MAX_KEPT_LINE_BYTES;
          rest = Buffer.from(rest.subarray(0, MAX_KEPT_LINE_BYTES));
        }
        continue;
      }
      const cr = nl > 0 ? buf[nl - 1] === 13 : rest[rest.length - 1] === 13;
      starts.push(segBytes);
      ends.push(segBytes + rest.length + nl - (cr ? 1 : 0));
      offsets.push(offset);
      offset += rest.length + nl + 1 + dropped;
      dropped = 0;
      line++;
      segments.push(rest, buf.subarray(0, nl + 1));
      segBytes += rest.length + nl + 1;
      rest = null;
      start = nl + 1;
      segStart = start;
      if (starts.length >= batchLines) yield take();
    }
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      const base = segBytes - segStart;
      starts.push(base + start);
      ends.push(base + end);
      offsets.push(offset);
      offset += nl + 1 - start + dropped;
      dropped = 0;
      line++;
      start = nl + 1;
      if (starts.length >= batchLines) {
        segments.push(buf.subarray(segStart, start));
        segBytes += start - segStart;
        segStart = start;
        yield take();
      }
    }
    if (start > segStart) {
      segments.push(buf.subarray(segStart, start));
      segBytes += start - segStart;
    }
    rest = start < buf.length ? buf.subarray(start) : null;
    if (rest !== null && rest.length > MAX_KEPT_LINE_BYTES) {
      dropped += rest.length - MAX_KEPT_LINE_BYTES;
      rest = Buffer.from(rest.subarray(0, MAX_KEPT_LINE_BYTES));
    }
  }
  if (damage !== null) {
    // The complete lines before the damage still count: hand them over, then say where it broke.
    if (starts.length > 0) yield take();
    const err = new InputError(
      `--input ${path}: the gzip data is cut short or damaged at compressed byte ${gunzip!.bytesWritten}; ` +
        `the last good line is line ${line} (ending at byte ${offset} of the decompressed stream) and ` +
        'the lines before it are processed and committed. Repair or replace the file and run the same ' +
        `command again to resume at line ${line + 1} (${describe(damage)})`,
      { field: '--input', cause: damage },
    );
    if (onDamage === undefined) throw err;
    onDamage(err);
    return;
  }
  if (rest !== null && rest.length > 0) {
    starts.push(segBytes);
    ends.push(segBytes + rest.length);
    segments.push(rest);
    segBytes += rest.length;
    offsets.push(offset);
    offset += rest.length + dropped;
    line++;
  }
  if (starts.length > 0) yield take();
}

/**
 * The decompressed chunks of a gzip file until its end or the first error (a stream cut short,
 * damaged data, a read error of the file), which goes to `onDamage` instead of being thrown.
 */
async function* untilDamage(
  raw: NodeJS.ReadableStream,
  gunzip: Gunzip,
  onDamage: (err: unknown) => void,
): AsyncGenerator<Buffer> {
  raw.on('error', (err) => gunzip.destroy(err));
  try {
    for await (const chunk of raw.pipe(gunzip)) yield chunk as Buffer;
  } catch (err) {
    onDamage(err);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
